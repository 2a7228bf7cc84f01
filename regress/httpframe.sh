# HTTP framing (RFC 9112 section 6): the HTTP proxy refuses request
# smuggling shapes with 400 and forwards none of them (a recording
# origin proves it), answers origins' ambiguous response heads with 502,
# frames chunked answers exactly (nothing past the last chunk reaches
# the client), and closes every refusal lingering, so that a client
# that sends 64 KiB of head and 1 MB more still reads its 431 (20
# times) and a 407 or 400 with a body behind it too.  After every
# refusal the daemon serves a plain request.  Keep-alive framing works
# through layers too (TLS on the client's side or on a chain hop's):
# requests for two origins on one connection each get their own
# origin's answer.
. regress/lib.sh

TOOL="/usr/bin/python3 $PWD/regress/tools/httpframe.py"
O=$(free_port); B=$(free_port); P=$(free_port); PA=$(free_port)
PT=$(free_port); PH2=$(free_port); PC=$(free_port)
W1=$(free_port); W2=$(free_port)
OLOG=$LOGDIR/origin-received.log
: >"$OLOG"
$TOOL origin "$O" "$OLOG" >"$LOGDIR/origin.log" 2>&1 &
PIDS="$PIDS $!"
$TOOL bad "$B" >"$LOGDIR/bad.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$O" && wait_port "$B" || fatal "origins did not start"
start_ostpd proxy -L "http://127.0.0.1:$P" -L "http://u:p@127.0.0.1:$PA" \
    -L "http+tls://127.0.0.1:$PT" -L "http2://127.0.0.1:$PH2"
MAIN=$OPID
wait_port "$P" && wait_port "$PA" && wait_port "$PT" && wait_port "$PH2" ||
	fatal "no listener"

$TOOL check "$P" "$O" "$B" "$OLOG" "$PA" >"$LOGDIR/check.out" 2>&1 ||
	fail "$(grep -E '^FAIL|failures|Error|Traceback' "$LOGDIR/check.out" | head -20)"

# Three plain requests on one kept-alive connection to the proxy (curl
# reuses it), alternating between two origins that serve different
# bytes under the same name, with a layer on either side: the client's
# (an http+tls listener, an http2 listener's HTTP/1.1) or the origin's
# (a chain hop over TLS).  Before httpfwd ran on layered connections,
# none of these kept the connection.
mkdir -p "$LOGDIR/w1" "$LOGDIR/w2"
want1=$(make_blob "$LOGDIR/w1/blob" 300000)
want2=$(make_blob "$LOGDIR/w2/blob" 200000)
start_web web1 "$LOGDIR/w1" "$W1"
start_web web2 "$LOGDIR/w2" "$W2"
start_ostpd chained -L "http://127.0.0.1:$PC" -F "http+tls://127.0.0.1:$PT"
wait_port "$PC" || fatal "no chained listener"
for px in "https://127.0.0.1:$PT" "https://127.0.0.1:$PH2" \
    "http://127.0.0.1:$PC"; do
	rm -f "$LOGDIR"/got?
	conns=$(curl -sS --max-time 20 --proxy-insecure -x "$px" \
	    -w '%{num_connects} ' -o "$LOGDIR/got1" -o "$LOGDIR/got2" \
	    -o "$LOGDIR/got3" "http://127.0.0.1:$W1/blob" \
	    "http://127.0.0.1:$W2/blob" "http://127.0.0.1:$W1/blob" \
	    2>>"$LOGDIR/curl-keep.err")
	[ "$conns" = "1 0 0 " ] ||
		fail "$px: not one kept-alive connection ($conns)"
	for f in 1:$want1 2:$want2 3:$want1; do
		got=$(sha256sum <"$LOGDIR/got${f%%:*}" 2>/dev/null |
		    cut -d' ' -f1)
		[ "$got" = "${f#*:}" ] ||
			fail "$px, kept alive: request ${f%%:*} answered wrong"
	done
done

W0=$(worker_of "$MAIN")
kill -0 "$W0" 2>/dev/null || fail "worker died"
grep -q 'restarting in' "$LOGDIR/proxy.log" && fail "a worker was restarted"
kill "$MAIN"
finish
