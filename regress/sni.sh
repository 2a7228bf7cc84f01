# sni://: openssl s_client through the SNI proxy to a local TLS server,
# routed by the ClientHello's server name (also through a chain); plain
# HTTP routed by its Host header; malformed or nameless hellos closed
# while other connections go on.
. regress/lib.sh

D=$LOGDIR/tls
mkdir -p "$D/www"
echo "routed by host" >"$D/www/hello.txt"
make_cert "$D/key.pem" "$D/cert.pem" localhost
T=$(free_port); H=$(free_port); P=$(free_port); P2=$(free_port)
HOP=$(free_port); PC=$(free_port)
openssl s_server -accept "127.0.0.1:$T" -cert "$D/cert.pem" \
    -key "$D/key.pem" -www >"$LOGDIR/s_server.log" 2>&1 &
PIDS="$PIDS $!"
start_web http "$D/www" "$H"
start_ostpd sni -DD -L "sni://127.0.0.1:$P?host=:$T" -L "sni://127.0.0.1:$P2"
start_ostpd hop -L "socks5://127.0.0.1:$HOP"
for p in $T $H $P $P2 $HOP; do wait_port "$p" || fatal "port $p"; done
start_ostpd chain -DD -L "sni://127.0.0.1:$PC?host=:$T" -F "socks5://127.0.0.1:$HOP"
wait_port "$PC" || fatal "chain"

tls_get() {	# tls_get PORT NAME
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client \
	    -connect "127.0.0.1:$1" -servername "$2" -quiet 2>/dev/null | head -n 1
}
r=$(tls_get "$P" localhost)
case $r in "HTTP/1.0 200"*) ;; *) fail "TLS through the SNI proxy: $r" ;; esac
grep -q "to localhost:$T" "$LOGDIR/sni.log" || fail "not routed by the server name"
r=$(tls_get "$PC" localhost)
case $r in "HTTP/1.0 200"*) ;; *) fail "SNI proxy through a chain: $r" ;; esac

# plain HTTP: the Host header names the target
r=$(curl -sS --max-time 10 -H "Host: localhost:$H" "http://127.0.0.1:$P2/hello.txt")
[ "$r" = "routed by host" ] || fail "HTTP by Host: $r"
grep -q "to localhost:$H" "$LOGDIR/sni.log" || fail "HTTP not routed by Host"

# bad input: garbage that claims to be TLS, a hello without a name
/usr/bin/python3 - "$P" <<'PY' >"$LOGDIR/bad.out" 2>&1 || fail "bad hellos: $(cat "$LOGDIR/bad.out")"
import os, socket, struct, sys
port = int(sys.argv[1])
def closed(data):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(data)
    s.settimeout(5)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
# a handshake record whose ClientHello length lies
assert closed(b"\x16\x03\x01\x00\x30\x01\x00\xff\xff" + os.urandom(44))
# a well-formed hello without server_name
body = b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + b"\x00\x00"
hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
assert closed(b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs)
print("ok")
PY
r=$(tls_get "$P" localhost)
case $r in "HTTP/1.0 200"*) ;; *) fail "after bad input: $r" ;; esac
"$OSTPD" -t -L "sni://:443?host=x:99999" >"$LOGDIR/badconf.out" 2>&1 &&
    fail "a bad host= was accepted"
grep -q 'bad value "x:99999" for host' "$LOGDIR/badconf.out" || fail "no clear error for host="

finish
