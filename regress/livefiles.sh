# Live reload of files the configuration names (bypass=, hosts=): the
# monitor notices the change on the file's own "reload" period and hands
# the worker a descriptor; the worker swaps the contents.  A broken file
# keeps the previous contents and logs one line naming file and line.
. regress/lib.sh

E=$(free_port); P=$(free_port); P2=$(free_port)
start_echo "$E"
bp=$LOGDIR/bypass.txt
hf=$LOGDIR/hosts.txt
printf 'reload 1s\n# nothing bypassed yet\n10.0.0.0/8\n' >"$bp"
printf 'reload 1s\n127.0.0.1 backend alias1\n' >"$hf"
start_ostpd live -L "tcp://127.0.0.1:$P/127.0.0.1:$E?bypass=$bp" \
	-L "tcp://127.0.0.1:$P2/backend:$E?hosts=$hf"
L=$LOGDIR/live.log
wait_port "$P" || fatal "no listener"
W=$(worker_of "$OPID")
$NETTOOL xfer 127.0.0.1 "$P" 10000 2 >/dev/null || fail "forwarding before the bypass change"
$NETTOOL xfer 127.0.0.1 "$P2" 10000 2 >/dev/null || fail "hosts name not resolved"

# Bypass the target: connections are refused from the next period on.
printf 'reload 1s\n127.0.0.1\n' | live_write "$bp" "$L" ||
    fail "bypass file not reloaded"
out=$(echo hi | timeout 5 socat - TCP:127.0.0.1:$P 2>&1)
[ -z "$out" ] || fail "bypassed target still forwarded: $out"
assert_serving "tcp://127.0.0.1:$P2"

# A broken file: one line naming file and line; the old rules stay.
printf 'reload 1s\nreverse perhaps\n' | live_write "$bp" "$L"
grep -q "reload failed: $bp:2:" "$L" || fail "broken bypass file: no error naming the line"
[ "$(grep -c "reload failed: $bp" "$L")" -eq 1 ] || fail "more than one error line"
out=$(echo hi | timeout 5 socat - TCP:127.0.0.1:$P 2>&1)
[ -z "$out" ] || fail "broken reload dropped the previous bypass rules"
assert_serving "tcp://127.0.0.1:$P2"

# Repaired: forwarding again, without a restart.
printf 'reload 1s\n' | live_write "$bp" "$L" || fail "repaired file not reloaded"
[ "$(count "$L" "$bp reloaded")" -eq 2 ] || fail "repaired file refused"
$NETTOOL xfer 127.0.0.1 "$P" 10000 1 >/dev/null || fail "forwarding after the repair"

# hosts: point the name elsewhere (nothing listens on 127.0.0.3:$E).
printf 'reload 1s\n127.0.0.3 backend\n' | live_write "$hf" "$L" ||
    fail "hosts file not reloaded"
out=$(echo hi | timeout 5 socat - TCP:127.0.0.1:$P2 2>&1)
[ -z "$out" ] || fail "old hosts address still used: $out"
assert_serving "tcp://127.0.0.1:$P"
[ "$(worker_of "$OPID")" = "$W" ] || fail "the worker was replaced; reload must not restart it"

# A file the configuration does not name cannot be watched: see ipc.sh.
# Startup refuses a broken file with file:line.
printf 'bogus directive here\n' >"$LOGDIR/bad-bypass.txt"
out=$("$OSTPD" -t -L "tcp://:1/127.0.0.1:2?bypass=$LOGDIR/bad-bypass.txt" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "broken bypass file accepted at startup"
echo "$out" | grep -q "bad-bypass.txt:1:" || fail "startup error lacks file:line: $out"
# a target by name needs no hosts file: it is resolved at each dial
out=$("$OSTPD" -t -L "tcp://:1/nosuchname:2" 2>&1) ||
    fail "a name target without hosts= refused: $out"
kill "$OPID"
finish
