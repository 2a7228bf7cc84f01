# Multiplexed transports (mtls, mws, mwss): smux sessions under every
# protocol, one session per node address reused by every dial (100
# streams at once on one session), a session that dies fails every
# stream on it and the next dial opens another, and smux garbage from a
# peer ends only that peer's session.
. regress/lib.sh

E=$(free_port); MT=$(free_port); MW=$(free_port); MWS=$(free_port); HM=$(free_port)
start_echo "$E"
start_ostpd srv -D -L "socks5+mws://127.0.0.1:$MW" -L "relay+mtls://127.0.0.1:$MT" \
    -L "ss+mwss://aes-128-gcm:pw@127.0.0.1:$MWS?path=/m" -L "http+mtls://127.0.0.1:$HM"
SRV=$OPID
for p in $MT $MW $MWS $HM; do wait_port "$p" || fatal "listener $p"; done

# 1. each protocol over each multiplexed transport, byte-exact
i=0
for hop in "socks5+mws://127.0.0.1:$MW" "relay+mtls://127.0.0.1:$MT" \
    "ss+mwss://aes-128-gcm:pw@127.0.0.1:$MWS?path=/m" "http+mtls://127.0.0.1:$HM"; do
	i=$((i + 1)); F=$(free_port)
	start_ostpd "c$i" -D -L "tcp://127.0.0.1:$F/127.0.0.1:$E" -F "$hop"
	wait_port "$F" || fatal "c$i"
	$NETTOOL xfer 127.0.0.1 "$F" 3000000 6 >"$LOGDIR/x$i.out" 2>&1 ||
	    fail "over $hop: $(cat "$LOGDIR/x$i.out")"
	eval "F$i=$F; PID$i=$OPID"
done

# 2. 100 streams at once on one session: one TCP connection to the hop
$NETTOOL xfer 127.0.0.1 "$F2" 300000 100 >"$LOGDIR/x100.out" 2>&1 ||
    fail "100 streams at once: $(cat "$LOGDIR/x100.out")"
[ "$(grep -c "a new session" "$LOGDIR/c2.log")" -eq 1 ] ||
    fail "more than one session for one node: $(grep -c "a new session" "$LOGDIR/c2.log")"

# 3. the session dies (the hop restarts): every stream on it fails at
# once, and the next dial opens a new session
$NETTOOL hold 127.0.0.1 "$F2" 20 20 "$LOGDIR/held" watch >"$LOGDIR/hold.out" 2>&1 &
HOLD=$!
wait_until 10 test -s "$LOGDIR/held" || fatal "20 streams: $(cat "$LOGDIR/hold.out")"
kill "$SRV"
wait_gone "$SRV" || fatal "the hop did not stop"
wait "$HOLD" || fail "streams outlived their session: $(cat "$LOGDIR/hold.out")"
start_ostpd srv2 -D -L "relay+mtls://127.0.0.1:$MT"
wait_port "$MT" || fatal "the hop did not come back"
$NETTOOL xfer 127.0.0.1 "$F2" 100000 4 >"$LOGDIR/xr.out" 2>&1 ||
    fail "after the session died: $(cat "$LOGDIR/xr.out")"
[ "$(grep -c "a new session" "$LOGDIR/c2.log")" -eq 2 ] || fail "no new session"

# 4. smux garbage: a frame for an unknown stream is ignored, a wrong
# version ends that session only; the server serves on
/usr/bin/python3 - "$MT" "$E" <<'PY' >"$LOGDIR/garbage.out" 2>&1 || fail "smux garbage: $(tail -n 3 "$LOGDIR/garbage.out")"
import socket, ssl, struct, sys
port, eport = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def frame(cmd, sid, data=b"", ver=1):
    return struct.pack("<BBHI", ver, cmd, len(data), sid) + data
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
s.sendall(frame(2, 99, b"for nobody") + frame(1, 77))  # PSH, FIN: unknown
s.sendall(frame(0, 3))                                 # SYN 3
# relay v1 CONNECT to the echo server on stream 3
addr = bytes([1]) + socket.inet_aton("127.0.0.1") + struct.pack(">H", eport)
feat = bytes([2]) + struct.pack(">H", len(addr)) + addr
req = bytes([1, 1]) + struct.pack(">H", len(feat)) + feat
s.sendall(frame(2, 3, req + b"ping"))
got = b""
while b"ping" not in got:
    h = s.recv(8)
    if len(h) < 8:
        sys.exit("session closed: %r" % got)
    ver, cmd, n, sid = struct.unpack("<BBHI", h)
    d = b""
    while len(d) < n:
        d += s.recv(n - len(d))
    if cmd == 2 and sid == 3:
        got += d
s.sendall(frame(2, 3, b"x", ver=7))                  # wrong version
s.settimeout(10)
while True:
    d = s.recv(4096)
    if not d:
        break
print("unknown streams ignored, a wrong version closed the session")
PY
$NETTOOL xfer 127.0.0.1 "$F2" 100000 2 >/dev/null 2>&1 || fail "the hop stopped serving after smux garbage"

finish
