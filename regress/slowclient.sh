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
kill "$OPID"
finish
