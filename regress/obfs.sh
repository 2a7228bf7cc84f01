# gost's obfuscating transports: ohttp (a fake WebSocket upgrade) and
# otls (a fake TLS handshake, then records).  A client written from the
# specification (tools/obfsclient.py) against ostpd's servers, ostpd to
# ostpd for several protocols, and refusals that leave the server
# serving.
. regress/lib.sh

E=$(free_port); OH=$(free_port); OT=$(free_port); SS=$(free_port); RL=$(free_port)
start_echo "$E"
start_ostpd srv -D -L "socks5+ohttp://127.0.0.1:$OH" -L "socks5+otls://127.0.0.1:$OT" \
    -L "ss+otls://chacha20-ietf-poly1305:pw@127.0.0.1:$SS" -L "relay+ohttp://127.0.0.1:$RL"
for p in $OH $OT $SS $RL; do wait_port "$p" || fatal "listener $p"; done
OC="/usr/bin/python3 regress/tools/obfsclient.py"

# 1. a gost-like client, from the specification
for m in ohttp otls; do
	eval "port=\$O$(echo $m | cut -c2 | tr a-z A-Z)"
	$OC "$m" "$port" "$E" >"$LOGDIR/$m.out" 2>&1 || fail "$m client: $(tail -n 3 "$LOGDIR/$m.out")"
done

# 2. ostpd to ostpd, byte-exact, several at once
i=0
for hop in "socks5+ohttp://127.0.0.1:$OH?host=www.example.com" \
    "socks5+otls://127.0.0.1:$OT?host=www.example.com" \
    "ss+otls://chacha20-ietf-poly1305:pw@127.0.0.1:$SS" "relay+ohttp://127.0.0.1:$RL"; do
	i=$((i + 1)); F=$(free_port)
	start_ostpd "c$i" -D -L "tcp://127.0.0.1:$F/127.0.0.1:$E" -F "$hop"
	wait_port "$F" || fatal "c$i"
	$NETTOOL xfer 127.0.0.1 "$F" 3000000 6 >"$LOGDIR/x$i.out" 2>&1 ||
	    fail "over $hop: $(cat "$LOGDIR/x$i.out")"
done

# 3. refusals: a request that is no upgrade gets gost's 503, a record
# that is no ClientHello a close; both servers serve on
$OC ohttp-bad "$OH" >"$LOGDIR/bad1.out" 2>&1 || fail "ohttp refusal: $(tail -n 2 "$LOGDIR/bad1.out")"
$OC otls-bad "$OT" >"$LOGDIR/bad2.out" 2>&1 || fail "otls refusal: $(tail -n 2 "$LOGDIR/bad2.out")"
$OC ohttp "$OH" "$E" >/dev/null 2>&1 || fail "ohttp after a refusal"
$OC otls "$OT" "$E" >/dev/null 2>&1 || fail "otls after a refusal"

finish
