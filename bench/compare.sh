#!/bin/sh
# Benchmark: two builds of ostpd side by side in one run (OLD=path to
# the other ostpd binary): the tcp:// forwarder, a SOCKS5 and an HTTP
# CONNECT proxy, bulk and connection rate, so a change is measured, not
# assumed.  Every step runs SECS seconds and stops by itself.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-5}
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
NEW=${NEW:-$BUILD/ostpd}
[ -x "${OLD:-}" ] || { echo "usage: OLD=/path/to/old/ostpd sh bench/compare.sh"; exit 1; }
. bench/lib.sh
mkdir -p "$OUT"
loadgen_build || exit 1
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM

SINK=23201 ECHO=23202
$LG sink $SINK & PIDS="$PIDS $!"
$LG echo $ECHO & PIDS="$PIDS $!"
# one worker each: the figures compare the code, not the core count
"$OLD" -L "127.0.0.1:23210" -L "tcp://127.0.0.1:23211/127.0.0.1:$SINK" \
    -L "tcp://127.0.0.1:23212/127.0.0.1:$ECHO" 2>"$OUT/old.log" & OPID=$!
PIDS="$PIDS $OPID"
"$NEW" -w 1 -L "127.0.0.1:23220" -L "tcp://127.0.0.1:23221/127.0.0.1:$SINK" \
    -L "tcp://127.0.0.1:23222/127.0.0.1:$ECHO" 2>"$OUT/new.log" & NPID=$!
PIDS="$PIDS $NPID"
sleep 1.5

row() { printf '%-28s %10s %10s %8s\n' "$@"; }
# run MODE WHO KIND N: a figure (MB/s, or conn/s p50 p99)
run() {
	[ "$2" = old ] && b=2321 || b=2322
	case $3 in
	fwd) [ "$1" = rate ] && p=${b}2 || p=${b}1
	    $LG "$1" 127.0.0.1 "$p" "$4" "$SECS" 2>/dev/null ;;
	*) [ "$1" = rate ] && d=$ECHO || d=$SINK
	    $LG "$1" 127.0.0.1 "${b}0" "$4" "$SECS" "$3" "$d" 2>/dev/null ;;
	esac
}
echo "old: $OLD; new: $NEW; loopback, ${SECS}s per step, median of $ROUNDS rounds"
row "" old new new/old
for kind in fwd socks5 http; do
	for mode in "bulk 1" "rate 50"; do
		set -- $mode
		vo= vn= po= pn=
		for r in $(seq 1 "$ROUNDS"); do
			if [ $((r % 2)) = 1 ]; then first=old; else first=new; fi
			for who in $first $([ $first = old ] && echo new || echo old); do
				set -- $(run $1 $who $kind $2) ; [ -z "$1" ] && set -- -
				if [ $who = old ]; then vo="$vo $1"; po="$po ${2:--}"
				else vn="$vn $1"; pn="$pn ${2:--}"; fi
				set -- $mode
			done
		done
		mo=$(median $vo); mn=$(median $vn)
		[ "$1" = bulk ] && unit="MB/s" || unit="conn/s"
		row "$kind $unit ($2)" "$mo" "$mn" "$(ratio "$mn" "$mo")"
		[ "$1" = rate ] && row "$kind p50 us" "$(median $po)" "$(median $pn)" \
		    "$(ratio "$(median $pn)" "$(median $po)")"
	done
done
