# A forbidden system call kills the worker (seccomp), the monitor
# respawns it, and the listener never stops accepting.  -DD names the call.
. regress/lib.sh
# workers are killed on purpose: run.sh must not fail the test for it
ALLOW_RESPAWN=1
OSTPD=$OSTPD_T

P=$(free_port); E=$(free_port)
start_echo "$E"
OSTP_TESTHOOK=seccomp start_ostpd seccomp -L "tcp://127.0.0.1:$P/127.0.0.1:$E"
wait_port "$P" || fatal "no listener"
W1=$(worker_of "$OPID") || fatal "no worker"
$NETTOOL xfer 127.0.0.1 "$P" 100000 4 >/dev/null || fail "forwarding before"

kill -USR2 "$W1"
wait_log "$LOGDIR/seccomp.log" 'killed by SIGSYS' 5 || fail "no SIGSYS kill logged"
# Connections made while no worker runs wait in the monitor's backlog.
$NETTOOL xfer 127.0.0.1 "$P" 100000 4 >"$LOGDIR/during.out" || fail "forwarding across the respawn"
W2=$(worker_of "$OPID") || fail "no new worker"
[ -n "$W2" ] && [ "$W2" != "$W1" ] || fail "worker was not replaced ($W1 -> $W2)"
grep -q 'restarting in' "$LOGDIR/seccomp.log" || fail "no restart logged"
[ "$(status_field "$W2" Seccomp)" = 2 ] || fail "respawned worker is not confined"
[ "$(status_field "$W2" CapEff)" = 0000000000000000 ] || fail "respawned worker has capabilities"
$NETTOOL xfer 127.0.0.1 "$P" 1000000 8 >/dev/null || fail "forwarding after"
kill "$OPID"

# Debug mode names the offending call.
P=$(free_port)
OSTP_TESTHOOK=seccomp start_ostpd seccomp-debug -DD -L "tcp://127.0.0.1:$P/127.0.0.1:$E"
wait_port "$P" || fatal "no listener (debug)"
W1=$(worker_of "$OPID") || fatal "no worker (debug)"
kill -USR2 "$W1"
wait_log "$LOGDIR/seccomp-debug.log" 'forbidden system call ptrace' 5 ||
	fail "-DD did not name the system call"
wait_port "$P" || fail "no listener after the debug kill"
assert_serving "tcp://127.0.0.1:$P"
kill "$OPID"
finish
