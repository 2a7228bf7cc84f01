# Workers are fresh executions of the binary (ostpd -W), not forks of
# the monitor: their address-space layout differs (ASLR), a secret only
# the monitor holds is nowhere in a worker's memory, the environment
# and descriptors are the worker's own, and -W cannot be used by hand.
. regress/lib.sh

P=$(free_port); E=$(free_port)
start_echo "$E"
CANARY="ostp-canary-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
OSTP_TEST_CANARY=$CANARY "$OSTPD_T" -D -L "tcp://127.0.0.1:$P/127.0.0.1:$E" \
    >"$LOGDIR/reexec.log" 2>&1 &
OPID=$!
PIDS="$PIDS $OPID"
wait_port "$P" || fatal "no listener"
W=$(worker_of "$OPID") || fatal "no worker"

# What runs is the binary again, with the private flag.
[ "$(tr '\0' ' ' </proc/$W/cmdline)" = "ostpd -W " ] ||
    fail "worker command line: $(tr '\0' ' ' </proc/$W/cmdline)"
[ "$(readlink /proc/$W/exe)" = "$(readlink /proc/$OPID/exe)" ] ||
    fail "worker runs $(readlink /proc/$W/exe)"

# ASLR: a fork would share the monitor's layout exactly.
base() { awk -v exe="$(readlink /proc/$1/exe)" '$6 == exe { print $1; exit }' /proc/$1/maps; }
heap() { awk '$6 == "[heap]" { print $1; exit }' /proc/$1/maps; }
stack() { awk '$6 == "[stack]" { print $1; exit }' /proc/$1/maps; }
[ -n "$(base "$W")" ] || fail "no mapping of the binary in the worker"
[ "$(base "$W")" != "$(base "$OPID")" ] || fail "worker and monitor load the binary at the same address $(base "$W")"
[ "$(stack "$W")" != "$(stack "$OPID")" ] || fail "worker and monitor have the same stack $(stack "$W")"
# (sanitizer builds allocate outside brk: no [heap] to compare)
[ -z "$(heap "$OPID")" ] || [ "$(heap "$W")" != "$(heap "$OPID")" ] ||
    fail "worker and monitor have the same heap $(heap "$W")"

# The canary: present in the monitor (the scan works), absent in the
# worker (its heap, stack, environment: every readable mapping).
n=$(python3 regress/tools/memscan.py "$OPID" "$CANARY") || fail "cannot scan the monitor"
[ "${n:-0}" -ge 1 ] || fail "the canary is not in the monitor's memory (scan broken?)"
n=$(python3 regress/tools/memscan.py "$W" "$CANARY") || fail "cannot scan the worker"
[ "$n" = 0 ] || fail "the monitor's canary is in the worker's memory ($n times)"
tr '\0' '\n' </proc/$W/environ | grep -q . &&
    fail "worker environment is not empty: $(tr '\0' ' ' </proc/$W/environ)"

# Only its own descriptors: stdio, the channel, listeners, the event
# loop's; not the monitor's binary, configuration or replay memfds.
for fd in /proc/$W/fd/*; do
	case $(readlink "$fd") in
	*memfd:*|*ostpd*) fail "worker holds $(readlink "$fd")" ;;
	esac
done
grep -q 'memfd:ostpd-replay' /proc/$W/maps || fail "worker does not map the replay memory"

# A respawned worker is executed again too, and the daemon serves.
ALLOW_RESPAWN=1
kill -9 "$W"
wait_log "$LOGDIR/reexec.log" "worker 0 (generation 1) killed by signal 9" ||
    fail "monitor did not see the worker die"
new_worker() { _w=$(pgrep -P "$OPID" | head -n 1); [ -n "$_w" ] && [ "$_w" != "$W" ]; }
wait_until 5 new_worker || fatal "no new worker"
W2=$(pgrep -P "$OPID" | head -n 1)
wait_port "$P" || fatal "no listener after the respawn"
[ "$(base "$W2")" != "$(base "$OPID")" ] || fail "respawned worker shares the monitor's layout"
n=$(python3 regress/tools/memscan.py "$W2" "$CANARY")
[ "$n" = 0 ] || fail "the canary is in the respawned worker's memory"
$NETTOOL xfer 127.0.0.1 "$P" 100000 2 >/dev/null || fail "no forwarding after the respawn"

# -W by hand is refused with one line.
out=$("$OSTPD" -W 2>&1 3>&-); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q -- "-W is private" || fail "-W by hand: rc $rc: $out"
finish
