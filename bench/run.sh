#!/bin/sh
# Benchmark: ostpd's tcp:// forwarder against a direct connection (the
# limit) and peer forwarders from Debian (socat, haproxy) in one run, on
# loopback.  Prints each figure, the peers' figures and the ratios.
# Bounded: every load step runs SECS seconds and stops by itself.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-5}
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
mkdir -p "$OUT"
command -v haproxy >/dev/null 2>&1 || {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null 2>&1 ||
	echo "haproxy not installable; skipping it"
}
cc -O2 -Wall -o "$OUT/loadgen" bench/loadgen.c || exit 1
LG=$OUT/loadgen
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM

SINK=21001 ECHO=21002
O_S=21011 O_E=21012 S_S=21021 S_E=21022 H_S=21031 H_E=21032
$LG sink $SINK & PIDS="$PIDS $!"
$LG echo $ECHO & PIDS="$PIDS $!"
"$BUILD/ostpd" -L tcp://127.0.0.1:$O_S/127.0.0.1:$SINK \
	-L tcp://127.0.0.1:$O_E/127.0.0.1:$ECHO 2>"$OUT/ostpd.log" &
OPID=$!; PIDS="$PIDS $OPID"
socat TCP-LISTEN:$S_S,bind=127.0.0.1,fork,reuseaddr,backlog=4096 TCP:127.0.0.1:$SINK & PIDS="$PIDS $!"
socat TCP-LISTEN:$S_E,bind=127.0.0.1,fork,reuseaddr,backlog=4096 TCP:127.0.0.1:$ECHO & PIDS="$PIDS $!"
if command -v haproxy >/dev/null 2>&1; then
	cat >"$OUT/haproxy.cfg" <<HCFG
global
	maxconn 8000
	nbthread 1
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
listen s
	bind 127.0.0.1:$H_S
	server s 127.0.0.1:$SINK
listen e
	bind 127.0.0.1:$H_E
	server e 127.0.0.1:$ECHO
HCFG
	haproxy -q -f "$OUT/haproxy.cfg" & PIDS="$PIDS $!"
	HAVE_H=1
fi
sleep 1

row() { printf '%-34s %12s %12s %12s %12s\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "tcp forward, loopback, ${SECS}s per step, $(nproc) cores"
row "measure" "direct" "ostpd" "socat" "haproxy"
for streams in 1 4; do
	d=$($LG bulk 127.0.0.1 $SINK $streams $SECS)
	o=$($LG bulk 127.0.0.1 $O_S $streams $SECS)
	s=$($LG bulk 127.0.0.1 $S_S $streams $SECS)
	h=-; [ -n "$HAVE_H" ] && h=$($LG bulk 127.0.0.1 $H_S $streams $SECS)
	row "bulk MB/s, $streams stream(s)" "$d" "$o" "$s" "$h"
	row "  ostpd/direct, /socat, /haproxy" "" "$(ratio "$o" "$d")" "$(ratio "$o" "$s")" "$(ratio "$o" "$h")"
done
set -- $($LG rate 127.0.0.1 $ECHO 50 $SECS); d=$1 dp50=$2 dp99=$3
set -- $($LG rate 127.0.0.1 $O_E 50 $SECS); o=$1 op50=$2 op99=$3
set -- $($LG rate 127.0.0.1 $S_E 50 $SECS); s=$1 sp50=$2 sp99=$3
h=- hp50=- hp99=-
[ -n "$HAVE_H" ] && { set -- $($LG rate 127.0.0.1 $H_E 50 $SECS); h=$1 hp50=$2 hp99=$3; }
row "conn/s (connect+64B echo+close)" "$d" "$o" "$s" "$h"
row "  ostpd/socat, /haproxy" "" "" "$(ratio "$o" "$s")" "$(ratio "$o" "$h")"
row "p50 latency us" "$dp50" "$op50" "$sp50" "$hp50"
row "p99 latency us" "$dp99" "$op99" "$sp99" "$hp99"

# Memory: 10,000 idle relayed connections through ostpd's worker.
W=$(pgrep -P $OPID | head -n 1)
rss0=$(awk '/VmRSS/ {print $2}' /proc/$W/status)
$LG idle 127.0.0.1 $O_E 10000 3 >"$OUT/idle.out" &
IPID=$!; PIDS="$PIDS $IPID"
for i in $(seq 1 300); do [ -s "$OUT/idle.out" ] && break; sleep 0.1; done
sleep 1
rss1=$(awk '/VmRSS/ {print $2}' /proc/$W/status)
n=$(head -n 1 "$OUT/idle.out")
wait $IPID
echo "idle: $n connections, worker RSS $rss0 -> $rss1 KiB:" \
	"$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { printf "%.2f KiB per connection", (b - a) / n }')"
