#!/bin/sh
# Benchmark: throughput under packet loss.  One TCP stream from a client
# namespace through a tunnel to a sink in a server namespace, over a
# veth pair (both ends delayed 1 ms by netem where the kernel has it),
# first without loss, then with 1 % loss each way: the OSTP tunnel over
# UDP (its own ARQ and CUBIC window) and over UDP-over-TCP, next to
# ostpd's and shadowsocks-libev's Shadowsocks pairs (the kernel's TCP
# recovers their losses).  Prints each figure and the lossy/lossless
# ratio (issue 13 asks >= 0.5 for OSTP).  Traffic stays inside the two
# namespaces made here; every step runs SECS seconds and stops by
# itself; medians of ROUNDS interleaved rounds.  Root only.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-4}
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
LOSS=${LOSS:-1%}
. bench/lib.sh
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "ostploss.sh: needs root (namespaces)"; exit 1; }
command -v ss-server >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq shadowsocks-libev >/dev/null 2>&1
loadgen_build || exit 1
C=olc$$; S=ols$$
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for n in $C $S; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
}
trap cleanup EXIT INT TERM
ip netns add $C && ip netns add $S || exit 1
ip link add olc0 netns $C type veth peer name ols0 netns $S || exit 1
ip -n $C addr add 10.93.0.1/24 dev olc0
ip -n $S addr add 10.93.0.2/24 dev ols0
for n in $C $S; do ip -n $n link set lo up; done
ip -n $C link set olc0 up
ip -n $S link set ols0 up
# impair LOSS (a percentage): that share of the packets each way is
# lost, delayed 1 ms by netem where the kernel has it.  Without netem
# (this development VM) each side's INPUT drops it with iptables'
# statistic match, no delay; the veth ends then segment what they send
# (no GSO/TSO), so that a drop is one wire packet, not a 64 KB batch.
IMPAIR=netem
tc -n $C qdisc add dev olc0 root netem delay 1ms 2>/dev/null || IMPAIR=iptables
if [ $IMPAIR = iptables ]; then
	command -v ethtool >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq ethtool >/dev/null 2>&1
	ip netns exec $C ethtool -K olc0 gso off tso off tx-udp-segmentation off \
	    >/dev/null 2>&1 &&
	ip netns exec $S ethtool -K ols0 gso off tso off tx-udp-segmentation off \
	    >/dev/null 2>&1 || { echo "ostploss.sh: ethtool -K failed"; exit 1; }
fi
impair() {
	_p=$(awk -v l="${1%\%}" 'BEGIN { printf "%.4f", l / 100 }')
	for _e in "$C olc0" "$S ols0"; do
		set -- $_e
		if [ $IMPAIR = netem ]; then
			tc -n "$1" qdisc replace dev "$2" root netem delay 1ms \
			    loss "$_p" limit 10000 || exit 1
		else
			ip netns exec "$1" iptables -F INPUT
			[ "$_p" = 0.0000 ] || ip netns exec "$1" iptables \
			    -A INPUT -i "$2" -m statistic --mode random \
			    --probability "$_p" -j DROP || exit 1
		fi
	done
}
# packets dropped so far by both sides' rules (iptables only)
dropped() {
	for _n in $C $S; do
		ip netns exec $_n iptables -L INPUT -v -x -n 2>/dev/null |
		    awk '/DROP/ { s += $1 } END { print s + 0 }'
	done | awk '{ s += $1 } END { print s + 0 }'
}
impair 0

K=0123456789abcdef0123456789abcdef
M=chacha20-ietf-poly1305
SINK=23401 O=23410 SO=23411 SL=23412
CO=23420 CU=23421 CSO=23422 CSL=23423
inS() { ip netns exec $S "$@" & PIDS="$PIDS $!"; }
inC() { ip netns exec $C "$@" & PIDS="$PIDS $!"; }
inS $LG sink $SINK
inS "$BUILD/ostpd" -w 1 -L "ostp://$K@10.93.0.2:$O?local_access=true" \
    2>"$OUT/loss-srv.log"
inS "$BUILD/ostpd" -w 1 -L "ss://$M:bench@10.93.0.2:$SO" 2>/dev/null
inS ss-server -s 10.93.0.2 -p $SL -k bench -m $M >/dev/null 2>&1
inC "$BUILD/ostpd" -w 1 -L "socks5://127.0.0.1:$CO" \
    -F "ostp://$K@10.93.0.2:$O?mtu=1350" 2>"$OUT/loss-cli.log"
inC "$BUILD/ostpd" -w 1 -L "socks5://127.0.0.1:$CU" \
    -F "ostp://$K@10.93.0.2:$O?type=uot&mtu=1350" 2>/dev/null
inC "$BUILD/ostpd" -w 1 -L "socks5://127.0.0.1:$CSO" \
    -F "ss://$M:bench@10.93.0.2:$SO" 2>/dev/null
inC ss-local -s 10.93.0.2 -p $SL -b 127.0.0.1 -l $CSL -k bench -m $M \
    >/dev/null 2>&1
sleep 2

bulk() {	# bulk SOCKSPORT
	_o=$(ip netns exec $C $LG bulk 127.0.0.1 "$1" 1 "$SECS" socks5 \
	    $SINK 2>/dev/null)
	echo "${_o:--}"
}
row() { printf '%-26s %10s %10s %10s\n' "$@"; }

subjects="CO CU CSO CSL"
for cond in 0 1; do
	[ $cond = 0 ] && impair 0 || impair "$LOSS"
	for s in $subjects; do eval "v_${s}_$cond="; done
	order=$subjects
	for r in $(seq 1 "$ROUNDS"); do
		for s in $order; do
			eval "port=\$$s"
			eval "v_${s}_$cond=\"\$v_${s}_$cond $(bulk "$port")\""
		done
		order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
	done
	[ $cond = 1 ] && [ $IMPAIR = iptables ] && ndrop=$(dropped)
done
[ $IMPAIR = netem ] && d="netem, 1 ms each way" ||
    d="iptables drops, no delay, no offloads; $ndrop packets dropped"
echo "1 TCP stream over veth ($d), lossless vs $LOSS loss each way;"
echo "${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"
echo
row "MB/s" "lossless" "$LOSS loss" "ratio"
for s in $subjects; do
	case $s in
	CO) n="ostp udp, mtu 1350" ;;
	CU) n="ostp uot, mtu 1350" ;;
	CSO) n="ss pair, ostpd" ;;
	CSL) n="ss pair, shadowsocks-libev" ;;
	esac
	eval "a=\$(median \$v_${s}_0); b=\$(median \$v_${s}_1)"
	row "$n" "$a" "$b" "$(ratio "$b" "$a")"
done
