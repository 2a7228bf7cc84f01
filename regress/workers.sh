# Several workers share each port with SO_REUSEPORT ("workers"): all are
# confined, the kernel spreads connections over them, one that dies is
# replaced while the others serve, and a reload may change their number.
. regress/lib.sh
# workers are killed on purpose: run.sh must not fail the test for it
ALLOW_RESPAWN=1

E=$(free_port); P=$(free_port); S=$(free_port)
start_echo "$E"
cfg=$LOGDIR/w.json
cat >"$cfg" <<J
{"workers": 2, "inbounds": ["tcp://127.0.0.1:$P/127.0.0.1:$E", "socks5://127.0.0.1:$S"]}
J
CONFIG_WORKERS=1; start_ostpd w -C "$cfg"; CONFIG_WORKERS=
L=$LOGDIR/w.log
wait_port "$P" && wait_port "$S" || fatal "no listener"
wait_workers "$OPID" 2
set -- $(pgrep -P "$OPID")
[ $# -eq 2 ] || fatal "want 2 workers, have $#"
W0=$1; W1=$2
for w in $W0 $W1; do
	[ "$(status_field "$w" Seccomp)" = 2 ] || fail "worker $w not confined"
	[ "$(status_field "$w" CapEff)" = 0000000000000000 ] || fail "worker $w has capabilities"
done
$NETTOOL xfer 127.0.0.1 "$P" 100000 40 >/dev/null || fail "forwarding with two workers"
kill -USR1 "$OPID"
# the counters come from each worker, after the monitor's own lines
wait_log "$L" 'worker 0 (pid .*accepted' 5 && wait_log "$L" 'worker 1 (pid .*accepted' 5 ||
    fail "no counters in the dump"
for id in 0 1; do
	n=$(grep "worker $id (pid .*accepted" "$L" | tail -n 1 | sed 's/.*connections, \([0-9]*\) accepted.*/\1/')
	[ "${n:-0}" -ge 1 ] || fail "worker $id accepted nothing (SO_REUSEPORT spread)"
done

# One worker dies; service goes on, it is replaced.  It dies with a
# request of the monitor unread (stopped during a SIGUSR1 dump): that is
# a death like any other, not an IPC error ("killing worker ...").
# The other worker's answer comes after the dump sent W1 its request.
n=$(grep -c 'active connections' "$L")
kill -STOP "$W1"
kill -USR1 "$OPID"
wait_count "$L" 'active connections' $((n + 1)) || fail "no second dump"
kill -9 "$W1"
$NETTOOL xfer 127.0.0.1 "$P" 10000 20 >/dev/null || fail "forwarding while a worker restarts"
wait_log "$L" 'restarting in' 5 || fail "no restart"
wait_workers "$OPID" 2 || fail "the worker was not replaced"
grep -q 'killing worker' "$L" && fail "a dead worker reported as an IPC fault: $(grep 'killing worker' "$L")"

# Reload to one worker: same ports, the old pair drains away.
cat >"$cfg" <<J
{"workers": 1, "inbounds": ["tcp://127.0.0.1:$P/127.0.0.1:$E", "socks5://127.0.0.1:$S"]}
J
kill -HUP "$OPID"
wait_log "$L" 'configuration reloaded (generation 2)' 5 || fail "reload"
wait_workers "$OPID" 1 || fail "not one worker after the reload"
$NETTOOL xfer 127.0.0.1 "$P" 10000 10 >/dev/null || fail "forwarding after the reload"
out=$(curl -sS --max-time 5 -x "socks5://127.0.0.1:$S" "telnet://127.0.0.1:$E" </dev/null 2>&1; true)
echo "$out" | grep -q 'Failed\|refused' && fail "socks5 after the reload: $out"
"$OSTPD" -T -C "$cfg" | grep -q '"workers": 1' || fail "-t does not show workers"
kill "$OPID"
finish
