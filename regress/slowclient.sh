# Slow clients holding half a request: the proxy closes them when the
# handshake time (10 s) is up, memory stays bounded meanwhile, and other
# clients are served throughout.
. regress/lib.sh

E=$(free_port); A=$(free_port)
start_echo "$E"
start_ostpd slow -L "127.0.0.1:$A"
wait_port "$A" || fatal "no listener"
W=$(worker_of "$OPID")
rss0=$(status_field "$W" VmRSS)
python3 - "$A" "$E" <<'PY' >"$LOGDIR/slow.out" 2>&1 || fail "slow clients: $(cat "$LOGDIR/slow.out")"
import socket, sys, time
port, echo = int(sys.argv[1]), int(sys.argv[2])
held = []
partial = [b"\x05", b"\x05\x01\x00\x05\x01", b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: x",
           b"\x04\x01\x00\x50\x7f\x00\x00\x01us", b"CONNECT 127.0.0.1:80 HTTP/1.1\r\n"]
for i in range(300):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(partial[i % len(partial)])
    held.append(s)
time.sleep(1)
# a normal client still gets through while they hang
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"\x05\x01\x00")
assert c.recv(2) == b"\x05\x00"
c.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + echo.to_bytes(2, "big"))
assert c.recv(10)[1] == 0
c.sendall(b"ping")
assert c.recv(4) == b"ping"
c.close()
# after the handshake time every slow client is closed by the proxy
deadline = time.time() + 15
for s in held:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        while s.recv(4096):
            pass
    except socket.timeout:
        raise SystemExit("a slow client was not timed out")
    except OSError:
        pass
print("ok")
PY
rss1=$(status_field "$W" VmRSS)
echo "worker RSS $rss0 -> $rss1 kB" >"$LOGDIR/rss.out"
# 300 half-requests: a few hundred kB at most, never megabytes per client
[ $((rss1 - rss0)) -lt 8192 ] || fail "memory grew from $rss0 to $rss1 kB"
[ "$(worker_of "$OPID")" = "$W" ] || fail "the worker was replaced"
assert_serving "socks5://127.0.0.1:$A" "tcp://127.0.0.1:$E"
kill "$OPID"

# A relay whose one side has finished and whose other side stays silent
# is closed after the half-idle time (60 s; 2 s in this test build),
# through the splice relay (tcp://) and the copying one (ss://).
Q=$(free_port); F=$(free_port); S=$(free_port); C=$(free_port); T5=$(free_port)
DEAD=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); held = []
while True:
    c, _ = s.accept(); held.append(c)' "$Q" >"$LOGDIR/silent.log" 2>&1 &
PIDS="$PIDS $!"
OSTP_HALF_IDLE=2 "$OSTPD_T" -D -L "tcp://127.0.0.1:$F/127.0.0.1:$Q" \
    -L "ss://aes-128-gcm:hi@127.0.0.1:$S" -L "socks5://127.0.0.1:$T5" \
    >"$LOGDIR/half.log" 2>&1 &
PIDS="$PIDS $!"
start_ostpd halfc -L "socks5://127.0.0.1:$C" -F "ss://aes-128-gcm:hi@127.0.0.1:$S"
wait_port "$F" && wait_port "$S" && wait_port "$C" && wait_port "$T5" ||
    fatal "half-idle setup"
python3 - "$F" "$C" "$Q" "$T5" "$DEAD" <<'PY' >"$LOGDIR/halfidle.out" 2>&1 || fail "half-closed relays: $(cat "$LOGDIR/halfidle.out")"
import os, socket, ssl, sys, time
f, c, q, t5, dead = (int(a) for a in sys.argv[1:6])
def wait_closed(s, limit):
    s.settimeout(limit)
    t = time.time()
    try:
        while s.recv(100):
            pass
    except socket.timeout:
        raise AssertionError("still open after %d s" % limit)
    except ConnectionResetError:
        pass			# closed as well
    return time.time() - t
s = socket.create_connection(("127.0.0.1", f), 5)
s.sendall(b"request")
s.shutdown(socket.SHUT_WR)
print("tcp:// closed after %.1f s" % wait_closed(s, 10))
s = socket.create_connection(("127.0.0.1", c), 5)
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + q.to_bytes(2, "big"))
assert s.recv(10)[1] == 0
s.sendall(b"request")
s.shutdown(socket.SHUT_WR)
print("ss:// closed after %.1f s" % wait_closed(s, 12))
# inside gost's TLS method: the server's side ends (a refused CONNECT),
# close_notify comes, and a client that never ends its side is still
# closed after the half-idle time
s = socket.create_connection(("127.0.0.1", t5), 5)
s.sendall(b"\x05\x01\x80")
assert s.recv(2) == b"\x05\x80"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
t.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + dead.to_bytes(2, "big"))
assert t.recv(10)[1] != 0
try:
    assert t.recv(10) == b""	# close_notify
except ssl.SSLEOFError:
    pass
raw = socket.socket(fileno=os.dup(t.fileno()))
print("TLS bridge closed after %.1f s" % wait_closed(raw, 12))
PY
assert_serving "socks5://127.0.0.1:$C" "tcp://127.0.0.1:$E"
assert_serving "socks5://127.0.0.1:$T5" "tcp://127.0.0.1:$E"
finish
