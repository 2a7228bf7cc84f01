#!/bin/sh
# Benchmark: iperf3 TCP, one stream each way, between two namespaces
# joined by veth: straight over the veth (the limit) and through an
# ostpd tun:// tunnel (gost's: one IP packet per UDP datagram, no
# header), client in one namespace, server in the other, and through
# the tunnels ostpd is measured against: wireguard-go and OpenVPN (UDP,
# AES-256-GCM, user space), both on the same MTU, and the tun:// tunnel
# over fake TCP (tcp=true, tcpraw's wire) beside the same tunnel made
# of xtaci/tcpraw itself (Debian's, in regress/tools/tcprawpeer.go: what
# gost runs for tcp=true).  Every step
# runs SECS seconds; medians of ROUNDS rounds, the subjects taking
# turns.  Root; all traffic stays in the namespaces.
#
#   A 192.168.78.2 -- 192.168.78.1 B; tunnel 10.78.0.2 -- 10.78.0.1
#   fake TCP 10.79.0.2 -- 10.79.0.1
#   A 192.168.77.2 -- 192.168.77.1 B; tcpraw 10.77.0.2 -- 10.77.0.1
#   wireguard-go 10.80.0.2 -- 10.80.0.1, OpenVPN 10.81.0.2 -- 10.81.0.1
#
# PLAIN=1 runs the test build with OSTP_TUN_PLAIN=1: no UDP_SEGMENT and
# no UDP_GRO (each datagram its own message, as on a kernel without
# them), the device's offloads kept.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-3}
BUILD=${BUILD:-build}
if [ "${PLAIN:-0}" = 1 ]; then
	OSTPD="env OSTP_TUN_PLAIN=1 $BUILD/ostpd-testhooks"
else
	OSTPD="$BUILD/ostpd"
fi
OUT=${OUT:-$BUILD/bench}
MTU=${MTU:-1400}
. bench/lib.sh
mkdir -p "$OUT"
: >"$OUT/tun-iperf3.log"
command -v iperf3 >/dev/null 2>&1 || { echo "no iperf3"; exit 1; }

A=btun-a$$; B=btun-b$$
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for n in $A $B; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for n in $A $B; do
	ip netns add "$n" || exit 1
	ip -n "$n" link set lo up
done
ip link add ta$$ netns $A type veth peer name tb$$ netns $B || exit 1
ip -n $A addr add 192.168.78.2/24 dev ta$$
ip -n $B addr add 192.168.78.1/24 dev tb$$
ip -n $A link set ta$$ up
ip -n $B link set tb$$ up

ip netns exec $B iperf3 -s -p 5201 >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec $B $OSTPD -w 1 \
    -L "tun://192.168.78.1:8421?net=10.78.0.1/24&name=btun0&mtu=$MTU" \
    2>"$OUT/tun-server.log" & PIDS="$PIDS $!"
ip netns exec $A $OSTPD -w 1 \
    -L "tun://:0/192.168.78.1:8421?net=10.78.0.2/24&name=btun1&mtu=$MTU" \
    2>"$OUT/tun-client.log" & PIDS="$PIDS $!"
ip netns exec $B $OSTPD -w 1 \
    -L "tun://192.168.78.1:8422?net=10.79.0.1/24&name=btun2&mtu=$MTU&tcp=true" \
    2>"$OUT/tun-ftcp-server.log" & PIDS="$PIDS $!"
ip netns exec $A $OSTPD -w 1 \
    -L "tun://:0/192.168.78.1:8422?net=10.79.0.2/24&name=btun3&mtu=$MTU&tcp=true" \
    2>"$OUT/tun-ftcp-client.log" & PIDS="$PIDS $!"
have_R=0
PEER=$BUILD/tools/tcprawpeer
if [ -x "$PEER" ]; then
	# a link of its own: tcpraw's raw sockets read every TCP segment
	# to their address, and filter them in Go
	ip link add ua$$ netns $A type veth peer name ub$$ netns $B || exit 1
	ip -n $A addr add 192.168.77.2/24 dev ua$$
	ip -n $B addr add 192.168.77.1/24 dev ub$$
	ip -n $A link set ua$$ up
	ip -n $B link set ub$$ up
	for n in "$B 10.77.0.1 btun4" "$A 10.77.0.2 btun5"; do
		set -- $n
		ip -n "$1" tuntap add dev "$3" mode tun
		ip -n "$1" addr add "$2/24" dev "$3"
		ip -n "$1" link set "$3" mtu "$MTU" up
	done
	ip netns exec $B "$PEER" server btun4 192.168.77.1:8423 \
	    >"$OUT/tun-tcpraw-server.log" 2>&1 & PIDS="$PIDS $!"
	sleep 0.5
	ip netns exec $A "$PEER" client btun5 192.168.77.1:8423 \
	    >"$OUT/tun-tcpraw-client.log" 2>&1 & PIDS="$PIDS $!"
	have_R=1
else
	echo "tcpraw: not measured (no $PEER: make unittests)"
fi
for t in 10.78.0.1 10.79.0.1 $([ $have_R = 1 ] && echo 10.77.0.1); do
	i=0
	until ip netns exec $A ping -c 1 -W 1 $t >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 20 ] || { echo "the tunnel to $t did not come up"; exit 1; }
	done
done

have_W=0 have_O=0
vpn_wg $A $B 192.168.78.1 10.80.0 "$MTU" && have_W=1 ||
    echo "wireguard-go: not measured (see $OUT/wg.log)"
vpn_ovpn $A $B 192.168.78.1 10.81.0 "$MTU" && have_O=1 ||
    echo "OpenVPN: not measured (see $OUT/ovpn-*.log)"

measure() {	# measure HOST ARGS...: Mbit/s received, or "-"
	_h=$1; shift
	ip netns exec $A timeout $((SECS + 15)) iperf3 -c "$_h" -p 5201 \
	    -t "$SECS" -J "$@" 2>&1 | tee -a "$OUT/tun-iperf3.log" | python3 -c '
import json, sys
try:
    print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("-")
'
}

row() { printf '%-16s %8s %8s %8s %8s %8s %8s %9s %9s %11s\n' "$@"; }
echo "tun: iperf3 ${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores, tunnel MTU $MTU${PLAIN:+, PLAIN=$PLAIN}"
row "Mbit/s" "veth" "tun://" "tcp=true" "tcpraw" "wg-go" "openvpn" \
    "tun/veth" "tun/ovpn" "ftcp/tcpraw"
for mode in "tcp up" "tcp down"; do
	case $mode in
	"tcp up") a="" ;;
	"tcp down") a="-R" ;;
	esac
	v_V= v_T= v_F= v_R= v_W= v_O=
	order="V T F"
	[ $have_R = 1 ] && order="$order R"
	[ $have_W = 1 ] && order="$order W"
	[ $have_O = 1 ] && order="$order O"
	for r in $(seq 1 "$ROUNDS"); do
		for s in $order; do
			case $s in
			V) x=$(measure 192.168.78.1 $a) ;;
			T) x=$(measure 10.78.0.1 $a) ;;
			F) x=$(measure 10.79.0.1 $a) ;;
			R) x=$(measure 10.77.0.1 $a) ;;
			W) x=$(measure 10.80.0.1 $a) ;;
			O) x=$(measure 10.81.0.1 $a) ;;
			esac
			eval "v_$s=\"\$v_$s $x\""
		done
		order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
	done
	v=$(median $v_V); t=$(median $v_T); f=$(median $v_F)
	R=$(median $v_R); w=$(median $v_W); o=$(median $v_O)
	row "  $mode" "$v" "$t" "$f" "$R" "$w" "$o" "$(ratio "$t" "$v")" \
	    "$(ratio "$t" "$o")" "$(ratio "$f" "$R")"
done
