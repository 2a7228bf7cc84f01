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
CLIPID=$OPID
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

# session multiplexing: mux=3 spreads flows over three sessions
CM=$(free_port)
before=$(count "$LOGDIR/srv.log" "session [0-9a-f]* for key")
start_ostpd climux -D -L "auto://127.0.0.1:$CM" -F "ostp://$KEY@127.0.0.1:$S?mux=3"
wait_port "$CM" || fatal "ostpd mux client"
i=0; pids=
while [ $i -lt 12 ]; do
	(get "$CM" >"$LOGDIR/mux.$i") & pids="$pids $!"
	i=$((i + 1))
done
wait $pids
i=0
while [ $i -lt 12 ]; do
	[ "$(cat "$LOGDIR/mux.$i")" = "$want" ] || fail "mux transfer $i"
	i=$((i + 1))
done
n=$(( $(count "$LOGDIR/srv.log" "session [0-9a-f]* for key") - before ))
[ "$n" -ge 2 ] && [ "$n" -le 3 ] ||
	fail "mux=3 made $n sessions for 12 flows (2 or 3 expected)"

# a stalled path (the client's UDP port blackholed): after 10 s of
# silence the client moves to a new socket with the same session, the
# server follows it on the first authentic datagram, and a download
# begun into the silence completes
if command -v iptables >/dev/null 2>&1; then
	W=$(worker_of "$CLIPID")
	P=$(ss -uanp 2>/dev/null | grep "pid=$W," | grep "127.0.0.1:$S" |
	    awk '{ print $4 }' | sed 's/.*://' | head -1)
	if [ -n "$P" ]; then
		EXTRA_CLEANUP="iptables -D OUTPUT -o lo -p udp --sport $P -j DROP 2>/dev/null; iptables -D OUTPUT -o lo -p udp --dport $P -j DROP 2>/dev/null"
		iptables -I OUTPUT -o lo -p udp --sport "$P" -j DROP
		iptables -I OUTPUT -o lo -p udp --dport "$P" -j DROP
		[ "$(curl -sS --max-time 60 --socks5-hostname \
		    "127.0.0.1:$C" "http://localhost:$H/blob" |
		    sha256sum | cut -d' ' -f1)" = "$want" ] ||
			fail "the download did not survive the path move"
		eval "$EXTRA_CLEANUP"
		EXTRA_CLEANUP=
		wait_log "$LOGDIR/cli.log" "moved to a new socket" 1 ||
			fail "the client did not move its path"
		wait_log "$LOGDIR/srv.log" "session [0-9a-f]* moved" 1 ||
			fail "the server did not follow the session"
	else
		skip_part "the client's UDP port was not found"
	fi
else
	skip_part "no iptables: path move"
fi

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

# the TCP carriers on the same port (§2.13): UoT, the HTTP upgrade on a
# secret path, and the decoy for everything else
S3=$(free_port); C5=$(free_port); C6=$(free_port); C7=$(free_port)
start_ostpd srv3 -D -L "ostp://$KEY@127.0.0.1:$S3?local_access=true&path=/s3cr3t-path"
start_ostpd cliuot -D -L "auto://127.0.0.1:$C5" -F "ostp://$KEY@127.0.0.1:$S3?type=uot"
start_ostpd cliws -D -L "auto://127.0.0.1:$C6" \
    -F "ostp://$KEY@127.0.0.1:$S3?type=uot&path=%2Fs3cr3t-path"
start_ostpd cliwrong -D -L "auto://127.0.0.1:$C7" \
    -F "ostp://$KEY@127.0.0.1:$S3?path=/wrong-path&timeout=3s"
wait_port "$C5" && wait_port "$C6" && wait_port "$C7" || fatal "uot clients"
wait_port "$S3" || fatal "the server's TCP carrier"
[ "$(get "$C5")" = "$want" ] || fail "curl through UoT"
[ "$(get "$C6")" = "$want" ] || fail "curl through the HTTP upgrade"
[ "$(get "$C7" 2>/dev/null)" != "$want" ] || fail "a wrong path was upgraded"
wait_log "$LOGDIR/cliwrong.log" "refused the HTTP upgrade" 10 ||
	fail "the wrong path was not refused"
code=$(curl -s -o "$LOGDIR/decoy.html" -w '%{http_code}' --max-time 5 \
    "http://127.0.0.1:$S3/")
[ "$code" = 404 ] || fail "the decoy answered $code to a plain HTTP probe"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    -H 'Sec-WebSocket-Version: 13' "http://127.0.0.1:$S3/s3cr3t-pat")
[ "$code" = 404 ] || fail "a near-miss path got $code"
[ "$(get "$C6")" = "$want" ] || fail "not serving after the probes"

# UoT inside TLS with the server's certificate (its key in the monitor),
# checked by the client against its CA; and the upgrade inside TLS
S4=$(free_port); C8=$(free_port); C9=$(free_port); C10=$(free_port)
T=$LOGDIR/tls; mkdir -p "$T"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" \
    -out "$T/ca.pem" -days 2 -subj "/CN=ostp test CA" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/srv.csr" \
    -subj "/CN=tunnel.test" >/dev/null 2>&1
printf 'subjectAltName=DNS:tunnel.test\n' >"$T/ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
    -CAcreateserial -out "$T/cert.pem" -days 2 -extfile "$T/ext" \
    >/dev/null 2>&1 || fatal "certificates"
chmod 644 "$T/key.pem"
start_ostpd srv4 -D -L "ostp://$KEY@127.0.0.1:$S4?local_access=true&path=/tls-path&cert=$T/cert.pem&key=$T/key.pem"
start_ostpd clitls -D -L "auto://127.0.0.1:$C8" \
    -F "ostp://$KEY@127.0.0.1:$S4?tls=1&sni=tunnel.test&insecure=1"
start_ostpd clitlsws -D -L "auto://127.0.0.1:$C9" \
    -F "ostp://$KEY@127.0.0.1:$S4?tls=1&sni=tunnel.test&insecure=1&path=/tls-path"
start_ostpd clitlsbad -D -L "auto://127.0.0.1:$C10" \
    -F "ostp://$KEY@127.0.0.1:$S4?tls=1&sni=tunnel.test&timeout=3s"
C11=$(free_port)
start_ostpd clitlsca -D -L "auto://127.0.0.1:$C11" \
    -F "ostp://$KEY@127.0.0.1:$S4?tls=1&sni=tunnel.test&ca=$T/ca.pem"
wait_port "$C8" && wait_port "$C9" && wait_port "$C10" && wait_port "$C11" ||
	fatal "tls clients"
wait_port "$S4" || fatal "the TLS server"
[ "$(get "$C8")" = "$want" ] || fail "curl through UoT in TLS"
[ "$(get "$C9")" = "$want" ] || fail "curl through the upgrade in TLS"
[ "$(get "$C11")" = "$want" ] || fail "curl through TLS verified by ca="
# a client that verifies refuses the certificate its roots do not sign
[ "$(get "$C10" 2>/dev/null)" != "$want" ] ||
	fail "an unverified certificate was accepted"
wait_log "$LOGDIR/clitlsbad.log" "TLS\|certificate\|verif" 10 ||
	fail "the refused certificate was not logged"
echo | openssl s_client -connect "127.0.0.1:$S4" -servername tunnel.test \
    -CAfile "$T/ca.pem" -verify_return_error >"$LOGDIR/s_client.out" 2>&1 ||
	fail "openssl s_client could not verify the TLS carrier"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$T/ca.pem" \
    --resolve "tunnel.test:$S4:127.0.0.1" "https://tunnel.test:$S4/")
[ "$code" = 404 ] || fail "the decoy inside TLS answered $code"

# a key's byte limit: past 1 MiB its session ends mid-download and its
# next handshakes get no answer; another key is still served
S6=$(free_port); C12=$(free_port); C13=$(free_port)
KL=limited-0123456789abcdef
printf '%s name=small limit=1M\n%s name=free\n' "$KL" "$KEY" \
    >"$LOGDIR/keys-limit.txt"
start_ostpd srvlim -D -L "ostp://:$S6?keys=$LOGDIR/keys-limit.txt&local_access=true"
start_ostpd clilim -D -L "auto://127.0.0.1:$C12" \
    -F "ostp://$KL@127.0.0.1:$S6?timeout=3s"
start_ostpd clifree -D -L "auto://127.0.0.1:$C13" -F "ostp://$KEY@127.0.0.1:$S6"
wait_port "$C12" && wait_port "$C13" || fatal "limit clients"
[ "$(get "$C12" 2>/dev/null)" != "$want" ] ||
	fail "a key past its byte limit got the whole 3 MB"
wait_log "$LOGDIR/srvlim.log" "key small reached its limit" 10 ||
	fail "the byte limit was not logged"
[ "$(get "$C12" 2>/dev/null)" != "$want" ] ||
	fail "a key past its limit was served again"
[ "$(get "$C13")" = "$want" ] || fail "another key was not served"

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

# a loopback peer is a local reverse proxy (§2.13): the per-IP limit of
# new TCP carrier connections (10 per 10 s) applies to X-Real-IP
i=0; n404=0
while [ $i -lt 14 ]; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	    -H 'X-Real-IP: 203.0.113.9' "http://127.0.0.1:$S3/x")
	[ "$code" = 404 ] && n404=$((n404 + 1))
	i=$((i + 1))
done
[ "$n404" -ge 10 ] && [ "$n404" -lt 14 ] ||
	fail "X-Real-IP limit: $n404 of 14 answered (10 or a few more expected)"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    -H 'X-Forwarded-For: 198.51.100.1, 203.0.113.10' "http://127.0.0.1:$S3/x")
[ "$code" = 404 ] || fail "another forwarded client was limited: $code"
[ "$(get "$C5")" = "$want" ] || fail "UoT after the X-Real-IP limit"

# fallback= (§2.13): the decoy is a splice to a real web server; the
# secret path still upgrades, and a probe gets the web server's answer
S8=$(free_port); C15=$(free_port)
start_ostpd srvfb -D -L "ostp://$KEY@127.0.0.1:$S8?local_access=true&path=/s3cr3t-path&fallback=127.0.0.1:$H"
start_ostpd clifb -D -L "auto://127.0.0.1:$C15" \
    -F "ostp://$KEY@127.0.0.1:$S8?type=uot&path=%2Fs3cr3t-path"
wait_port "$S8" && wait_port "$C15" || fatal "fallback server and client"
[ "$(curl -sS --max-time 10 "http://127.0.0.1:$S8/blob" | sha256sum |
    cut -d' ' -f1)" = "$want" ] ||
	fail "a probe of the OSTP port was not spliced to the fallback"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    "http://127.0.0.1:$S8/no-such-file")
[ "$code" = 404 ] || fail "the fallback's own answer: $code"
grep -q "code 404" "$LOGDIR/http.log" ||
	fail "the 404 was not the web server's"
[ "$(get "$C15")" = "$want" ] || fail "the secret path next to a fallback"
printf 'not http at all\r\n' | timeout 5 socat - "TCP:127.0.0.1:$S8" \
    >/dev/null 2>&1
[ "$(get "$C15")" = "$want" ] || fail "not serving after garbage"

# plain UoT with junk_pc/junk_ps and tcp_fragmentation (§2.12): the
# junk frames go whole, then msg1's length a byte at a time and msg1 in
# frag_chunk pieces, each its own TCP segment (seen by tcpdump); the
# server drops the junk and the tunnel works
if command -v tcpdump >/dev/null 2>&1; then
	S7=$(free_port); C14=$(free_port)
	start_ostpd srvfrag -D -L "ostp://$KEY@127.0.0.1:$S7?local_access=true"
	wait_port "$S7" || fatal "ostpd server (fragmentation)"
	timeout 30 tcpdump -i lo -nn -l -c 300 \
	    "tcp dst port $S7 and (tcp[tcpflags] & tcp-push != 0)" \
	    >"$LOGDIR/frag.pcap.txt" 2>"$LOGDIR/frag.tcpdump.err" &
	TD=$!
	PIDS="$PIDS $TD"
	wait_log "$LOGDIR/frag.tcpdump.err" "listening on" 10 ||
		fatal "tcpdump did not start"
	start_ostpd clifrag -D -L "auto://127.0.0.1:$C14" -F \
	    "ostp://$KEY@127.0.0.1:$S7?type=uot&tcp_fragmentation=1&frag_chunk=3&frag_sleep=1&junk_pc=2-2&junk_ps=300-300"
	wait_port "$C14" || fatal "ostpd client (fragmentation)"
	[ "$(get "$C14")" = "$want" ] || fail "curl through fragmented UoT"
	kill "$TD" 2>/dev/null
	wait "$TD" 2>/dev/null
	# two junk frames of 2 + 300 bytes, then 1, 1, and pieces of 3
	[ "$(grep -c 'length 302$' "$LOGDIR/frag.pcap.txt")" -ge 2 ] ||
		fail "the junk frames were not sent whole: $(head -n 5 "$LOGDIR/frag.pcap.txt")"
	[ "$(grep -c 'length 1$' "$LOGDIR/frag.pcap.txt")" -ge 2 ] &&
	    [ "$(grep -c 'length 3$' "$LOGDIR/frag.pcap.txt")" -ge 20 ] ||
		fail "msg1 was not fragmented: $(head -n 12 "$LOGDIR/frag.pcap.txt" | tr '\n' '|')"
	grep -q "junk" "$LOGDIR/srvfrag.log" 2>/dev/null || :
else
	skip_part "fragmentation: no tcpdump"
fi

finish
