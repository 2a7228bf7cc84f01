# Names everywhere, through the daemon's own resolver, against a local
# unbound serving a test zone: a chain whose every hop is named, a
# forward target by name, a CNAME, a record that changes while the
# daemon runs (the next dial follows after its TTL), answers cached,
# NXDOMAIN and a refusing server giving the right SOCKS5 and HTTP
# errors, UDP, TCP, DoT and DoH nameservers, -M on the resolver's
# sockets, hostile names and a nameserver answering garbage, and Happy
# Eyeballs in a namespace where IPv6 goes nowhere.
. regress/lib.sh

command -v unbound >/dev/null || skip "unbound is not installed (make deps)"
command -v unbound-control >/dev/null || skip "unbound-control is missing"
D=$LOGDIR/ns
mkdir -p "$D"
make_cert "$D/key.pem" "$D/cert.pem" dns.test
UP=$(free_port); UT=$(free_port); RC=$(free_port); DOH=$(free_port)
start_unbound "$D" "$UP" "$UT" "$RC" <<E
local-zone: "test." static
local-data: "proxy1.test. 300 IN A 127.0.0.1"
local-data: "proxy1.test. 300 IN AAAA ::1"
local-data: "proxy2.test. 300 IN A 127.0.0.1"
local-data: "target.test. 300 IN A 127.0.0.1"
local-data: "target.test. 300 IN AAAA ::1"
local-data: "alias.test. 300 IN CNAME target.test."
local-data: "moving.test. 1 IN A 127.0.0.2"
local-zone: "refused.test." refuse
$(i=0; while [ $i -lt 100 ]; do	# 100 addresses: too long for UDP
	echo "local-data: \"big.test. 300 IN A 127.0.$((i / 200)).$((i % 200 + 1))\""
	i=$((i + 1))
done)
E
$NETTOOL doh "$D/cert.pem" "$D/key.pem" "$DOH" "$UP" >"$LOGDIR/doh.out" 2>&1 &
PIDS="$PIDS $!"
wait_port "$UT" && wait_port "$DOH" || fatal "nameservers did not start"

W=$LOGDIR/www; W2=$LOGDIR/www2; W3=$LOGDIR/www3
mkdir -p "$W" "$W2" "$W3"
want=$(make_blob "$W/blob" 200000)
echo two >"$W2/who"; echo three >"$W3/who"
H=$(free_port); HM=$(free_port); HB=$(free_port)
start_web web4 "$W" "$H"
start_web web6 "$W" "$H" ::1
start_web two "$W2" "$HM" 127.0.0.2
start_web three "$W3" "$HM" 127.0.0.3

get() {	# get PROXY URL [curl args]: prints the body's sha256
	_x=$1; _u=$2; shift 2
	curl -sS --max-time 10 -x "$_x" "$@" "$_u" | sha256sum | cut -d' ' -f1
}
code() {	# code PROXY URL: the HTTP status curl saw
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "$1" "$2"
}

# --- a chain whose every hop is named --------------------------------
P1=$(free_port); P2=$(free_port); PA=$(free_port)
start_ostpd far -DD -L "socks5://127.0.0.1:$P1?dns=127.0.0.1:$UP" \
    -L "http://127.0.0.1:$P2?dns=127.0.0.1:$UP"
start_ostpd chain -DD -L "socks5://127.0.0.1:$PA?dns=127.0.0.1:$UP" \
    -F "socks5://proxy1.test:$P1" -F "http://proxy2.test:$P2"
wait_port "$P2" && wait_port "$PA" || fatal "chain daemons"
[ "$(get "socks5h://127.0.0.1:$PA" "http://target.test:$H/blob")" = "$want" ] ||
    fail "a chain of named hops to a named target"
grep -q "proxy1.test: trying" "$LOGDIR/chain.log" ||
    fail "the first hop's name was not resolved by the listener's resolver"
[ "$(get "socks5h://127.0.0.1:$PA" "http://alias.test:$H/blob")" = "$want" ] ||
    fail "a CNAME through the chain"
# a listener without dns=: the first hop from its hosts file, target
# names resolved at the chain's far end; hop 0 cannot resolve the next
# hop's name, and the log says that, naming both
PC=$(free_port)
printf '127.0.0.1 proxy1.test\n' >"$LOGDIR/hosts"
start_ostpd chain2 -DD -L "socks5://127.0.0.1:$PC?hosts=$LOGDIR/hosts" \
    -F "socks5://proxy1.test:$P1" -F "http://nosuchproxy.test:$P2"
wait_port "$PC" || fatal "chain2"
curl -s --max-time 10 -x "socks5h://127.0.0.1:$PC" "http://target.test:$H/" \
    >/dev/null 2>&1
wait_log "$LOGDIR/chain2.log" "hop 0 (proxy1.test:$P1) could not reach nosuchproxy.test:$P2" ||
    fail "a hop's refusal is not logged as one"
assert_serving "socks5h://127.0.0.1:$PA" "http://target.test:$H/blob"

# --- direct dials through each kind of nameserver --------------------
Q1=$(free_port); Q2=$(free_port); Q3=$(free_port); Q4=$(free_port)
Q5=$(free_port)
start_ostpd direct -DD -L "socks5://127.0.0.1:$Q1?dns=127.0.0.1:$UP" \
    -L "http://127.0.0.1:$Q2?dns=127.0.0.1:$UP/tcp" \
    -L "socks5://127.0.0.1:$Q3?dns=127.0.0.1:$UT/tls" \
    -L "socks5://127.0.0.1:$Q4?dns=https://127.0.0.1:$DOH/dns-query" \
    -L "tcp://127.0.0.1:$Q5/target.test:$H?dns=127.0.0.1:$UP"
wait_port "$Q5" || fatal "direct daemon"
DL=$LOGDIR/direct.log
[ "$(get "socks5h://127.0.0.1:$Q1" "http://target.test:$H/blob")" = "$want" ] ||
    fail "UDP nameserver"
[ "$(get "http://127.0.0.1:$Q2" "http://target.test:$H/blob")" = "$want" ] ||
    fail "TCP nameserver"
[ "$(get "socks5h://127.0.0.1:$Q3" "http://target.test:$H/blob")" = "$want" ] ||
    fail "DoT nameserver"
[ "$(get "socks5h://127.0.0.1:$Q4" "http://target.test:$H/blob")" = "$want" ] ||
    fail "DoH nameserver"
[ "$(cat "$D/doh-count" 2>/dev/null)" -ge 1 ] 2>/dev/null ||
    fail "the DoH server saw no query"
[ "$(curl -sS --max-time 10 "http://127.0.0.1:$Q5/blob" | sha256sum |
    cut -d' ' -f1)" = "$want" ] || fail "a forward target by name"

# an answer too long for UDP (100 addresses) is asked again over TCP
start_web big "$W" "$HB" 0.0.0.0
[ "$(get "socks5h://127.0.0.1:$Q1" "http://big.test:$HB/blob")" = "$want" ] ||
    fail "a name with 100 addresses"
grep -q "big.test was cut short; asking over TCP" "$DL" ||
    fail "a truncated answer was not asked again over TCP"

# answers are cached: a second dial asks nobody
before=$(count "$D/unbound.log" "target.test. AAAA IN")
[ "$(get "socks5h://127.0.0.1:$Q1" "http://target.test:$H/blob")" = "$want" ] ||
    fail "UDP nameserver, again"
[ "$(count "$D/unbound.log" "target.test. AAAA IN")" = "$before" ] ||
    fail "a fresh answer was asked for again"

# a resolver file's prefer, reloaded live: the family tried first follows
QP=$(free_port)
printf 'reload 1s\nprefer ipv4\nnameserver 127.0.0.1:%s\n' "$UP" >"$LOGDIR/pref.resolv"
start_ostpd pref -DD -L "socks5://127.0.0.1:$QP?dns=$LOGDIR/pref.resolv"
wait_port "$QP" || fatal "prefer daemon"
[ "$(get "socks5h://127.0.0.1:$QP" "http://target.test:$H/blob")" = "$want" ] ||
    fail "through a resolver file with prefer ipv4"
grep "target.test: trying" "$LOGDIR/pref.log" | head -n 1 | grep -q "trying 127.0.0.1 " ||
    fail "prefer ipv4: IPv4 was not tried first"
n=$(count "$LOGDIR/pref.log" "target.test: trying")
printf 'reload 1s\nprefer ipv6\nnameserver 127.0.0.1:%s\n' "$UP" |
    live_write "$LOGDIR/pref.resolv" "$LOGDIR/pref.log" || fail "no reload of the resolver file"
[ "$(get "socks5h://127.0.0.1:$QP" "http://target.test:$H/blob")" = "$want" ] ||
    fail "through a resolver file with prefer ipv6"
grep "target.test: trying" "$LOGDIR/pref.log" | sed -n "$((n + 1))p" | grep -q "trying ::1 " ||
    fail "prefer ipv6 after the reload: IPv6 was not tried first"

# a record that changes: the next dial after its TTL follows it
who() { curl -s --max-time 5 -x "socks5h://127.0.0.1:$Q1" "http://moving.test:$HM/who"; }
[ "$(who)" = two ] || fail "moving.test before the change"
unbound-control -c "$D/unbound.conf" local_data "moving.test. 1 IN A 127.0.0.3" \
    >"$LOGDIR/uc.out" 2>&1 || fail "unbound-control: $(cat "$LOGDIR/uc.out")"
_moved() { [ "$(who)" = three ]; }
wait_until 10 _moved || fail "the dial did not follow the changed record"

# NXDOMAIN: SOCKS5 host unreachable (4), HTTP 502; a refusing server:
# SOCKS5 general failure (1); and the daemon goes on serving
curl -sS --max-time 10 -x "socks5h://127.0.0.1:$Q1" "http://nothere.test:$H/" \
    >/dev/null 2>"$LOGDIR/nx.err"
grep -qi "unreachable\|(4)" "$LOGDIR/nx.err" ||
    fail "NXDOMAIN over SOCKS5: $(cat "$LOGDIR/nx.err")"
[ "$(code "http://127.0.0.1:$Q2" "http://nothere.test:$H/")" = 502 ] ||
    fail "NXDOMAIN over HTTP is not 502"
curl -sS --max-time 10 -x "socks5h://127.0.0.1:$Q1" "http://x.refused.test:$H/" \
    >/dev/null 2>"$LOGDIR/ref.err"
grep -qi "general\|(1)" "$LOGDIR/ref.err" ||
    fail "a refusing nameserver over SOCKS5: $(cat "$LOGDIR/ref.err")"
grep -q "no such name" "$DL" || fail "no log line for NXDOMAIN"
assert_serving "socks5h://127.0.0.1:$Q1" "http://target.test:$H/blob"

# hostile names: too long, a label too long, control bytes, NUL
python3 - "$Q1" >"$LOGDIR/hostile.out" 2>&1 <<'E' || fail "hostile names: $(cat "$LOGDIR/hostile.out")"
import socket, sys
port = int(sys.argv[1])
for name in [b"a" * 60 + b"." + b"b" * 60 + b"." + b"c" * 60 + b"." + b"d" * 60
             + b".test", b"x" * 64 + b".test", b"a\x01b.test", b"a\x00b.test",
             b"a b.test", b"..test"]:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + b"\x00\x50")
    r = s.recv(10)
    assert len(r) >= 2 and r[1] != 0, (name, r)
    s.close()
E
assert_serving "socks5h://127.0.0.1:$Q1" "http://target.test:$H/blob"

# --- a nameserver answering garbage ----------------------------------
BAD=$(free_port); QB=$(free_port)
$NETTOOL baddns 127.0.0.1 "$BAD" >"$LOGDIR/baddns.out" 2>&1 &
PIDS="$PIDS $!"
printf 'timeout 1s\nnameserver 127.0.0.1:%s\n' "$BAD" >"$LOGDIR/bad.resolv"
start_ostpd bad -DD -L "socks5://127.0.0.1:$QB?dns=$LOGDIR/bad.resolv"
wait_port "$QB" || fatal "bad daemon"
i=0
while [ $i -lt 6 ]; do
	curl -s --max-time 10 -x "socks5h://127.0.0.1:$QB" "http://g$i.test:$H/" \
	    >/dev/null 2>&1 && fail "a garbage answer gave an address"
	i=$((i + 1))
done
assert_serving "socks5h://127.0.0.1:$QB" "http://127.0.0.1:$H/blob"
grep -q "killed by signal\|exited" "$LOGDIR/bad.log" && fail "a worker died on garbage"

# --- ip= of a resolver file: queries carry the client subnet ----------
ED=$(free_port); QE=$(free_port)
$NETTOOL dns 127.0.0.1 "$ED" >"$LOGDIR/ecsdns.out" 2>&1 &
PIDS="$PIDS $!"
printf 'ip 192.0.2.99\nnameserver 127.0.0.1:%s\n' "$ED" >"$LOGDIR/ecs.resolv"
start_ostpd ecs -DD -L "socks5://127.0.0.1:$QE?dns=$LOGDIR/ecs.resolv&prefer=ipv4"
wait_port "$QE" || fatal "ecs daemon"
[ "$(get "socks5h://127.0.0.1:$QE" "http://any.test:$H/blob")" = "$want" ] ||
    fail "through a resolver file with ip="
grep -q "^ecs 1/24 c00002$" "$LOGDIR/ecsdns.out" ||
    fail "no client subnet in the query: $(cat "$LOGDIR/ecsdns.out")"

# --- -M: the resolver's sockets carry the mark ------------------------
SIL=$(free_port); QM=$(free_port)
socat -u "UDP-RECV:$SIL,bind=127.0.0.1" /dev/null 2>/dev/null &
PIDS="$PIDS $!"
start_ostpd mark -DD -M 0x4d2 -L "socks5://127.0.0.1:$QM?dns=127.0.0.1:$SIL"
wait_port "$QM" || fatal "mark daemon"
curl -s --max-time 8 -x "socks5h://127.0.0.1:$QM" "http://silent.test:$H/" \
    >/dev/null 2>&1 &
CURL=$!
_marked() { ss -uane "( dport = :$SIL )" | grep -q "fwmark:0x4d2"; }
wait_until 5 _marked || fail "no mark on the resolver's socket: $(ss -uane "( dport = :$SIL )")"
kill "$CURL" 2>/dev/null

# --- Happy Eyeballs: IPv6 goes nowhere, IPv4 wins quickly ------------
NS=ostp-names-$$
netns_add "$NS"
# the IPv6 address is the namespace's own, and its SYNs are dropped
ip -n "$NS" -6 addr add 2001:db8:2::1/128 dev lo nodad
ip netns exec "$NS" ip6tables -A OUTPUT -d 2001:db8:2::1 -p tcp -j DROP ||
    fatal "ip6tables in the namespace"
HN=$(free_port); DN=$(free_port); PN=$(free_port)
ip netns exec "$NS" $NETTOOL dns 127.0.0.1 "$DN" 2001:db8:2::1 \
    >"$LOGDIR/nsdns.out" 2>&1 &
PIDS="$PIDS $!"
start_web nsweb "$W" "$HN" 127.0.0.1 "$NS"
ip netns exec "$NS" "$OSTPD" -w 1 -DD \
    -L "socks5://127.0.0.1:$PN?dns=127.0.0.1:$DN&timeout=30s" \
    >"$LOGDIR/he.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PN" 127.0.0.1 "$NS" || fatal "daemon in the namespace"
t0=$(date +%s%N)
sum=$(ip netns exec "$NS" curl -sS --max-time 20 -x "socks5h://127.0.0.1:$PN" \
    "http://he.test:$HN/blob" | sha256sum | cut -d' ' -f1)
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ "$sum" = "$want" ] || fail "Happy Eyeballs: no transfer"
grep -q "he.test: trying 2001:db8:2::1" "$LOGDIR/he.log" ||
    fail "IPv6 was not tried first"
grep -q "he.test: trying 127.0.0.1" "$LOGDIR/he.log" ||
    fail "IPv4 was not tried"
# RFC 8305: the IPv4 attempt starts 250 ms after the IPv6 one; a dialer
# trying the families in turn would wait for the IPv6 attempt to time
# out (the kernel's SYN retries, or timeout=30s)
[ "$ms" -lt 2500 ] || fail "Happy Eyeballs took $ms ms"
log "Happy Eyeballs: connected over IPv4 in $ms ms"

finish
