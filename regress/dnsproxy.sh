# dns://: dig and kdig against the proxy with a local unbound as the
# upstream over UDP, TCP and DNS over TLS, and a local HTTPS server for
# DNS over HTTPS; answers cached by TTL; malformed queries answered
# FORMERR (or dropped) and never forwarded; a dead upstream skipped.
. regress/lib.sh

command -v unbound >/dev/null || skip "unbound is not installed (make deps)"
D=$LOGDIR/dns
mkdir -p "$D"
make_cert "$D/key.pem" "$D/cert.pem" dns.test
UP=$(free_port); UT=$(free_port); DOH=$(free_port); DEAD=$(free_port)
start_unbound "$D" "$UP" "$UT" <<E
local-zone: "test.example." static
local-data: "www.test.example. 300 IN A 10.1.2.3"
local-data: "short.test.example. 2 IN A 10.9.9.9"
local-data: "v6.test.example. 300 IN AAAA 2001:db8::1"
$(i=0; while [ $i -lt 20 ]; do
	echo "local-data: 'big.test.example. 300 IN TXT \"record $i of a long answer, padded to sixty bytes or so....\"'"
	i=$((i + 1))
done)
E
$NETTOOL doh "$D/cert.pem" "$D/key.pem" "$DOH" "$UP" >"$LOGDIR/doh.out" 2>&1 &
PIDS="$PIDS $!"
wait_port "$UT" && wait_port "$DOH" || fatal "upstreams did not start"

P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port); P5=$(free_port)
start_ostpd dns -DD \
    -L "dns://127.0.0.1:$P1/127.0.0.1:$UP" \
    -L "dns://127.0.0.1:$P2/tls://127.0.0.1:$UT?mode=tcp" \
    -L "dns://127.0.0.1:$P3/tcp://127.0.0.1:$UP" \
    -L "dns://127.0.0.1:$P4/https://127.0.0.1:$DOH/dns-query" \
    -L "dns://127.0.0.1:$P5/tcp://127.0.0.1:$DEAD,127.0.0.1:$UP"
wait_port "$P2" || fatal "ostpd dns"
wait_log "$LOGDIR/dns.log" "running" || fatal "ostpd dns did not start"

q() {	# q DIG-ARGS...: the answer's first record
	dig +time=8 +tries=1 +short "$@" 2>&1 | head -n 1
}
[ "$(q @127.0.0.1 -p "$P1" www.test.example)" = 10.1.2.3 ] || fail "udp upstream"
[ "$(q @127.0.0.1 -p "$P2" +tcp v6.test.example AAAA)" = 2001:db8::1 ] ||
    fail "DoT upstream (dig over TCP)"
r=$(kdig +tcp +short @127.0.0.1 -p "$P2" www.test.example 2>&1 | head -n 1)
[ "$r" = 10.1.2.3 ] || fail "DoT upstream (kdig): $r"
[ "$(q @127.0.0.1 -p "$P3" www.test.example)" = 10.1.2.3 ] || fail "tcp upstream"
[ "$(q @127.0.0.1 -p "$P4" www.test.example)" = 10.1.2.3 ] || fail "DoH upstream"
[ "$(cat "$D/doh-count" 2>/dev/null)" -ge 1 ] 2>/dev/null || fail "the DoH server saw no query"
[ "$(q @127.0.0.1 -p "$P5" www.test.example)" = 10.1.2.3 ] ||
    fail "a dead first upstream was not skipped"
dig +time=8 +tries=1 @127.0.0.1 -p "$P1" nothere.test.example >"$LOGDIR/nx.out" 2>&1
grep -q "status: NXDOMAIN" "$LOGDIR/nx.out" || fail "NXDOMAIN not passed on"

# An answer over 512 bytes for a client without EDNS: the header and
# question with TC (RFC 1035 4.2.1), from an upstream that gave it all
# (TCP) and from the cache; with EDNS or over TCP the whole answer.
big() {	# big PORT DIG-ARGS...: the flags line and the answer count
	_p=$1; shift
	dig +time=8 +tries=1 +ignore -p "$_p" @127.0.0.1 big.test.example TXT \
	    "$@" 2>&1 | grep -E '^;; (flags|->>HEADER)|timed out' | tr '\n' ' '
}
for i in 1 2; do	# the second from the cache
	r=$(big "$P3" +noedns)
	echo "$r" | grep -q 'flags: qr[a-z ]* tc[a-z ]*;.* ANSWER: 0' ||
	    fail "a long answer without EDNS ($i): $r"
	r=$(big "$P3" +bufsize=600)
	echo "$r" | grep -q 'flags: qr[a-z ]* tc[a-z ]*;.* ANSWER: 0' ||
	    fail "a long answer over a 600-byte EDNS size ($i): $r"
	r=$(big "$P3" +bufsize=4096)
	echo "$r" | grep -q 'ANSWER: 20' && ! echo "$r" | grep -q ' tc' ||
	    fail "a long answer with EDNS 4096 ($i): $r"
done
r=$(big "$P1" +noedns)
echo "$r" | grep -q 'flags: qr[a-z ]* tc' || fail "a long answer from a UDP upstream: $r"
r=$(big "$P2" +tcp)
echo "$r" | grep -q 'ANSWER: 20' || fail "a long answer over TCP: $r"
[ "$(q @127.0.0.1 -p "$P3" www.test.example)" = 10.1.2.3 ] ||
    fail "no answer after long answers"

# The cache: a repeat comes from it; a TTL of 2 s runs out (asked
# again, every 0.2 s, until the proxy goes upstream: the only wait here
# is for the TTL itself).
before=$(grep -c "www.test.example from the cache" "$LOGDIR/dns.log")
[ "$(q @127.0.0.1 -p "$P1" www.test.example)" = 10.1.2.3 ] || fail "repeat"
# (log lines come through the monitor, a moment after the answer)
wait_count "$LOGDIR/dns.log" "www.test.example from the cache" $((before + 1)) ||
    fail "a repeated question was not answered from the cache"
ttl=$(dig +time=8 +tries=1 +noall +answer @127.0.0.1 -p "$P1" www.test.example | awk '{print $2}')
[ -n "$ttl" ] && [ "$ttl" -le 300 ] || fail "cached TTL: $ttl"
t0=$(date +%s)
q @127.0.0.1 -p "$P1" short.test.example >/dev/null
q @127.0.0.1 -p "$P1" short.test.example >/dev/null
n1=$(count "$LOGDIR/dns.log" "short.test.example type 1 to")
[ "$n1" = 1 ] || fail "short.test.example asked upstream $n1 times within its TTL"
asked_again() {
	sleep 0.2
	q @127.0.0.1 -p "$P1" short.test.example >/dev/null
	[ "$(count "$LOGDIR/dns.log" "short.test.example type 1 to")" -ge 2 ]
}
wait_until 3 asked_again || fail "short.test.example not asked again after its TTL"
[ $(( $(date +%s) - t0 )) -ge 1 ] || fail "short.test.example asked again within its TTL"

# Malformed: FORMERR or silence, never forwarded, the proxy still serves.
fw0=$(grep -c " to 127.0.0.1:$UP" "$LOGDIR/dns.log")
/usr/bin/python3 - "$P1" <<'PY' >"$LOGDIR/bad.out" 2>&1 || fail "malformed queries: $(cat "$LOGDIR/bad.out")"
import socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
def ask(m):
    s.sendto(m, ("127.0.0.1", port))
    try:
        return s.recvfrom(65535)[0]
    except socket.timeout:
        return None
q = b"\x03www\x04test\x07example\x00\x00\x01\x00\x01"
hdr = lambda id, flags, qd, an=0: struct.pack(">HHHHHH", id, flags, qd, an, 0, 0)
# two questions
r = ask(hdr(1, 0x0100, 2) + q + q)
assert r is not None and r[3] & 0x0f == 1 and r[2] & 0x80, r
# a response sent as a query: no answer at all
assert ask(hdr(2, 0x8180, 1) + q) is None
# truncated name
r = ask(hdr(3, 0x0100, 1) + b"\x03www\x04te")
assert r is not None and r[3] & 0x0f == 1, r
# trailing garbage
r = ask(hdr(4, 0x0100, 1) + q + b"junk")
assert r is not None and r[3] & 0x0f == 1, r
# shorter than a header: nothing
assert ask(b"\x00\x05\x01") is None
print("ok")
PY
fw1=$(grep -c " to 127.0.0.1:$UP" "$LOGDIR/dns.log")
[ "$fw0" = "$fw1" ] || fail "a malformed query was forwarded"
[ "$(q @127.0.0.1 -p "$P1" v6.test.example AAAA)" = 2001:db8::1 ] ||
    fail "no answer after bad input"
grep -q "malformed query" "$LOGDIR/dns.log" || fail "no debug line for malformed queries"

finish
