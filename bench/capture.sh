#!/bin/sh
# Benchmark: iperf3 through the system-wide capture (tun inbound, lwIP
# in the worker) and a SOCKS5 chain outbound to a second ostpd, against
# the same iperf3 through the same SOCKS5 hop without the capture (an
# ostpd tcp:// + udp:// forward in the client's namespace, chained to
# the hop), against plain kernel routing (the limit), and against the
# same way C -> M -> W through wireguard-go and OpenVPN (UDP,
# AES-256-GCM, user space; MTU 1500 as the capture's), M forwarding.
# Three namespaces joined by veth, as regress/capture.sh:
#
#   C (iperf3 -c, capture)  192.168.81.2 -- 192.168.81.1  M (socks5 ostpd)
#   M 10.214.0.1 -- 10.214.0.2 (captured), 10.214.0.200 (routed)  W (iperf3 -s)
#   W 10.214.0.131 through wireguard-go (10.80.0.2 -- 10.80.0.1 M),
#   W 10.214.0.132 through OpenVPN (10.81.0.2 -- 10.81.0.1 M)
#
# The issue's target: capture+s5 at least twice OpenVPN's figure.#
# TCP one stream both ways; UDP both ways at -b UDPRATE (received rate
# and loss).  Every step runs SECS seconds; medians of ROUNDS rounds,
# the subjects taking turns.  Root; all traffic stays in the namespaces.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-3}
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
UDPRATE=${UDPRATE:-200M}
. bench/lib.sh
mkdir -p "$OUT"
: >"$OUT/capture-iperf3.log"
command -v iperf3 >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq iperf3 >/dev/null 2>&1
command -v iperf3 >/dev/null 2>&1 || { echo "no iperf3"; exit 1; }

C=bcap-c$$; M=bcap-m$$; W=bcap-w$$
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for n in $C $M $W; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for n in $C $M $W; do
	ip netns add "$n" || exit 1
	ip -n "$n" link set lo up
done
ip link add bc$$ netns $C type veth peer name bm$$ netns $M || exit 1
ip link add bw$$ netns $M type veth peer name bx$$ netns $W || exit 1
ip -n $C addr add 192.168.81.2/24 dev bc$$
ip -n $M addr add 192.168.81.1/24 dev bm$$
ip -n $M addr add 10.214.0.1/24 dev bw$$
ip -n $W addr add 10.214.0.2/24 dev bx$$
ip -n $W addr add 10.214.0.200/24 dev bx$$
ip -n $W addr add 10.214.0.131/24 dev bx$$
ip -n $W addr add 10.214.0.132/24 dev bx$$
for l in "$C bc$$" "$M bm$$" "$M bw$$" "$W bx$$"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
ip -n $C route add default via 192.168.81.1
ip -n $W route add default via 10.214.0.1
ip netns exec $M sysctl -qw net.ipv4.ip_forward=1

ip netns exec $W iperf3 -s -p 5201 >/dev/null 2>&1 & PIDS="$PIDS $!"
# bound, so that its UDP answers come from the address the client chose
ip netns exec $W iperf3 -s -B 10.214.0.200 -p 5202 >/dev/null 2>&1 &
PIDS="$PIDS $!"
for p in 131:5203 132:5204; do
	ip netns exec $W iperf3 -s -B 10.214.0.${p%:*} -p ${p#*:} >/dev/null 2>&1 &
	PIDS="$PIDS $!"
done
ip netns exec $M "$BUILD/ostpd" -w 1 -L "socks5://192.168.81.1:1080" \
    2>"$OUT/capture-socks.log" & PIDS="$PIDS $!"
cat >"$OUT/capture.json" <<E
{ "inbounds": [ { "type": "tun", "tag": "cap", "name": "bcap0",
    "net": "10.215.0.1/24", "mtu": 1500, "routes": [ "10.214.0.0/25" ],
    "interface": "bc$$" } ],
  "outbounds": [
    { "tag": "px", "type": "chain", "hops": [ "socks5://192.168.81.1:1080" ] } ],
  "routing": { "rules": [], "default_outbound": "px" } }
E
ip netns exec $C "$BUILD/ostpd" -w 1 -C "$OUT/capture.json" \
    2>"$OUT/capture-cap.log" & PIDS="$PIDS $!"
ip netns exec $C "$BUILD/ostpd" -w 1 \
    -L "tcp://127.0.0.1:5301/10.214.0.2:5201" \
    -L "udp://127.0.0.1:5301/10.214.0.2:5201" \
    -F "socks5://192.168.81.1:1080" 2>"$OUT/capture-fwd.log" & PIDS="$PIDS $!"
sleep 2
have_G=0 have_O=0
vpn_wg $C $M 192.168.81.1 10.80.0 1500 10.214.0.131/32 && have_G=1 ||
    echo "wireguard-go: not measured (see $OUT/wg.log)"
vpn_ovpn $C $M 192.168.81.1 10.81.0 1500 10.214.0.132/32 && have_O=1 ||
    echo "OpenVPN: not measured (see $OUT/ovpn-*.log)"

# one figure: Mbit/s received (UDP: and the loss), or "-"
measure() {	# measure HOST PORT ARGS...
	_h=$1 _p=$2; shift 2
	ip netns exec $C timeout $((SECS + 15)) iperf3 -c "$_h" -p "$_p" \
	    -t "$SECS" -J "$@" 2>&1 | tee -a "$OUT/capture-iperf3.log" | python3 -c '
import json, sys
try:
    e = json.load(sys.stdin)["end"]
    s = e["sum"] if "sum_received" not in e else e["sum_received"]
    print("%.0f" % (s["bits_per_second"] / 1e6))
    if "lost_percent" in s:
        print("%.2f" % s["lost_percent"], file=sys.stderr)
except Exception:
    print("-")
' 2>>"$OUT/capture-loss.$$"
}

row() { printf '%-12s %8s %11s %11s %8s %8s %8s %9s\n' "$@"; }
echo "capture: iperf3 ${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"
row "Mbit/s" "routed" "capture+s5" "s5 forward" "wg-go" "openvpn" "cap/fwd" "cap/ovpn"
for mode in "tcp up" "tcp down" "udp up" "udp down"; do
	case $mode in
	"tcp up") a="" ;;
	"tcp down") a="-R" ;;
	"udp up") a="-u -b $UDPRATE" ;;
	"udp down") a="-u -b $UDPRATE -R" ;;
	esac
	v_R= v_C= v_F= v_G= v_O=
	order="R C F"
	[ $have_G = 1 ] && order="$order G"
	[ $have_O = 1 ] && order="$order O"
	for r in $(seq 1 "$ROUNDS"); do
		for s in $order; do
			case $s in
			R) x=$(measure 10.214.0.200 5202 $a) ;;
			C) x=$(measure 10.214.0.2 5201 $a) ;;
			F) x=$(measure 127.0.0.1 5301 $a) ;;
			G) x=$(measure 10.214.0.131 5203 $a) ;;
			O) x=$(measure 10.214.0.132 5204 $a) ;;
			esac
			eval "v_$s=\"\$v_$s $x\""
		done
		order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
	done
	r=$(median $v_R); c=$(median $v_C); f=$(median $v_F)
	g=$(median $v_G); o=$(median $v_O)
	row "  $mode" "$r" "$c" "$f" "$g" "$o" "$(ratio "$c" "$f")" \
	    "$(ratio "$c" "$o")"
done
echo "(UDP at -b $UDPRATE: received rate; loss percentages of every UDP step:"
echo " $(tr '\n' ' ' <"$OUT/capture-loss.$$"))"
rm -f "$OUT/capture-loss.$$"
