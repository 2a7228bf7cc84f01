#!/bin/sh
# Soak: CONNS relayed connections through ostpd for SECS seconds with
# churn, a SIGHUP every HUP seconds and a worker killed with SIGKILL every
# KILL seconds; then the descriptors and RSS of the monitor and each
# worker at the start, the end and the peak, the connections lost (only
# those of a killed worker may be) and the connect failures (none: the
# listeners never stop accepting).  Not part of make check: run it with
# make soak.  Bounded: the client, the driver and every wait stop by
# themselves; every process started here is stopped by its PID on exit.
# Loopback only.  Run as root (for the descriptor limit and the sandbox).
cd "$(dirname "$0")/.." || exit 1
CONNS=${CONNS:-10000}
SECS=${SECS:-600}
HUP=${HUP:-30}
KILL=${KILL:-60}
WORKERS=${WORKERS:-2}
RAMP=${RAMP:-1000}		# new connections a second during ramp-up
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/soak}
PORT=${PORT:-23100}		# PORT..PORT+3 on 127.0.0.1

[ "$(id -u)" = 0 ] || { echo "soak: run as root"; exit 1; }
[ -x "$BUILD/ostpd" ] || { echo "soak: no $BUILD/ostpd; run make first"; exit 1; }
command -v python3 >/dev/null || { echo "soak: python3 is needed"; exit 1; }
mkdir -p "$OUT" || exit 1
rm -f "$OUT"/*

# Two sockets per relayed connection in ostpd, two in the load tool (a
# client and the echo server's end): well past the usual 1024 or 20000.
NOFILE=$((CONNS * 2 + 4096))
[ "$NOFILE" -lt 65536 ] && NOFILE=65536
ulimit -Hn "$NOFILE" 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((CONNS + 1024)) ]; then
	echo "soak: descriptor limit $(ulimit -n) is too low for $CONNS connections"
	exit 1
fi

# The relay's pipes are charged to the workers' user; past this limit
# new pipes are small and cannot grow (daemon/core/splice.c keeps
# within a share of it).  Printed for the record.
echo "soak: $CONNS connections, $SECS s, SIGHUP every $HUP s, SIGKILL every $KILL s, $WORKERS workers"
echo "soak: nofile $(ulimit -n), fs.pipe-user-pages-soft $(cat /proc/sys/fs/pipe-user-pages-soft)," \
    "ports $(cat /proc/sys/net/ipv4/ip_local_port_range | tr '\t' -)," \
    "tcp_tw_reuse $(cat /proc/sys/net/ipv4/tcp_tw_reuse), $(nproc) cores," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"

ECHO1=$PORT ECHO2=$((PORT + 1)) FWD=$((PORT + 2)) SOCKS=$((PORT + 3))
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	# the monitor stops its workers within 2 s; then nothing is left
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

MAX=$((SECS + CONNS / 50 + 300))	# every process's own limit
python3 bench/soak.py echo $ECHO1 $ECHO2 --max-secs $MAX \
    >"$OUT/echo.log" 2>&1 &
PIDS="$PIDS $!"

# A -C file, so that SIGHUP reads it again and starts a new generation.
cat >"$OUT/ostpd.json" <<EOF
{
  "log": { "level": "info" },
  "workers": $WORKERS,
  "inbounds": [
    "tcp://127.0.0.1:$FWD/127.0.0.1:$ECHO1",
    "socks5://127.0.0.1:$SOCKS"
  ]
}
EOF
"$BUILD/ostpd" -C "$OUT/ostpd.json" 2>"$OUT/ostpd.log" &
OPID=$!
PIDS="$PIDS $OPID"

# Ready when both listeners answer (bounded).
i=0
until python3 -c "import socket,sys
for p in sys.argv[1:]: socket.create_connection(('127.0.0.1', int(p)), 1).close()" \
    $ECHO1 $ECHO2 $FWD $SOCKS 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $OPID 2>/dev/null; then
		echo "soak: ostpd or the echo server did not start"; cat "$OUT/ostpd.log"
		exit 1
	fi
	sleep 0.1
done

python3 bench/soak.py client --fwd $FWD --socks $SOCKS --socks-target $ECHO2 \
    --conns "$CONNS" --ramp "$RAMP" --max-secs $MAX \
    --events "$OUT/events.jsonl" --summary "$OUT/client.json" \
    --ready "$OUT/ready" >"$OUT/client.log" 2>&1 &
CPID=$!
PIDS="$CPID $PIDS"

python3 bench/soak.py drive --monitor $OPID --client $CPID \
    --conns "$CONNS" --secs "$SECS" --hup "$HUP" --kill "$KILL" \
    --workers "$WORKERS" --log "$OUT/ostpd.log" --out "$OUT" \
    --events "$OUT/events.jsonl" --summary "$OUT/client.json" \
    --ready "$OUT/ready" --ready-timeout $((CONNS / RAMP * 3 + 60)) \
    ${VERBOSE:+-v} | tee "$OUT/report.txt"
rc=$(awk '/^soak: (PASS|FAIL)$/ { r = ($2 == "PASS") ? 0 : 1 } END { print r == "" ? 1 : r }' "$OUT/report.txt")
echo "soak: logs in $OUT"
exit "$rc"
