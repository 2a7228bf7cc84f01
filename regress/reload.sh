# SIGHUP: a broken file keeps the running configuration; a valid one
# starts a new worker generation while the old one drains its
# connections and exits.
. regress/lib.sh

P=$(free_port); P2=$(free_port); E=$(free_port)
start_echo "$E"
cfg=$LOGDIR/ostpd.json
echo "{\"ServeNodes\": [\"tcp://127.0.0.1:$P/127.0.0.1:$E\"]}" >"$cfg"
start_ostpd reload -C "$cfg"
L=$LOGDIR/reload.log
wait_port "$P" || fatal "no listener"
W1=$(worker_of "$OPID")

# Broken: truncated JSON.
echo "{\"ServeNodes\": [\"tcp://127.0.0.1:$P2/127.0.0" >"$cfg"
kill -HUP "$OPID"
wait_log "$L" 'reload failed' 5 || fail "broken config: no error"
[ "$(grep -c 'reload failed' "$L")" -eq 1 ] || fail "more than one error line"
kill -0 "$OPID" || fatal "daemon died on a broken config"
[ "$(worker_of "$OPID")" = "$W1" ] || fail "worker replaced on a broken config"
$NETTOOL xfer 127.0.0.1 "$P" 10000 2 >/dev/null || fail "old config stopped serving"

# Broken: bad value.
echo "{\"ServeNodes\": [\"tcp://127.0.0.1:70000/127.0.0.1:$E\"]}" >"$cfg"
kill -HUP "$OPID"
wait_log "$L" 'bad port "70000"' 5 || fail "bad port: no error naming it"
assert_serving "tcp://127.0.0.1:$P"

# A long-lived connection through the old generation.
python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $P))
time.sleep(1.5)
s.sendall(b'still here')
s.shutdown(socket.SHUT_WR)
d = b''
while True:
    b = s.recv(100)
    if not b: break
    d += b
assert d == b'still here', d
print('drained ok')
" >"$LOGDIR/drain.out" 2>&1 &
DPID=$!
# the old worker has taken it (and dialed the echo server)
wait_until 5 established "$E" || fail "no connection through the old generation"

# Valid: the old listener stays, a new one appears.
echo "{\"ServeNodes\": [\"tcp://127.0.0.1:$P/127.0.0.1:$E\", \"tcp://127.0.0.1:$P2/127.0.0.1:$E\"]}" >"$cfg"
kill -HUP "$OPID"
wait_log "$L" 'configuration reloaded (generation 2)' 5 || fail "valid config not loaded"
wait_port "$P2" || fail "new listener missing"
$NETTOOL xfer 127.0.0.1 "$P" 10000 2 >/dev/null || fail "old port after reload"
$NETTOOL xfer 127.0.0.1 "$P2" 10000 2 >/dev/null || fail "new port after reload"
wait "$DPID" || fail "connection of the old generation was cut: $(cat "$LOGDIR/drain.out")"
# The old worker exits once its connection is done.
wait_gone "$W1" || fail "old worker still running after draining"
[ "$(pgrep -P "$OPID" | wc -l)" -eq 1 ] || fail "not exactly one worker after the reload"
kill "$OPID"
finish
