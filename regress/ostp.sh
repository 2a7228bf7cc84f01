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

S=$(free_port); C=$(free_port); C2=$(free_port); C4=$(free_port)
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

# datagrams: SOCKS5 UDP ASSOCIATE and a udp:// forward through the tunnel
# (UdpAssociate and UdpData), and dig through it to unbound
UE=$(free_port); U=$(free_port); D=$(free_port); DP=$(free_port)
DT=$(free_port)
start_udpecho "$UE"
DD=$LOGDIR/unbound; mkdir -p "$DD"
make_cert "$DD/key.pem" "$DD/cert.pem" localhost
start_unbound "$DD" "$DP" "$DT" <<E
local-zone: "test." static
local-data: "tunnel.test. 300 IN A 192.0.2.7"
E
start_ostpd cliu -D -L "socks5://127.0.0.1:$C2" -L "udp://127.0.0.1:$U/127.0.0.1:$UE" \
    -L "udp://127.0.0.1:$D/127.0.0.1:$DP" -F "ostp://$KEY@127.0.0.1:$S"
wait_port "$C2" || fatal "ostpd udp client"
n=$($NETTOOL udpcheck 127.0.0.1 "$U" 10)
[ "$n" = 10 ] || fail "udp:// through the tunnel: $n of 10"
n=$($NETTOOL socksudp "$C2" 127.0.0.1 "$UE" 10)
[ "$n" = 10 ] || fail "SOCKS5 UDP through the tunnel: $n of 10"
a=$(dig +short +time=3 +tries=2 @127.0.0.1 -p "$D" tunnel.test A)
[ "$a" = 192.0.2.7 ] || fail "dig through the tunnel: \"$a\""
wait_log "$LOGDIR/srv.log" "udp associate" 5 ||
	fail "the server did not log the udp associate"

# a server without local_access refuses loopback targets
S2=$(free_port)
start_ostpd srv2 -D -L "ostp://$KEY@127.0.0.1:$S2"
start_ostpd cli2 -D -L "auto://127.0.0.1:$C4" -F "ostp://$KEY@127.0.0.1:$S2"
wait_port "$C4" || fatal "ostpd client 2"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -x "http://127.0.0.1:$C4" "http://127.0.0.1:$H/blob")
[ "$code" = 502 ] || fail "a loopback target through a public-only server: $code"
wait_log "$LOGDIR/cli2.log" "could not reach" 5 ||
	fail "the refusal was not logged as the server's answer"

# a wrong key: no session, no answer, and the server still serves
C3=$(free_port)
before=$(count "$LOGDIR/srv.log" "session [0-9a-f]* for key")
start_ostpd cli3 -D -L "auto://127.0.0.1:$C3" \
    -F "ostp://ffffffffffffffffffffffffffffffff@127.0.0.1:$S?timeout=3s"
wait_port "$C3" || fatal "ostpd client 3"
[ "$(get "$C3" 2>/dev/null)" != "$want" ] || fail "a wrong key was served"
[ "$(count "$LOGDIR/srv.log" "session [0-9a-f]* for key")" = "$before" ] ||
	fail "the server made a session for a wrong key"
[ "$(get "$C")" = "$want" ] || fail "not serving after a wrong key"

finish
