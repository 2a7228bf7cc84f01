# Proxy listeners with real clients: curl through socks5, socks5h,
# socks4, socks4a and http proxies (auth, IPv6, HTTPS through CONNECT,
# plain HTTP to two hosts), proxychains4; live reload of a secrets file;
# failure paths answer with the right code and the daemon keeps serving.
. regress/lib.sh

W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 300000)
echo "hello from the origin" >"$W/hello.txt"
H=$(free_port); H6=$(free_port); S=$(free_port); D=$(free_port); DEAD=$(free_port)
start_web http "$W" "$H"
start_web http6 "$W" "$H6" ::1
make_cert "$LOGDIR/key.pem" "$LOGDIR/cert.pem" localhost
openssl s_server -quiet -accept "127.0.0.1:$S" -cert "$LOGDIR/cert.pem" -key "$LOGDIR/key.pem" -www \
	>"$LOGDIR/tls.log" 2>&1 &
PIDS="$PIDS $!"
$NETTOOL dns 127.0.0.1 "$D" >"$LOGDIR/dns.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$S" || fatal "tls server"
WEB_URL=http://127.0.0.1:$H/hello.txt

dnsf=$LOGDIR/resolver
DEADU=$(free_port)
printf 'reload 1s\ntimeout 1s\nnameserver 127.0.0.1:%s\n' "$DEADU" >"$dnsf"
sec=$LOGDIR/secrets
printf 'reload 1s\n# user password\nalice wonderland\n' >"$sec"
A=$(free_port); P5=$(free_port); PH=$(free_port); P4=$(free_port); PB=$(free_port); PR=$(free_port)
start_ostpd proxy -L "127.0.0.1:$A?dns=127.0.0.1:$D" \
	-L "socks5://bob:builder@127.0.0.1:$P5" \
	-L "http://127.0.0.1:$PH?secrets=$sec&proxyAgent=test-agent/1" \
	-L "socks4://127.0.0.1:$P4" \
	-L "127.0.0.1:$PB?bypass=127.0.0.0/8&dns=127.0.0.1:$D" \
	-L "127.0.0.1:$PR?dns=$dnsf"
wait_port "$A" && wait_port "$PH" || fatal "no listener"
MAIN=$OPID
L=$LOGDIR/proxy.log

get() {	# get PROXY URL [curl args]: prints the body's sha256
	_x=$1; _u=$2; shift 2
	curl -sS --max-time 10 -x "$_x" "$@" "$_u" | sha256sum | cut -d' ' -f1
}
[ "$(get socks5://127.0.0.1:$A http://127.0.0.1:$H/blob)" = "$want" ] || fail "socks5"
[ "$(get socks5h://127.0.0.1:$A http://localhost:$H/blob)" = "$want" ] || fail "socks5h (name via /etc/hosts)"
[ "$(get socks5h://127.0.0.1:$A http://www.test:$H/blob)" = "$want" ] || fail "socks5h (name via dns=)"
[ "$(get socks4://127.0.0.1:$A http://127.0.0.1:$H/blob)" = "$want" ] || fail "socks4 on auto"
[ "$(get socks4a://127.0.0.1:$A http://localhost:$H/blob)" = "$want" ] || fail "socks4a on auto"
[ "$(get socks4://127.0.0.1:$P4 http://127.0.0.1:$H/blob)" = "$want" ] || fail "socks4://"
# the 4a form (a name for the proxy to resolve) on socks4:// as in gost
[ "$(get socks4a://127.0.0.1:$P4 http://localhost:$H/blob)" = "$want" ] || fail "socks4a on socks4://"
[ "$(get http://127.0.0.1:$A http://127.0.0.1:$H/blob)" = "$want" ] || fail "http plain on auto"
[ "$(get socks5h://127.0.0.1:$A "http://[::1]:$H6/blob")" = "$want" ] || fail "socks5 to an IPv6 target"
[ "$(get http://127.0.0.1:$A "http://[::1]:$H6/blob" -p)" = "$want" ] || fail "http CONNECT to an IPv6 target"
[ "$(get socks5://bob:builder@127.0.0.1:$P5 http://127.0.0.1:$H/blob)" = "$want" ] || fail "socks5 with password"
[ "$(get http://alice:wonderland@127.0.0.1:$PH http://127.0.0.1:$H/blob)" = "$want" ] || fail "http with secrets"

# HTTPS through CONNECT, to a real TLS server.
out=$(curl -sS --max-time 10 -k -x "http://127.0.0.1:$A" "https://127.0.0.1:$S/")
echo "$out" | grep -q 's_server' || fail "https through CONNECT: $out"
out=$(curl -sS --max-time 10 -k -x "socks5h://127.0.0.1:$A" "https://localhost:$S/")
echo "$out" | grep -q 's_server' || fail "https through socks5h"

# Plain HTTP, keep-alive from the client, two hosts: each answer from its host.
out=$(curl -sS --max-time 10 -x "http://127.0.0.1:$A" "http://127.0.0.1:$H/hello.txt" "http://[::1]:$H6/hello.txt")
[ "$(echo "$out" | grep -c 'hello from the origin')" -eq 2 ] || fail "two hosts through one http proxy: $out"
[ "$(grep -c 'GET /hello.txt' "$LOGDIR/http.log")" -ge 1 ] && [ "$(grep -c 'GET /hello.txt' "$LOGDIR/http6.log")" -ge 1 ] ||
	fail "requests did not reach both hosts"
# ... on one client connection: curl reuses it for the second host and
# for a large body and a POST after it (the proxy re-dials per host).
curl -sSv --max-time 20 -x "http://127.0.0.1:$A" "http://127.0.0.1:$H/hello.txt" \
    "http://[::1]:$H6/blob" -o /dev/null -o "$LOGDIR/ka-blob" \
    --next -x "http://127.0.0.1:$A" -d "posted=1" "http://127.0.0.1:$H/hello.txt" \
    >"$LOGDIR/ka.out" 2>"$LOGDIR/ka.err"
[ "$(sha256sum <"$LOGDIR/ka-blob" | cut -d' ' -f1)" = "$want" ] || fail "keep-alive: blob after a switch of host"
[ "$(grep -c 'Re-using existing connection' "$LOGDIR/ka.err")" -ge 2 ] ||
	fail "the client connection was not kept: $(grep -i 'connect\|re-us' "$LOGDIR/ka.err" | head -5)"
grep -q 'POST /hello.txt' "$LOGDIR/http.log" || fail "keep-alive: the POST after two GETs"
# The origin sees origin-form requests without Proxy-* headers.
grep -q '"GET http://' "$LOGDIR/http.log" && fail "absolute URI reached the origin"

# Authentication failures.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://127.0.0.1:$PH" "http://127.0.0.1:$H/hello.txt")
[ "$code" = 407 ] || fail "no credentials: $code, want 407"
hdr=$(curl -s -D - -o /dev/null --max-time 5 -x "http://127.0.0.1:$PH" "http://127.0.0.1:$H/hello.txt")
echo "$hdr" | grep -qi '^Proxy-Authenticate: Basic' || fail "407 without Proxy-Authenticate"
echo "$hdr" | grep -qi '^Proxy-Agent: test-agent/1' || fail "proxyAgent= not used"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://alice:wrong@127.0.0.1:$PH" "http://127.0.0.1:$H/hello.txt")
[ "$code" = 407 ] || fail "wrong password: $code, want 407"
curl -s --max-time 5 -x "socks5://bob:wrong@127.0.0.1:$P5" "http://127.0.0.1:$H/hello.txt" >/dev/null 2>&1
[ $? -eq 97 ] || fail "socks5 wrong password accepted"
curl -s --max-time 5 -x "socks4://127.0.0.1:$P5" "http://127.0.0.1:$H/hello.txt" >/dev/null 2>&1 &&
	fail "socks4 accepted on a socks5 listener"
assert_serving "http://alice:wonderland@127.0.0.1:$PH"
assert_serving "socks5://bob:builder@127.0.0.1:$P5"

# Live reload of the secrets file: who may authenticate changes.
printf 'reload 1s\ncarol secret2\n' | live_write "$sec" "$L" ||
    fail "secrets not reloaded"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://alice:wonderland@127.0.0.1:$PH" "http://127.0.0.1:$H/hello.txt")
[ "$code" = 407 ] || fail "removed user still accepted ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://carol:secret2@127.0.0.1:$PH" "http://127.0.0.1:$H/hello.txt")
[ "$code" = 200 ] || fail "new user refused ($code)"
# A broken secrets file keeps the old secrets.
printf 'reload soon\n' | live_write "$sec" "$L"
grep -q "reload failed: $sec:1:" "$L" || fail "broken secrets: no error"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://carol:secret2@127.0.0.1:$PH" "http://127.0.0.1:$H/hello.txt")
[ "$code" = 200 ] || fail "broken reload dropped the secrets ($code)"

# A resolver file (dns=/path) is live too: from a dead nameserver to ours.
curl -sS --max-time 10 -x "socks5h://127.0.0.1:$PR" "http://www.test:$H/hello.txt" >"$LOGDIR/r1" 2>&1 &&
	fail "resolved through a dead nameserver"
printf 'reload 1s\ntimeout 1s\nnameserver 127.0.0.1:%s\n' "$D" |
    live_write "$dnsf" "$L" || fail "resolver file not reloaded"
out=$(curl -sS --max-time 10 -x "socks5h://127.0.0.1:$PR" "http://www.test:$H/hello.txt" 2>&1)
[ "$out" = "hello from the origin" ] || fail "resolver file change not used: $out"

# Probe resistance: a failed authentication looks like a web server.
R1=$(free_port); R2=$(free_port); R3=$(free_port); R4=$(free_port)
start_ostpd probe -L "http://u:p@127.0.0.1:$R1?probe_resist=code:404&knock=knock.example" \
	-L "http://u:p@127.0.0.1:$R2?probe_resist=file:$W/hello.txt" \
	-L "http://u:p@127.0.0.1:$R3?probe_resist=host:127.0.0.1:$H" \
	-L "http://u:p@127.0.0.1:$R4?probe_resist=web:127.0.0.1:$H/hello.txt"
PPID2=$OPID
wait_port "$R4" || fatal "probe listeners"
hdr=$(curl -s -D - -o /dev/null --max-time 5 -x "http://127.0.0.1:$R1" "http://127.0.0.1:$H/hello.txt")
echo "$hdr" | head -n 1 | grep -q ' 404' || fail "probe code:404: $hdr"
echo "$hdr" | grep -qi '^Server: nginx' || fail "probe answer without nginx Server header"
echo "$hdr" | grep -qi 'Proxy-Authenticate' && fail "probe answer reveals the proxy"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://127.0.0.1:$R1" "http://knock.example/")
[ "$code" = 407 ] || fail "knock host: $code, want 407"
[ "$(curl -sS --max-time 5 -x "http://u:p@127.0.0.1:$R1" "http://127.0.0.1:$H/hello.txt")" = "hello from the origin" ] ||
	fail "probe listener refuses its real users"
out=$(curl -s --max-time 5 -x "http://127.0.0.1:$R2" "http://127.0.0.1:$H/x")
[ "$out" = "hello from the origin" ] || fail "probe file: $out"
hdr=$(curl -s -D - -o /dev/null --max-time 5 -x "http://127.0.0.1:$R3" "http://127.0.0.1:$H/hello.txt")
echo "$hdr" | grep -qi '^Server: SimpleHTTP' || fail "probe host: not answered by the web host: $hdr"
out=$(curl -s --max-time 5 -x "http://127.0.0.1:$R4" "http://127.0.0.1:$H/other")
[ "$out" = "hello from the origin" ] || fail "probe web: $out"
assert_serving "http://u:p@127.0.0.1:$R4"
kill "$PPID2"

# Failure paths: refused port, DNS failure, bypass.
curl -sS --max-time 5 -x "socks5://127.0.0.1:$A" "http://127.0.0.1:$DEAD/" >"$LOGDIR/c1" 2>&1
grep -q '(5)\|refused' "$LOGDIR/c1" || fail "refused target: $(cat "$LOGDIR/c1")"
code=$(curl -s -o /dev/null -w '%{http_connect}' --max-time 5 -p -x "http://127.0.0.1:$A" "http://127.0.0.1:$DEAD/")
[ "$code" = 502 ] || fail "refused target over http CONNECT: $code, want 502"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://127.0.0.1:$A" "http://127.0.0.1:$DEAD/")
[ "$code" = 502 ] || fail "refused target over plain http: $code, want 502"
curl -sS --max-time 10 -x "socks5h://127.0.0.1:$A" "http://nosuch.invalid:$H/" >"$LOGDIR/c2" 2>&1
grep -q '(4)\|unreachable' "$LOGDIR/c2" || fail "DNS failure: $(cat "$LOGDIR/c2")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "http://127.0.0.1:$A" "http://nosuch.invalid/")
[ "$code" = 502 ] || fail "DNS failure over http: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "http://127.0.0.1:$PB" "http://127.0.0.1:$H/hello.txt")
[ "$code" = 403 ] || fail "bypassed target over http: $code, want 403"
curl -sS --max-time 5 -x "socks5://127.0.0.1:$PB" "http://127.0.0.1:$H/hello.txt" >"$LOGDIR/c3" 2>&1
grep -q '(2)\|not allowed' "$LOGDIR/c3" || fail "bypassed target over socks5: $(cat "$LOGDIR/c3")"
assert_serving "socks5://127.0.0.1:$A"
assert_serving "http://127.0.0.1:$A"
assert_serving "socks5://127.0.0.1:$PB" "http://[::1]:$H6/hello.txt"

# SOCKS5 UDP ASSOCIATE with a standard client (python3-socks).
U=$(free_port)
start_udpecho "$U"
/usr/bin/python3 - "$A" "$U" "$P5" <<'PY' >"$LOGDIR/udp.out" 2>&1 || fail "UDP ASSOCIATE: $(cat "$LOGDIR/udp.out")"
import socket, sys, socks
proxy, echo, authport = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
s.set_proxy(socks.SOCKS5, "127.0.0.1", proxy)
s.settimeout(5)
for i in range(20):
    msg = b"datagram %d " % i + bytes(range(256)) * (i + 1)
    s.sendto(msg, ("127.0.0.1", echo))
    data, src = s.recvfrom(65535)
    assert data == msg and src == ("127.0.0.1", echo), (i, src)
s.close()
# with username/password on the socks5 listener
s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
s.set_proxy(socks.SOCKS5, "127.0.0.1", authport, username="bob", password="builder")
s.settimeout(5)
s.sendto(b"authed", ("127.0.0.1", echo))
assert s.recvfrom(100)[0] == b"authed"
print("ok")
PY

# SOCKS5 BIND: the proxy listens, the peer connects, the two are relayed.
python3 - "$A" <<'PY' >"$LOGDIR/bind.out" 2>&1 || fail "BIND: $(cat "$LOGDIR/bind.out")"
import socket, sys
proxy = int(sys.argv[1])
def recvn(s, n):
    d = b""
    while len(d) < n:
        b = s.recv(n - len(d))
        assert b, "closed"
        d += b
    return d
c = socket.create_connection(("127.0.0.1", proxy), timeout=10)
c.sendall(b"\x05\x01\x00")
assert recvn(c, 2) == b"\x05\x00"
c.sendall(b"\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x00")
r1 = recvn(c, 10)
assert r1[1] == 0 and r1[3] == 1, r1
port = int.from_bytes(r1[8:10], "big")
p = socket.create_connection(("127.0.0.1", port), timeout=10)
r2 = recvn(c, 10)
assert r2[1] == 0 and r2[4:8] == socket.inet_aton("127.0.0.1"), r2
assert int.from_bytes(r2[8:10], "big") == p.getsockname()[1]
p.sendall(b"from the peer")
assert recvn(c, 13) == b"from the peer"
c.sendall(b"from the client")
assert recvn(p, 15) == b"from the client"
print("ok")
PY

# gost's SOCKS5 TLS methods: 0x80 (then the request inside TLS), 0x82
# (RFC 1929 inside TLS); notls=true answers plain methods only.
E2=$(free_port); NT=$(free_port)
start_echo "$E2"
start_ostpd notls -L "socks5://127.0.0.1:$NT?notls=true"
wait_port "$NT" || fatal "notls listener"
/usr/bin/python3 - "$A" "$P5" "$NT" "$E2" <<'PY' >"$LOGDIR/tls.out" 2>&1 || fail "SOCKS5 TLS methods: $(cat "$LOGDIR/tls.out")"
import socket, ssl, sys
a, p5, nt, echo = (int(x) for x in sys.argv[1:5])
def recvn(s, n):
    d = b""
    while len(d) < n:
        x = s.recv(n - len(d))
        assert x, "closed"
        d += x
    return d
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE	# gost's client does not verify either
req = b"\x05\x01\x00\x01\x7f\x00\x00\x01" + echo.to_bytes(2, "big")
s = socket.create_connection(("127.0.0.1", a), 5)
s.sendall(b"\x05\x02\x00\x80")
assert recvn(s, 2) == b"\x05\x80"
t = ctx.wrap_socket(s)
t.sendall(req)
assert recvn(t, 10)[1] == 0
t.sendall(b"inside tls")
assert recvn(t, 10) == b"inside tls"
s = socket.create_connection(("127.0.0.1", p5), 5)
s.sendall(b"\x05\x03\x00\x02\x80")
assert recvn(s, 2) == b"\x05\x82"
t = ctx.wrap_socket(s)
t.sendall(b"\x01\x03bob\x07builder")
assert recvn(t, 2) == b"\x01\x00"
t.sendall(req)
assert recvn(t, 10)[1] == 0
t.sendall(b"z" * 200000)
assert recvn(t, 200000) == b"z" * 200000
s = socket.create_connection(("127.0.0.1", nt), 5)
s.sendall(b"\x05\x02\x00\x80")
assert recvn(s, 2) == b"\x05\x00"
print("ok")
PY

# SOCKS4 BIND: the same with SOCKS4 replies (VN 0, 0x5A, port, address).
python3 - "$A" <<'PY' >"$LOGDIR/bind4.out" 2>&1 || fail "SOCKS4 BIND: $(cat "$LOGDIR/bind4.out")"
import socket, struct, sys
proxy = int(sys.argv[1])
def recvn(s, n):
    d = b""
    while len(d) < n:
        b = s.recv(n - len(d))
        assert b, "closed"
        d += b
    return d
c = socket.create_connection(("127.0.0.1", proxy), timeout=10)
c.sendall(b"\x04\x02\x00\x00" + socket.inet_aton("127.0.0.1") + b"user\x00")
r1 = recvn(c, 8)
assert r1[0] == 0 and r1[1] == 0x5a, r1
port = struct.unpack(">H", r1[2:4])[0]
assert port != 0 and r1[4:8] == socket.inet_aton("127.0.0.1"), r1
p = socket.create_connection(("127.0.0.1", port), timeout=10)
r2 = recvn(c, 8)
assert r2[1] == 0x5a and struct.unpack(">H", r2[2:4])[0] == p.getsockname()[1], r2
p.sendall(b"peer4")
assert recvn(c, 5) == b"peer4"
c.sendall(b"client4")
assert recvn(p, 7) == b"client4"
print("ok")
PY

# gost's UDP-over-TCP (CMD 0xF3): datagrams framed on the connection.
python3 - "$A" "$U" <<'PY' >"$LOGDIR/udptun.out" 2>&1 || fail "UDP-over-TCP: $(cat "$LOGDIR/udptun.out")"
import socket, struct, sys
proxy, echo = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", proxy), timeout=5)
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\xf3\x00\x01\x00\x00\x00\x00\x00\x00")
rep = b""
while len(rep) < 10:
    rep += s.recv(10 - len(rep))
assert rep[1] == 0, rep
def recvn(n):
    d = b""
    while len(d) < n:
        b = s.recv(n - len(d))
        assert b, "closed"
        d += b
    return d
for i in range(10):
    data = b"tun %d " % i + bytes(range(256)) * (i + 1)
    s.sendall(struct.pack(">HB", len(data), 0) + b"\x01" + socket.inet_aton("127.0.0.1") +
              struct.pack(">H", echo) + data)
    h = recvn(10)
    dlen = struct.unpack(">H", h[:2])[0]
    assert h[3] == 1 and h[4:8] == socket.inet_aton("127.0.0.1"), h
    assert struct.unpack(">H", h[8:10])[0] == echo
    assert recvn(dlen) == data
# a zero-length frame is a protocol error: the association ends
s.sendall(b"\x00\x00\x00\x01\x7f\x00\x00\x01\x00\x35")
assert s.recv(10) == b""
print("ok")
PY

# proxychains4 in front of an unmodified program.
cat >"$LOGDIR/pc.conf" <<PC
strict_chain
quiet_mode
proxy_dns
[ProxyList]
socks5 127.0.0.1 $P5 bob builder
PC
out=$(proxychains4 -f "$LOGDIR/pc.conf" curl -sS --max-time 10 "http://127.0.0.1:$H/hello.txt" 2>&1)
echo "$out" | grep -q 'hello from the origin' || fail "proxychains4: $out"

# Bad input: garbage, truncated and oversized requests; the daemon serves on.
python3 - "$A" <<'PY' >"$LOGDIR/bad.out" 2>&1 || fail "bad input: $(cat "$LOGDIR/bad.out")"
import socket, sys
port = int(sys.argv[1])
def conv(data, expect=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    got = b""
    # The proxy may close with our bytes unread: its RST can come before
    # our shutdown (which then fails), yet its answer is still queued.
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except OSError:
        pass
    s.close()
    if expect is not None and not got.startswith(expect):
        raise SystemExit("sent %r, got %r, want %r" % (data[:40], got, expect))
conv(b"\x05")                                   # truncated greeting
conv(b"\x05\x00")                               # no methods
conv(b"\x05\x01\x00\x05\x01\x00\x09\x00", b"\x05\x00\x05\x08")  # bad ATYP
conv(b"\x05\x01\x00\x05\x09\x00\x01\x7f\x00\x00\x01\x00\x50", b"\x05\x00\x05\x07")  # unknown command
conv(b"\x04\x01\x00\x50\x7f\x00\x00\x01" + b"u" * 300)   # no NUL in userid
conv(b"GARBAGE\r\n\r\n", b"HTTP/1.1 400")
conv(b"GET /relative HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 400")
conv(b"GET http://127.0.0.1/ HTTP/1.1\r\n" + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n", b"HTTP/1.1 431")
conv(b"GET http://127.0.0.1/ HTTP/1.1\r\n folded: x\r\n\r\n", b"HTTP/1.1 400")
conv(bytes(range(256)) * 8)
print("ok")
PY
[ "$(get socks5://127.0.0.1:$A http://127.0.0.1:$H/blob)" = "$want" ] || fail "daemon not serving after bad input"
kill "$MAIN"
finish
