# Layers stacked on one connection: chain hops that add a layer (the
# Shadowsocks cipher, gost's SOCKS5 TLS method) are talked through by
# the hops after them, so TLS runs over a cipher, ciphers over TLS and
# over each other.  Byte-exact both ways, many connections at once, and
# a half-close carried through every layer.
. regress/lib.sh

E=$(free_port); SS=$(free_port); SS2=$(free_port); S5=$(free_port)
start_echo "$E"
start_ostpd ss -D -L "ss://aes-256-gcm:pw@127.0.0.1:$SS"
start_ostpd ss2 -D -L "ss://chacha20-ietf-poly1305:pw2@127.0.0.1:$SS2"
start_ostpd s5 -D -L "socks5://u:p@127.0.0.1:$S5"
for p in $SS $SS2 $S5; do wait_port "$p" || fatal "hop on $p"; done

# 1. ss, then socks5 with TLS (0x82) inside the cipher: tcp < ss < tls
F1=$(free_port)
start_ostpd c1 -L "tcp://127.0.0.1:$F1/127.0.0.1:$E" \
    -F "ss://aes-256-gcm:pw@127.0.0.1:$SS" -F "socks5://u:p@127.0.0.1:$S5"
wait_port "$F1" || fatal "c1"
$NETTOOL xfer 127.0.0.1 "$F1" 8000000 4 >"$LOGDIR/x1.out" 2>&1 ||
    fail "ss then socks5+TLS: $(cat "$LOGDIR/x1.out")"
grep -q "socks5 inside TLS" "$LOGDIR/s5.log" || fail "the socks5 hop did not run TLS"

# 2. socks5 with TLS, then two ciphers: tcp < tls < ss < ss
F2=$(free_port)
start_ostpd c2 -L "tcp://127.0.0.1:$F2/127.0.0.1:$E" \
    -F "socks5://u:p@127.0.0.1:$S5" -F "ss://aes-256-gcm:pw@127.0.0.1:$SS" \
    -F "ss://chacha20-ietf-poly1305:pw2@127.0.0.1:$SS2"
wait_port "$F2" || fatal "c2"
$NETTOOL xfer 127.0.0.1 "$F2" 8000000 4 >"$LOGDIR/x2.out" 2>&1 ||
    fail "socks5+TLS then ss then ss: $(cat "$LOGDIR/x2.out")"

# 3. many at once, with a pause mid-transfer (idle layers, then more)
$NETTOOL xfer 127.0.0.1 "$F2" 200000 50 0.3 >"$LOGDIR/x3.out" 2>&1 ||
    fail "50 at once through four layers: $(cat "$LOGDIR/x3.out")"

# 4. a SOCKS5 client through the same stack, to a web server (HTTP
# request and answer, then the server's close comes back through it)
W=$LOGDIR/www; mkdir -p "$W"
want=$(make_blob "$W/blob" 3000000)
H=$(free_port); P=$(free_port)
start_web web "$W" "$H"
start_ostpd c4 -L "socks5://127.0.0.1:$P" \
    -F "ss://aes-256-gcm:pw@127.0.0.1:$SS" -F "socks5://u:p@127.0.0.1:$S5"
wait_port "$P" || fatal "c4"
got=$(curl -sS --max-time 20 -x "socks5h://127.0.0.1:$P" "http://127.0.0.1:$H/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "curl through ss < tls: digest differs"
assert_serving "socks5://127.0.0.1:$P" "tcp://127.0.0.1:$E"

finish
