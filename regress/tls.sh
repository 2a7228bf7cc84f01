# The TLS transport: every proxy protocol over TLS between two ostpd
# (socks5+tls, http+tls, ss+tls, relay+tls), real clients of an HTTPS
# proxy (curl) and of TLS (openssl s_client), the client's verification
# (secure=, ca=) refusing with one clear line, and a layer that costs no
# descriptor: a worker holding 100 connections through a socks5+tls hop
# has two per connection.
. regress/lib.sh

E=$(free_port); P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port)
start_echo "$E"
W=$LOGDIR/www; mkdir -p "$W"
want=$(make_blob "$W/blob" 3000000)
H=$(free_port)
start_web web "$W" "$H"
start_ostpd srv -D -L "socks5+tls://127.0.0.1:$P1" -L "http+tls://127.0.0.1:$P2" \
    -L "ss+tls://aes-128-gcm:pw@127.0.0.1:$P3" -L "relay+tls://127.0.0.1:$P4"
SRV=$OPID
for p in $P1 $P2 $P3 $P4; do wait_port "$p" || fatal "listener $p"; done

# 1. real clients: openssl s_client (TLS 1.2 and 1.3), curl through an
# HTTPS proxy (CONNECT and a plain request)
for v in tls1_2 tls1_3; do
	out=$(echo | timeout 10 openssl s_client -"$v" -connect "127.0.0.1:$P1" -brief 2>&1)
	echo "$out" | grep -q "CONNECTION ESTABLISHED" || fail "s_client -$v: $out"
done
got=$(curl -sS --max-time 20 --proxy-insecure -x "https://127.0.0.1:$P2" "http://127.0.0.1:$H/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "curl through an https:// proxy (plain request)"
got=$(curl -sS --max-time 20 --proxy-insecure -p -x "https://127.0.0.1:$P2" "http://127.0.0.1:$H/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "curl through an https:// proxy (CONNECT)"

# 1b. a TLS-terminating port forward (gost's tls://:port/target)
TF=$(free_port)
start_ostpd tf -D -L "tls://127.0.0.1:$TF/127.0.0.1:$E"
wait_port "$TF" || fatal "tls forward"
out=$(/usr/bin/python3 - "$TF" <<'PY' 2>&1
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
msg = b"through a TLS forward"
s.sendall(msg)
got = b""
while len(got) < len(msg):
    got += s.recv(100)
print(got.decode())
PY
)
[ "$out" = "through a TLS forward" ] || fail "tls:// forward: got \"$out\""

# 2. ostpd -> ostpd over TLS, each protocol: byte-exact, several at once
i=0
for hop in "socks5+tls://127.0.0.1:$P1" "http+tls://127.0.0.1:$P2" \
    "ss+tls://aes-128-gcm:pw@127.0.0.1:$P3" "relay+tls://127.0.0.1:$P4"; do
	i=$((i + 1)); F=$(free_port)
	start_ostpd "c$i" -D -L "tcp://127.0.0.1:$F/127.0.0.1:$E" -F "$hop"
	wait_port "$F" || fatal "c$i"
	$NETTOOL xfer 127.0.0.1 "$F" 4000000 8 >"$LOGDIR/x$i.out" 2>&1 ||
	    fail "over $hop: $(cat "$LOGDIR/x$i.out")"
	eval "F$i=$F; PID$i=$OPID"
done
# no TLS inside the TLS transport (SOCKS5 methods 0x80/0x82)
! grep -q "socks5 inside TLS" "$LOGDIR/srv.log" || fail "TLS inside TLS"

# 3. the client verifies when told to: secure=true against a
# certificate no CA signed, ca= of another CA; one clear line each, and
# the daemon goes on serving
make_cert "$LOGDIR/otherca.key" "$LOGDIR/otherca.pem" "another CA"
V1=$(free_port); V2=$(free_port)
start_ostpd v1 -L "tcp://127.0.0.1:$V1/127.0.0.1:$E" -F "socks5+tls://127.0.0.1:$P1?secure=true"
start_ostpd v2 -L "tcp://127.0.0.1:$V2/127.0.0.1:$E" -F "socks5+tls://127.0.0.1:$P1?ca=$LOGDIR/otherca.pem"
wait_port "$V1" && wait_port "$V2" || fatal "v1/v2"
for v in 1 2; do
	eval "port=\$V$v"
	! $NETTOOL xfer 127.0.0.1 "$port" 1000 1 >/dev/null 2>&1 || fail "v$v: an unverified server was used"
	wait_log "$LOGDIR/v$v.log" "TLS: the server's certificate: " ||
	    fail "v$v: no line naming the certificate error"
	[ "$(grep -c "TLS: the server's certificate" "$LOGDIR/v$v.log")" -ge 1 ] || fail "v$v"
done
grep -q "self-signed certificate" "$LOGDIR/v1.log" || fail "v1: $(grep TLS "$LOGDIR/v1.log" | head -n 1)"
# ... and the same through a pooled session (mwss, h2, http2): the line
# names the node as written, not the pool's inner key
M1=$(free_port); M2=$(free_port); M3=$(free_port)
start_ostpd msrv -L "socks5+mwss://127.0.0.1:$M1" -L "socks5+h2://127.0.0.1:$M2" \
    -L "http2://127.0.0.1:$M3"
wait_port "$M1" && wait_port "$M2" && wait_port "$M3" || fatal "mux servers"
for m in "mwss $M1 /ws" "h2 $M2" "http2 $M3"; do
	set -- $m
	V=$(free_port)
	case $1 in http2) u="http2://127.0.0.1:$2" ;; *) u="socks5+$1://127.0.0.1:$2" ;; esac
	start_ostpd "vm$1" -L "tcp://127.0.0.1:$V/127.0.0.1:$E" -F "$u?secure=true"
	wait_port "$V" || fatal "vm$1"
	! $NETTOOL xfer 127.0.0.1 "$V" 1000 1 >/dev/null 2>&1 || fail "$1: an unverified server was used"
	wait_log "$LOGDIR/vm$1.log" "chain node $1://127.0.0.1:$2$3 (hop 1): TLS: the server's certificate: self-signed certificate" ||
	    fail "$1: $(grep -i certif "$LOGDIR/vm$1.log" | head -n 1)"
	kill "$OPID" 2>/dev/null
done
assert_serving "tcp://127.0.0.1:$F1"

# 4. a layer costs no descriptor: 100 idle connections through the
# socks5+tls hop hold two descriptors each in the client's worker
# (client socket, hop socket) and in the server's (TLS socket, target)
CW=$(worker_of "$PID1")
SW=$(worker_of "$SRV")
nfd() { ls "/proc/$1/fd" | wc -l; }
c0=$(nfd "$CW"); s0=$(nfd "$SW")
$NETTOOL hold 127.0.0.1 "$F1" 100 30 "$LOGDIR/held" >"$LOGDIR/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
wait_until 20 test -s "$LOGDIR/held" || fatal "100 connections: $(cat "$LOGDIR/hold.out")"
c1=$(nfd "$CW"); s1=$(nfd "$SW")
log "descriptors for 100 connections: client worker $((c1 - c0)), server worker $((s1 - s0))"
[ $((c1 - c0)) -le 205 ] || fail "client worker: $((c1 - c0)) descriptors for 100 connections"
[ $((s1 - s0)) -le 205 ] || fail "server worker: $((s1 - s0)) descriptors for 100 connections"
kill "$HOLD" 2>/dev/null

finish
