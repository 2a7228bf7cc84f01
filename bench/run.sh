#!/bin/sh
# Benchmark: ostpd's tcp:// forwarder against a direct connection (the
# limit), the least a user-space forwarder can do (loadgen floor: blocking
# splice, a thread per direction) and peer forwarders from Debian (socat,
# haproxy), in one run, on loopback.  Prints medians of ROUNDS rounds and
# the ratios.  Bounded: every load step runs SECS seconds and stops.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-5}
. bench/lib.sh
command -v haproxy >/dev/null 2>&1 || {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null 2>&1 ||
	echo "haproxy not installable; skipping it"
}
loadgen_build || exit 1
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM

SINK=21001 ECHO=21002
O_S=21011 O_E=21012 S_S=21021 S_E=21022 H_S=21031 H_E=21032 F_S=21041
$LG sink $SINK & PIDS="$PIDS $!"
$LG echo $ECHO & PIDS="$PIDS $!"
$LG floor $F_S $SINK & FPID=$!; PIDS="$PIDS $FPID"
# WORKERS=auto (or N): ostpd with that many workers (SO_REUSEPORT)
echo "{\"workers\": \"${WORKERS:-1}\", \"inbounds\": [
	\"tcp://127.0.0.1:$O_S/127.0.0.1:$SINK\", \"tcp://127.0.0.1:$O_E/127.0.0.1:$ECHO\"]}" |
	sed 's/"\([0-9][0-9]*\)"/\1/' >"$OUT/ostpd-fwd.json"
"$BUILD/ostpd" -C "$OUT/ostpd-fwd.json" 2>"$OUT/ostpd.log" &
OPID=$!; PIDS="$PIDS $OPID"
socat TCP-LISTEN:$S_S,bind=127.0.0.1,fork,reuseaddr,backlog=4096 TCP:127.0.0.1:$SINK & PIDS="$PIDS $!"
socat TCP-LISTEN:$S_E,bind=127.0.0.1,fork,reuseaddr,backlog=4096 TCP:127.0.0.1:$ECHO & PIDS="$PIDS $!"
HPID=
if command -v haproxy >/dev/null 2>&1; then
	cat >"$OUT/haproxy.cfg" <<HCFG
global
	maxconn 4000
	nbthread 1
defaults
	mode tcp
	option splice-request
	option splice-response
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
	haproxy -q -f "$OUT/haproxy.cfg" & HPID=$!; PIDS="$PIDS $HPID"
fi
sleep 1
W=$(pgrep -P $OPID | head -n 1)

row() { printf '%-34s %9s %9s %9s %9s %9s\n' "$@"; }

# bulk SUBJECT STREAMS: MB/s, and the forwarder's CPU seconds per GB
# appended to $OUT/cpu-SUBJECT-STREAMS
bulk() {
	case $1 in
	direct) port=$SINK pid= ;; floor) port=$F_S pid=$FPID ;;
	ostpd) port=$O_S pid=$OPID ;; socat) port=$S_S pid= ;;
	haproxy) [ -n "$HPID" ] || { echo -; return; }; port=$H_S pid=$HPID ;;
	esac
	[ -n "$pid" ] && t0=$(tree_ticks "$pid")
	mb=$($LG bulk 127.0.0.1 "$port" "$2" "$SECS")
	if [ -n "$pid" ]; then
		t1=$(tree_ticks "$pid")
		awk -v t="$((t1 - t0))" -v hz="$TCK" -v s="$SECS" -v mb="$mb" \
		    'BEGIN { if (mb > 0) printf "%.3f\n", t / hz / s / (mb / 1000) }' \
		    >>"$OUT/cpu-$1-$2"
	fi
	echo "$mb"
}

rm -f "$OUT"/cpu-*
echo "tcp forward, loopback, ${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"
row "measure" "direct" "floor" "ostpd" "socat" "haproxy"
SUBJ="direct floor ostpd socat haproxy"
for streams in 1 4; do
	for s in $SUBJ; do eval "v_$s="; done
	for r in $(seq 1 "$ROUNDS"); do
		for s in $SUBJ; do eval "v_$s=\"\$v_$s $(bulk $s $streams)\""; done
		SUBJ="$(echo $SUBJ | cut -d' ' -f2-) ${SUBJ%% *}"	# next one first
	done
	for s in direct floor ostpd socat haproxy; do eval "m_$s=\$(median \$v_$s)"; done
	row "bulk MB/s, $streams stream(s)" "$m_direct" "$m_floor" "$m_ostpd" "$m_socat" "$m_haproxy"
	row "  ostpd / this column" "$(ratio "$m_ostpd" "$m_direct")" \
	    "$(ratio "$m_ostpd" "$m_floor")" "" "$(ratio "$m_ostpd" "$m_socat")" "$(ratio "$m_ostpd" "$m_haproxy")"
	c_f=$(median $(cat "$OUT/cpu-floor-$streams" 2>/dev/null))
	c_o=$(median $(cat "$OUT/cpu-ostpd-$streams" 2>/dev/null))
	c_h=$(median $(cat "$OUT/cpu-haproxy-$streams" 2>/dev/null))
	row "  forwarder CPU-s per GB" "" "$c_f" "$c_o" "" "$c_h"
done

SUBJ="direct ostpd socat haproxy"
for s in $SUBJ; do eval "r_$s= p50_$s= p99_$s="; done
for r in $(seq 1 "$ROUNDS"); do
	for s in $SUBJ; do
		case $s in
		direct) port=$ECHO ;; ostpd) port=$O_E ;; socat) port=$S_E ;;
		haproxy) [ -n "$HPID" ] || continue; port=$H_E ;;
		esac
		set -- $($LG rate 127.0.0.1 $port 50 $SECS)
		eval "r_$s=\"\$r_$s $1\" p50_$s=\"\$p50_$s $2\" p99_$s=\"\$p99_$s $3\""
	done
	SUBJ="$(echo $SUBJ | cut -d' ' -f2-) ${SUBJ%% *}"
done
for s in direct ostpd socat haproxy; do
	eval "R_$s=\$(median \$r_$s) P50_$s=\$(median \$p50_$s) P99_$s=\$(median \$p99_$s)"
done
row "conn/s (connect+64B echo+close)" "$R_direct" "" "$R_ostpd" "$R_socat" "$R_haproxy"
row "  ostpd / this column" "$(ratio "$R_ostpd" "$R_direct")" "" "" "$(ratio "$R_ostpd" "$R_socat")" "$(ratio "$R_ostpd" "$R_haproxy")"
row "p50 latency us" "$P50_direct" "" "$P50_ostpd" "$P50_socat" "$P50_haproxy"
row "p99 latency us" "$P99_direct" "" "$P99_ostpd" "$P99_socat" "$P99_haproxy"

# Memory: 10,000 idle relayed connections through ostpd's worker.
[ "${WORKERS:-1}" = 1 ] || echo "(idle RSS below is one worker of ${WORKERS})"
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
