# relay://: gost's relay protocol, server and chain hop: TCP with and
# without a password, a fixed target, UDP mode (udp:// through a relay
# hop), the status codes, and byte-exact requests from an independent
# client (python, from spec/gost.md 2.4).
. regress/lib.sh

W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 2000000)
echo "through the relay" >"$W/hello.txt"
H=$(free_port); UE=$(free_port); E=$(free_port)
start_web http "$W" "$H"
start_udpecho "$UE"
start_echo "$E"

R=$(free_port); RA=$(free_port); RF=$(free_port)
start_ostpd srv -D -L "relay://127.0.0.1:$R"
start_ostpd srva -D -L "relay://alice:wonder@127.0.0.1:$RA"
start_ostpd srvf -D -L "relay://127.0.0.1:$RF/127.0.0.1:$E"
for p in $R $RA $RF; do wait_port "$p" || fatal "relay server $p"; done

get() {	# get SOCKSPORT
	curl -sS --max-time 20 --socks5-hostname "127.0.0.1:$1" \
	    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1
}
C1=$(free_port); C2=$(free_port); C3=$(free_port); U=$(free_port)
start_ostpd c1 -L "socks5://127.0.0.1:$C1" -L "udp://127.0.0.1:$U/127.0.0.1:$UE" \
    -F "relay://127.0.0.1:$R"
start_ostpd c2 -L "socks5://127.0.0.1:$C2" -F "relay://alice:wonder@127.0.0.1:$RA"
start_ostpd c3 -L "socks5://127.0.0.1:$C3" -F "relay://alice:wrong@127.0.0.1:$RA"
for p in $C1 $C2 $C3; do wait_port "$p" || fatal "client $p"; done
[ "$(get "$C1")" = "$want" ] || fail "socks5 -> relay hop"
[ "$(get "$C2")" = "$want" ] || fail "relay hop with a password"
curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$C3" "http://localhost:$H/blob" \
    >/dev/null 2>"$LOGDIR/c3.err" && fail "a wrong relay password was accepted"
grep -q "authentication failed" "$LOGDIR/srva.log" || fail "no log line for the wrong password"
assert_serving "socks5h://127.0.0.1:$C2" "http://localhost:$H/hello.txt"
n=$($NETTOOL udpcheck 127.0.0.1 "$U" 10)
[ "$n" = 10 ] || fail "udp:// through a relay hop: $n of 10"
grep -q "udp to 127.0.0.1:$UE" "$LOGDIR/srv.log" || fail "the server did not see UDP mode"

# An independent client: v2 requests built from the spec's layout.
/usr/bin/python3 - "$R" "$RF" "$E" "$UE" <<'PY' >"$LOGDIR/raw.out" 2>&1 || fail "raw relay: $(cat "$LOGDIR/raw.out")"
import socket, struct, sys
r, rf, echo, uecho = (int(a) for a in sys.argv[1:5])
def addr(host, port):
    return b"\x01" + socket.inet_aton(host) + struct.pack(">H", port)
def feat(t, d):
    return bytes([t]) + struct.pack(">H", len(d)) + d
def req(cmd, feats):
    f = b"".join(feats)
    return bytes([1, cmd]) + struct.pack(">H", len(f)) + f
def recvn(s, n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        assert x, "closed"
        b += x
    return b
def resp(s):
    h = recvn(s, 4)
    assert h[0] == 1, h
    recvn(s, struct.unpack(">H", h[2:4])[0])
    return h[1]
# TCP to the echo server, the request with the first data (v2 style)
s = socket.create_connection(("127.0.0.1", r), 5)
s.sendall(req(0, [feat(2, addr("127.0.0.1", echo))]) + b"hello relay")
assert resp(s) == 0
assert recvn(s, 11) == b"hello relay"
s.close()
# fixed target: it takes the connection whatever the Addr names (gost
# answers Forbidden, which no chain client could use), and without one
d = socket.socket(); d.bind(("127.0.0.1", 0)); dead = d.getsockname()[1]; d.close()
s = socket.create_connection(("127.0.0.1", rf), 5)
s.sendall(req(0, [feat(2, addr("127.0.0.1", dead))]) + b"named")
assert resp(s) == 0 and recvn(s, 5) == b"named"
s = socket.create_connection(("127.0.0.1", rf), 5)
s.sendall(req(0, []) + b"fixed")
assert resp(s) == 0 and recvn(s, 5) == b"fixed"
# no Addr and no fixed target: BadRequest; bad version: closed
s = socket.create_connection(("127.0.0.1", r), 5)
s.sendall(req(0, []))
assert resp(s) == 1
s = socket.create_connection(("127.0.0.1", r), 5)
s.sendall(b"\x02\x00\x00\x00")
s.settimeout(5)
assert s.recv(100)[:2] in (b"", b"\x01\x01")
# UDP mode (0x80): LEN DATA both ways, an empty datagram ignored
s = socket.create_connection(("127.0.0.1", r), 5)
s.sendall(req(0x80, [feat(2, addr("127.0.0.1", uecho))]) + b"\x00\x00")
assert resp(s) == 0
for m in (b"one", b"two" * 100):
    s.sendall(struct.pack(">H", len(m)) + m)
    n = struct.unpack(">H", recvn(s, 2))[0]
    assert recvn(s, n) == m
# a dead target: ServiceUnavailable or HostUnreachable
s = socket.create_connection(("127.0.0.1", r), 5)
d = socket.socket(); d.bind(("127.0.0.1", 0)); dead = d.getsockname()[1]; d.close()
s.sendall(req(0, [feat(2, addr("127.0.0.1", dead))]))
assert resp(s) in (5, 6)
print("ok")
PY
assert_serving "socks5h://127.0.0.1:$C1" "http://localhost:$H/hello.txt"
assert_serving "socks5h://127.0.0.1:$C2" "http://localhost:$H/hello.txt"

# ostpd's own client to the fixed-target server: a SOCKS5 listener and a
# TCP forward (its target is the server's business), both to the echo
C4=$(free_port); T4=$(free_port)
start_ostpd c4 -L "socks5://127.0.0.1:$C4" -L "tcp://127.0.0.1:$T4/127.0.0.1:1" \
    -F "relay://127.0.0.1:$RF"
wait_port "$C4" || fatal "client c4"
assert_serving "socks5://127.0.0.1:$C4" "tcp://127.0.0.1:$E"
assert_serving "tcp://127.0.0.1:$T4"
grep -q "fixed target; the client's 127.0.0.1:1 is not used" "$LOGDIR/srvf.log" ||
    fail "the fixed-target server did not say it used its own target"

finish
