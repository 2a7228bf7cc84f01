# HTTP framing (RFC 9112 section 6): the HTTP proxy refuses request
# smuggling shapes with 400 and forwards none of them (a recording
# origin proves it), answers origins' ambiguous response heads with 502,
# frames chunked answers exactly (nothing past the last chunk reaches
# the client), and closes every refusal lingering, so that a client
# that sends 64 KiB of head and 1 MB more still reads its 431 (20
# times) and a 407 or 400 with a body behind it too.  After every
# refusal the daemon serves a plain request.
. regress/lib.sh

TOOL="/usr/bin/python3 $PWD/regress/tools/httpframe.py"
O=$(free_port); B=$(free_port); P=$(free_port); PA=$(free_port)
OLOG=$LOGDIR/origin-received.log
: >"$OLOG"
$TOOL origin "$O" "$OLOG" >"$LOGDIR/origin.log" 2>&1 &
PIDS="$PIDS $!"
$TOOL bad "$B" >"$LOGDIR/bad.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$O" && wait_port "$B" || fatal "origins did not start"
start_ostpd proxy -L "http://127.0.0.1:$P" -L "http://u:p@127.0.0.1:$PA"
MAIN=$OPID
wait_port "$P" && wait_port "$PA" || fatal "no listener"

$TOOL check "$P" "$O" "$B" "$OLOG" "$PA" >"$LOGDIR/check.out" 2>&1 ||
	fail "$(grep -E '^FAIL|failures|Error|Traceback' "$LOGDIR/check.out" | head -20)"

W0=$(worker_of "$MAIN")
kill -0 "$W0" 2>/dev/null || fail "worker died"
grep -q 'restarting in' "$LOGDIR/proxy.log" && fail "a worker was restarted"
kill "$MAIN"
finish
