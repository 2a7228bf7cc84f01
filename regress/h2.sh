# HTTP/2 tunnel transports (gost's h2 over TLS, h2c cleartext): one
# stream per tunnel under every protocol, one session per node address
# reused by every dial (100 streams at once on one session), a session
# that dies fails every stream and the next dial opens another; real
# HTTP/2 clients (nghttp, h2load) against our listeners; garbage, a
# flow-control violation and resets of unknown streams end only that
# peer's session; a stream whose reader stalls stops only its writer.
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
    -L "tcp+h2c://127.0.0.1:$HH/127.0.0.1:$E?ping=1s"
SRV=$OPID
for p in $H2 $HC $HH; do wait_port "$p" || fatal "the hop did not come back"; done
$NETTOOL xfer 127.0.0.1 "$F2" 100000 4 >"$LOGDIR/xr.out" 2>&1 ||
    fail "after the session died: $(cat "$LOGDIR/xr.out")"
[ "$(grep -c "a new session" "$LOGDIR/c2.log")" -eq 2 ] || fail "no new session"

# 4. real HTTP/2 programs against our listeners: a CONNECT by hand
# (nghttp sends none), nghttp's POST through GET path= forwarders over
# h2c and h2 (the body is the tunnel's bytes, the answer's body the
# echo), 405 and 400 for requests that are no tunnel, and h2load's
# 2000 requests, 100 at once per connection
H2RAW="/usr/bin/python3 regress/tools/h2raw.py"
$H2RAW connect "$HH" "127.0.0.1:$E" >"$LOGDIR/connect.out" 2>&1 ||
    fail "CONNECT by hand: $(cat "$LOGDIR/connect.out")"
if command -v nghttp >/dev/null && command -v h2load >/dev/null; then
	FP=$(free_port); FT=$(free_port)
	start_ostpd fwd -D -L "tcp+h2c://127.0.0.1:$FP/127.0.0.1:$E?path=/t" \
	    -L "tcp+h2://127.0.0.1:$FT/127.0.0.1:$E?path=/t"
	wait_port "$FP" && wait_port "$FT" || fatal "path forwarders"
	SUM=$(make_blob "$LOGDIR/blob" 1000000)
	for u in "http://127.0.0.1:$FP/t" "https://127.0.0.1:$FT/t"; do
		nghttp -d "$LOGDIR/blob" "$u" >"$LOGDIR/nghttp.body" \
		    2>"$LOGDIR/nghttp.err" || fail "nghttp $u: $(tail -n 3 "$LOGDIR/nghttp.err")"
		[ "$(sha256sum <"$LOGDIR/nghttp.body" | cut -d' ' -f1)" = "$SUM" ] ||
		    fail "nghttp $u: the echo is not the body ($(wc -c <"$LOGDIR/nghttp.body") bytes)"
	done
	nghttp -v "http://127.0.0.1:$FP/wrong" >"$LOGDIR/n400.out" 2>&1
	grep -q ":status: 400" "$LOGDIR/n400.out" || fail "a wrong path: $(grep status "$LOGDIR/n400.out")"
	nghttp -v "http://127.0.0.1:$HH/" >"$LOGDIR/n405.out" 2>&1
	grep -q ":status: 405" "$LOGDIR/n405.out" || fail "GET without path=: $(grep status "$LOGDIR/n405.out")"
	h2load -n 2000 -c 4 -m 100 "http://127.0.0.1:$FP/t" >"$LOGDIR/h2load.out" 2>&1
	grep -q "2000 succeeded" "$LOGDIR/h2load.out" ||
	    fail "h2load: $(grep -E "requests:|status codes" "$LOGDIR/h2load.out")"
	h2load -n 500 -c 2 -m 50 "https://127.0.0.1:$FT/t" >"$LOGDIR/h2load2.out" 2>&1
	grep -q "500 succeeded" "$LOGDIR/h2load2.out" ||
	    fail "h2load over TLS: $(grep -E "requests:|status codes" "$LOGDIR/h2load2.out")"
	# an answer other than 200 fails the dial (here 400: a wrong path)
	NF=$(free_port)
	start_ostpd cn -D -L "tcp://127.0.0.1:$NF/127.0.0.1:$E" \
	    -F "relay+h2c://127.0.0.1:$FP?path=/wrong"
	wait_port "$NF" || fatal "cn"
	$NETTOOL xfer 127.0.0.1 "$NF" 1000 1 >/dev/null 2>&1 &&
	    fail "a dial answered 400 succeeded"
	wait_log "$LOGDIR/cn.log" "the server answered 400" ||
	    fail "no debug line for the 400"
else
	skip_part "nghttp, h2load (Debian nghttp2-client) not installed"
fi

# 5. bad peers: garbage after the preface, DATA past the stream's
# window, resets of streams that never were: each ends that session
# only (GOAWAY); the pooled session of c2 and the listeners serve on
SK=$(free_port); FS=$(free_port)
$H2RAW sink "$SK" >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_port "$SK" || fatal "sink"
HO=$(free_port)
$H2RAW hole "$HO" >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_until 5 listening "$HO" || fatal "hole"
start_ostpd sinkfwd -D -L "tcp+h2c://127.0.0.1:$FS/127.0.0.1:$HO?timeout=30s"
wait_port "$FS" || fatal "sinkfwd"
for m in garbage rst; do
	$H2RAW "$m" "$HC" >"$LOGDIR/bad-$m.out" 2>&1 ||
	    fail "$m: $(tail -n 2 "$LOGDIR/bad-$m.out")"
done
$H2RAW noalpn "$H2" >"$LOGDIR/bad-noalpn.out" 2>&1 ||
    fail "TLS without ALPN h2: $(tail -n 2 "$LOGDIR/bad-noalpn.out")"
$H2RAW flow "$FS" >"$LOGDIR/bad-flow.out" 2>&1 ||
    fail "flow: $(tail -n 2 "$LOGDIR/bad-flow.out")"
# ping=1s: a peer that answers no PING is closed within two periods
$H2RAW silent "$HH" >"$LOGDIR/silent.out" 2>&1 ||
    fail "silent peer: $(tail -n 2 "$LOGDIR/silent.out")"
$NETTOOL xfer 127.0.0.1 "$F2" 300000 10 >"$LOGDIR/xa.out" 2>&1 ||
    fail "after bad peers: $(cat "$LOGDIR/xa.out")"
[ "$(grep -c "a new session" "$LOGDIR/c2.log")" -eq 2 ] ||
    fail "bad peers disturbed another session"
$H2RAW connect "$HH" "127.0.0.1:$E" >/dev/null 2>&1 || fail "the listener stopped serving"

# 6. back-pressure per stream: a tunnel whose target never reads stops
# its writer (the stream's window closes), while another tunnel of the
# same session goes on at full speed
F5=$(free_port); F6=$(free_port)
start_ostpd bp -D -L "tcp://127.0.0.1:$F5/127.0.0.1:$SK" \
    -L "tcp://127.0.0.1:$F6/127.0.0.1:$E" -F "relay+h2c://127.0.0.1:$HC"
wait_port "$F5" && wait_port "$F6" || fatal "bp"
/usr/bin/python3 - "$F5" "$LOGDIR/stuck" <<'PY' >/dev/null 2>&1 &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3)
n = 0
try:
    while n < 256 << 20:
        n += s.send(b"x" * 65536)
except socket.timeout:
    pass
open(sys.argv[2], "w").write("%d\n" % n)
time.sleep(60)
PY
STUCK=$!
PIDS="$PIDS $STUCK"
wait_until 20 test -s "$LOGDIR/stuck" || fail "the writer to a sink was never stopped"
$NETTOOL xfer 127.0.0.1 "$F6" 3000000 4 >"$LOGDIR/xbp.out" 2>&1 ||
    fail "a stalled stream stopped its session: $(cat "$LOGDIR/xbp.out")"
[ "$(grep -c "a new session" "$LOGDIR/bp.log")" -eq 1 ] ||
    fail "the two tunnels did not share a session"
kill "$STUCK" 2>/dev/null

finish
