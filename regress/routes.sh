# gost's Routes with their own Mark and Interface: every socket a
# route's listeners make to leave this host (direct dials, the first
# hop of the route's chain, by address or by name, a DNS proxy's
# upstreams, the queries of its own resolver, rtcp's connection to its
# hop) carries that route's mark
# and is bound to its interface; a route without its own takes the
# top-level one.  The
# kernel's socket table shows the marks; in namespaces, an interface
# that leads nowhere fails the route bound to it, and a policy rule on a
# mark sends that route's traffic into a blackhole.
. regress/lib.sh

E=$(free_port); S=$(free_port); RT=$(free_port)
P0=$(free_port); P1=$(free_port); P2=$(free_port); P3=$(free_port)
start_echo "$E"
start_ostpd hop -L "socks5://127.0.0.1:$S"
wait_port "$S" || fatal "no socks5 hop"
cat >"$LOGDIR/routes.json" <<EOF
{ "ServeNodes": ["tcp://127.0.0.1:$P0/127.0.0.1:$E"], "Mark": 7,
  "Routes": [
    { "ServeNodes": ["tcp://127.0.0.1:$P1/127.0.0.1:$E"], "Mark": 17 },
    { "ServeNodes": ["tcp://127.0.0.1:$P2/127.0.0.1:$E"],
      "ChainNodes": ["socks5://127.0.0.1:$S"], "Mark": 34 },
    { "ServeNodes": ["tcp://127.0.0.1:$P3/127.0.0.1:$E"],
      "ChainNodes": ["socks5://127.0.0.1:$S"] },
    { "ServeNodes": ["rtcp://:$RT/127.0.0.1:$E"],
      "ChainNodes": ["socks5://127.0.0.1:$S"], "Mark": 85 } ] }
EOF
out=$("$OSTPD" -T -C "$LOGDIR/routes.json" 2>&1) || fail "-t refuses per-route marks: $out"
echo "$out" | grep -q '"mark": 17' || fail "-t does not show a route's mark: $out"
start_ostpd routes -C "$LOGDIR/routes.json"
for p in $P0 $P1 $P2 $P3; do
	wait_port "$p" || fatal "no listener on $p"
done
# rtcp in a route opens its port through the route's own chain (the
# top level has none), on a connection with the route's mark
wait_port "$RT" || fail "rtcp did not open its port through its route's chain"
$NETTOOL xfer 127.0.0.1 "$RT" 10000 2 >/dev/null 2>&1 || fail "rtcp through its route"
ss -tne state established "( dport = :$S )" >"$LOGDIR/ss-rt.out"
grep -q 'fwmark:0x55\b' "$LOGDIR/ss-rt.out" ||
    fail "rtcp's connection to the hop lacks its route's mark: $(cat "$LOGDIR/ss-rt.out")"
for p in $P0 $P1 $P2 $P3; do
	$NETTOOL hold 127.0.0.1 "$p" 1 20 "$LOGDIR/held-$p" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_until 10 test -s "$LOGDIR/held-$p" || fail "no connection through $p"
done
ss -tne state established "( dport = :$E )" >"$LOGDIR/ss-e.out"
ss -tne state established "( dport = :$S )" >"$LOGDIR/ss-s.out"
# direct: the top level's mark and route 0's own
[ "$(count "$LOGDIR/ss-e.out" 'fwmark:0x7\b')" -eq 1 ] ||
    fail "top-level direct socket lacks mark 0x7: $(cat "$LOGDIR/ss-e.out")"
[ "$(count "$LOGDIR/ss-e.out" 'fwmark:0x11\b')" -eq 1 ] ||
    fail "route 0's direct socket lacks mark 0x11: $(cat "$LOGDIR/ss-e.out")"
# chains: route 1's own mark, route 2 the top level's
[ "$(count "$LOGDIR/ss-s.out" 'fwmark:0x22\b')" -eq 1 ] ||
    fail "route 1's first hop lacks mark 0x22: $(cat "$LOGDIR/ss-s.out")"
[ "$(count "$LOGDIR/ss-s.out" 'fwmark:0x7\b')" -eq 1 ] ||
    fail "route 2's first hop lacks the top-level mark: $(cat "$LOGDIR/ss-s.out")"
grep -q 'fwmark:0x11\b' "$LOGDIR/ss-s.out" &&
    fail "route 0's mark on a chain socket: $(cat "$LOGDIR/ss-s.out")"
grep -q 'fwmark:0x22\b' "$LOGDIR/ss-e.out" &&
    fail "route 1's mark on a direct socket: $(cat "$LOGDIR/ss-e.out")"
grep -q 'outside the configuration' "$LOGDIR/routes.log" &&
    fail "the monitor refused a route's socket: $(cat "$LOGDIR/routes.log")"

# A DNS proxy's upstream connections carry its route's mark.
SL=$(free_port); DP=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
c, _ = s.accept(); time.sleep(10)' "$SL" >"$LOGDIR/slowdns.log" 2>&1 &
PIDS="$PIDS $!"
wait_until 5 listening "$SL" || fatal "the slow DNS upstream did not start"
cat >"$LOGDIR/dns.json" <<EOF
{ "ServeNodes": [], "Mark": 7,
  "Routes": [ { "ServeNodes": ["dns://127.0.0.1:$DP/tcp://127.0.0.1:$SL"],
      "Mark": 67 } ] }
EOF
start_ostpd dnsroute -C "$LOGDIR/dns.json"
_dnsup() { ss -lun "sport = :$DP" | grep -q ":$DP"; }
wait_until 5 _dnsup || fatal "no DNS proxy"
dig +tries=1 +time=8 @127.0.0.1 -p "$DP" example.test >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_until 5 established "$SL" || fail "no connection to the DNS upstream"
ss -tne state established "( dport = :$SL )" >"$LOGDIR/ss-dns.out"
grep -q 'fwmark:0x43\b' "$LOGDIR/ss-dns.out" ||
    fail "DNS upstream socket lacks its route's mark: $(cat "$LOGDIR/ss-dns.out")"

# A first hop given by name (resolved at each dial through the
# listener's hosts file, Happy Eyeballs) leaves with its route's mark.
PN=$(free_port)
printf '127.0.0.1 hop.routes.test\n' >"$LOGDIR/hosts"
cat >"$LOGDIR/named.json" <<EOF
{ "ServeNodes": [],
  "Routes": [ { "ServeNodes": ["tcp://127.0.0.1:$PN/127.0.0.1:$E?hosts=$LOGDIR/hosts"],
      "ChainNodes": ["socks5://hop.routes.test:$S"], "Mark": 68 } ] }
EOF
start_ostpd named -C "$LOGDIR/named.json"
wait_port "$PN" || fatal "no listener for the named hop"
$NETTOOL hold 127.0.0.1 "$PN" 1 20 "$LOGDIR/held-named" >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_until 10 test -s "$LOGDIR/held-named" || fail "no connection through the named hop"
ss -tne state established "( dport = :$S )" >"$LOGDIR/ss-named.out"
grep -q 'fwmark:0x44\b' "$LOGDIR/ss-named.out" ||
    fail "named first hop lacks its route's mark: $(cat "$LOGDIR/ss-named.out")"

# A listener's own resolver (dns=) asks its servers with the route's
# mark: the query's connected UDP socket shows it while it waits.
NSP=$(free_port); PR=$(free_port)
python3 -c 'import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", int(sys.argv[1])))
while True: u.recvfrom(2048)' "$NSP" >"$LOGDIR/silentns.log" 2>&1 &
PIDS="$PIDS $!"
_nsup() { ss -uln "sport = :$NSP" | grep -q ":$NSP"; }
wait_until 5 _nsup || fatal "the silent nameserver did not start"
cat >"$LOGDIR/res.json" <<EOF
{ "ServeNodes": [],
  "Routes": [ { "ServeNodes": ["tcp://127.0.0.1:$PR/target.routes.test:$E?dns=127.0.0.1:$NSP"],
      "Mark": 69 } ] }
EOF
start_ostpd resroute -C "$LOGDIR/res.json"
wait_port "$PR" || fatal "no listener with its own resolver"
echo hi | timeout 8 socat - "TCP:127.0.0.1:$PR" >/dev/null 2>&1 &
PIDS="$PIDS $!"
_query() { ss -une "( dport = :$NSP )" | grep -q "fwmark:0x45\b"; }
wait_until 5 _query ||
    fail "the listener's resolver asks without its route's mark: $(ss -une "( dport = :$NSP )")"

# Bad values: one line naming the route.
printf '{"ServeNodes":[":1"],"Routes":[{"ServeNodes":[":2"],"Mark":-1}]}\n' \
    >"$LOGDIR/bad1.json"
out=$("$OSTPD" -t -C "$LOGDIR/bad1.json" 2>&1) && fail "negative Mark accepted"
echo "$out" | grep -q 'Routes\[0\]\.Mark must be' || fail "bad Mark: $out"
printf '{"ServeNodes":[":1"],"Routes":[{"ServeNodes":[":2"],"Interface":"a/b"}]}\n' \
    >"$LOGDIR/bad2.json"
out=$("$OSTPD" -t -C "$LOGDIR/bad2.json" 2>&1) && fail "bad Interface accepted"
echo "$out" | grep -q 'Routes\[0\]\.Interface must be' || fail "bad Interface: $out"

# Interface and policy routing, in namespaces: ostpd in $D, an echo
# server in $T behind a veth pair; another link in $D leads nowhere,
# and mark 0x63 selects a table whose route to $T is a blackhole.
N=ostprt$$; D=${N}d; T=${N}t
inn() { _ns=$1; shift; ip netns exec "$_ns" "$@"; }
netns_add "$D" "$T"
veth_pair "$D" "${N}a" 10.203.0.1/24 "$T" "${N}b" 10.203.0.2/24
# (a veth whose peer stays in $D without an address: no dummy module)
inn "$D" ip link add "${N}z" type veth peer name "${N}y" || fatal "veth"
inn "$D" ip addr add 10.203.9.1/24 dev "${N}z"
inn "$D" ip link set "${N}z" up
inn "$D" ip link set "${N}y" up
inn "$D" ip rule add fwmark 0x63 lookup 163
inn "$D" ip route add blackhole 10.203.0.0/24 table 163
E2=$(free_port); Q0=$(free_port); Q1=$(free_port); Q2=$(free_port)
Q3=$(free_port)
inn "$T" $NETTOOL echo 0.0.0.0 "$E2" >"$LOGDIR/echo-ns.log" 2>&1 &
PIDS="$PIDS $!"
_tlisten() { inn "$T" ss -ltn "sport = :$E2" | grep -q LISTEN; }
wait_until 5 _tlisten || fatal "no echo server in $T"
tgt=10.203.0.2:$E2
cat >"$LOGDIR/ns.json" <<EOF
{ "ServeNodes": ["tcp://127.0.0.1:$Q0/$tgt"],
  "Routes": [
    { "ServeNodes": ["tcp://127.0.0.1:$Q1/$tgt"], "Interface": "${N}a" },
    { "ServeNodes": ["tcp://127.0.0.1:$Q2/$tgt?timeout=3s"],
      "Interface": "${N}z" },
    { "ServeNodes": ["tcp://127.0.0.1:$Q3/$tgt"], "Mark": 99 } ] }
EOF
inn "$D" "$OSTPD" -w 1 -C "$LOGDIR/ns.json" >"$LOGDIR/ns.log" 2>&1 &
PIDS="$PIDS $!"
_dlisten() { inn "$D" ss -ltn "sport = :$Q3" | grep -q LISTEN; }
wait_until 5 _dlisten || fatal "ostpd in $D does not listen"
inn "$D" $NETTOOL hold 127.0.0.1 "$Q0" 1 0 "$LOGDIR/h0" >/dev/null 2>&1 ||
    fail "the route without mark or interface does not reach $T"
inn "$D" $NETTOOL hold 127.0.0.1 "$Q1" 1 20 "$LOGDIR/h1" >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_until 10 test -s "$LOGDIR/h1" || fail "the route bound to ${N}a does not reach $T"
inn "$D" ss -tn state established "( dport = :$E2 )" >"$LOGDIR/ss-if.out"
grep -q "%${N}a" "$LOGDIR/ss-if.out" ||
    fail "route socket not bound to ${N}a: $(cat "$LOGDIR/ss-if.out")"
# bound to the dead end: the SYN goes nowhere, and the socket says where
inn "$D" $NETTOOL hold 127.0.0.1 "$Q2" 1 0 "$LOGDIR/h2" >/dev/null 2>&1 &
H2=$!
PIDS="$PIDS $H2"
_synz() { inn "$D" ss -tn state syn-sent "( dport = :$E2 )" | grep -q "%${N}z"; }
wait_until 5 _synz || fail "no connection attempt bound to ${N}z"
wait_until 10 gone "$H2" || fail "the route bound to ${N}z did not fail"
[ -s "$LOGDIR/h2" ] && fail "the route bound to ${N}z reached $T"
inn "$D" $NETTOOL hold 127.0.0.1 "$Q3" 1 0 "$LOGDIR/h3" >/dev/null 2>&1 &&
    fail "the route marked 0x63 was not blackholed by the policy rule"
inn "$D" $NETTOOL hold 127.0.0.1 "$Q0" 1 0 "$LOGDIR/h0b" >/dev/null 2>&1 ||
    fail "the unmarked route stopped working"
grep -q 'outside the configuration' "$LOGDIR/ns.log" &&
    fail "the monitor refused a route's socket: $(cat "$LOGDIR/ns.log")"

finish
