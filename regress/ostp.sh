# OSTP tunnel (spec/ostp.md wire v5): an ostpd client chain node against an
# ostpd server: curl through the client's local proxy to a web server
# behind the server, byte-exact; flows refused by the server's policy; a
# wrong key gets no answer at all.
. regress/lib.sh

W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 3000000)
H=$(free_port)
start_web http "$W" "$H"
KEY=0123456789abcdef0123456789abcdef

S=$(free_port); C=$(free_port); C2=$(free_port)
start_ostpd srv -D -L "ostp://$KEY@127.0.0.1:$S?local_access=true"
start_ostpd cli -D -L "auto://127.0.0.1:$C" -F "ostp://$KEY@127.0.0.1:$S"
wait_port "$C" || fatal "ostpd client"
wait_log "$LOGDIR/srv.log" "listening\|ostp" 5

get() {	# get PROXYPORT [curl options]
	p=$1; shift
	curl -sS --max-time 20 "$@" --socks5-hostname "127.0.0.1:$p" \
	    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1
}
[ "$(get "$C")" = "$want" ] || fail "curl through the tunnel (SOCKS5)"
[ "$(curl -sS --max-time 20 -x "http://127.0.0.1:$C" \
    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1)" = "$want" ] ||
	fail "curl through the tunnel (HTTP proxy)"
wait_log "$LOGDIR/cli.log" "connecting -> connected" 5 ||
	fail "the client's state change was not logged"

# ten at once over one session
i=0; pids=
while [ $i -lt 10 ]; do
	(get "$C" >"$LOGDIR/par.$i") & pids="$pids $!"
	i=$((i + 1))
done
wait $pids
i=0
while [ $i -lt 10 ]; do
	[ "$(cat "$LOGDIR/par.$i")" = "$want" ] || fail "parallel transfer $i"
	i=$((i + 1))
done

# a server without local_access refuses loopback targets
S2=$(free_port)
start_ostpd srv2 -D -L "ostp://$KEY@127.0.0.1:$S2"
start_ostpd cli2 -D -L "auto://127.0.0.1:$C2" -F "ostp://$KEY@127.0.0.1:$S2"
wait_port "$C2" || fatal "ostpd client 2"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -x "http://127.0.0.1:$C2" "http://127.0.0.1:$H/blob")
[ "$code" = 502 ] || fail "a loopback target through a public-only server: $code"
wait_log "$LOGDIR/cli2.log" "could not reach" 5 ||
	fail "the refusal was not logged as the server's answer"

# a wrong key: no session, no answer, and the server still serves
C3=$(free_port)
start_ostpd cli3 -D -L "auto://127.0.0.1:$C3" \
    -F "ostp://ffffffffffffffffffffffffffffffff@127.0.0.1:$S?timeout=3s"
wait_port "$C3" || fatal "ostpd client 3"
[ "$(get "$C3" 2>/dev/null)" != "$want" ] || fail "a wrong key was served"
if grep -q "session [0-9a-f]* for key" "$LOGDIR/srv.log" &&
    [ "$(count "$LOGDIR/srv.log" "session [0-9a-f]* for key")" -gt 1 ]; then
	fail "the server made a session for a wrong key"
fi
[ "$(get "$C")" = "$want" ] || fail "not serving after a wrong key"

finish
