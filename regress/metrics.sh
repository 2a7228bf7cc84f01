# Prometheus metrics at /metrics on the native configuration's
# "metrics" address: promtool accepts them, counters grow with traffic
# (per listener, per outbound, per user), dial failures are counted by
# reason, a handshake that never reaches a target is counted, DNS
# cache hits and misses per listener (names from a local unbound), other
# paths and garbage get no metrics, a reload moves the endpoint.
. regress/lib.sh
command -v promtool >/dev/null || skip "promtool (Debian's prometheus) not installed"

P=$(free_port); W=$(free_port); M=$(free_port); M2=$(free_port)
DU=$(free_port); DT=$(free_port)
DEAD=$(free_port)
mkdir -p "$LOGDIR/www"
echo hello >"$LOGDIR/www/index.html"
start_web web "$LOGDIR/www" "$W"
# a nameserver for the listener's dns=: its names are counted per
# listener, a miss and then hits from the cache
command -v unbound >/dev/null || skip "unbound is not installed (make deps)"
D=$LOGDIR/ns
mkdir -p "$D"
make_cert "$D/key.pem" "$D/cert.pem" dns.test
UP=$(free_port); UT=$(free_port)
start_unbound "$D" "$UP" "$UT" <<E
local-zone: "test." static
local-data: "web.test. 300 IN A 127.0.0.1"
E
wait_port "$UT" || fatal "unbound did not start"

conf() {
	cat >"$LOGDIR/ostpd.json" <<E
{
  "log": { "level": "info" },
  "metrics": "127.0.0.1:$1",
  "inbounds": [ { "tag": "front", "url": "http://u1:p1@127.0.0.1:$P?dns=127.0.0.1:$UP" },
    { "tag": "names", "url": "dns://127.0.0.1:$DU/127.0.0.1:$UP" },
    { "tag": "names-tcp", "url": "dns://127.0.0.1:$DT/127.0.0.1:$UP?mode=tcp" } ],
  "outbounds": [ { "tag": "out", "type": "direct" } ]
}
E
}
conf "$M"
"$OSTPD" -t -C "$LOGDIR/ostpd.json" >/dev/null || fatal "configuration refused"
start_ostpd metrics -S "$LOGDIR/ctl.sock" -C "$LOGDIR/ostpd.json"
wait_port "$P" || fatal "no listener"
wait_port "$M" || fatal "no metrics endpoint"

scrape() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics" >"$2"; }
# value FILE SERIES: the sample of one series (0 when absent)
value() {
	_v=$(grep -F "$2 " "$1" | awk '{ print $NF }' | head -n 1)
	echo "${_v:-0}"
}

scrape "$M" "$LOGDIR/m1.txt" || fail "no answer at /metrics"
promtool check metrics <"$LOGDIR/m1.txt" >"$LOGDIR/promtool1.out" 2>&1 ||
	fail "promtool: $(cat "$LOGDIR/promtool1.out")"
c1=$(value "$LOGDIR/m1.txt" 'ostpd_listener_connections_total{listener="front"}')

for i in 1 2 3; do
	curl -s -o /dev/null -x "http://u1:p1@127.0.0.1:$P" \
	    "http://127.0.0.1:$W/index.html" || fail "request $i"
done
# a name: asked for once, then from the resolver's cache
for i in 1 2; do
	curl -s -o /dev/null -x "http://u1:p1@127.0.0.1:$P" \
	    "http://web.test:$W/index.html" || fail "request by name $i"
done
# a dns:// listener: the same name twice over UDP (a miss, then its own
# cache), once over TCP (a connection of its own, with an access line)
for i in 1 2; do
	dig +short +tries=1 +time=3 -p "$DU" @127.0.0.1 web.test A \
	    >"$LOGDIR/dig$i.out" 2>&1
	grep -qx 127.0.0.1 "$LOGDIR/dig$i.out" ||
		fail "dns query $i: $(cat "$LOGDIR/dig$i.out")"
done
dig +tcp +short +tries=1 +time=3 -p "$DT" @127.0.0.1 web.test A \
    >"$LOGDIR/digtcp.out" 2>&1
grep -qx 127.0.0.1 "$LOGDIR/digtcp.out" ||
	fail "dns query over TCP: $(cat "$LOGDIR/digtcp.out")"
# a dial to a dead port, refused
curl -s -o /dev/null -x "http://u1:p1@127.0.0.1:$P" "http://127.0.0.1:$DEAD/"
# a client that says nothing and goes
socat -T1 /dev/null "TCP:127.0.0.1:$P" 2>/dev/null

_counted() {
	scrape "$M" "$LOGDIR/m2.txt" &&
	[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_connections_total{listener="front"}')" -ge $((c1 + 7)) ] &&
	[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_active_connections{listener="front"}')" -eq 0 ]
}
wait_until 5 _counted || fail "connections not counted: $(grep front "$LOGDIR/m2.txt")"
promtool check metrics <"$LOGDIR/m2.txt" >"$LOGDIR/promtool2.out" 2>&1 ||
	fail "promtool: $(cat "$LOGDIR/promtool2.out")"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_outbound_dials_total{outbound="out"}')" -ge 3 ] ||
	fail "outbound dials not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_sent_bytes_total{listener="front"}')" -gt 0 ] ||
	fail "listener bytes not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_outbound_received_bytes_total{outbound="out"}')" -gt 0 ] ||
	fail "outbound bytes not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_dial_failures_total{listener="front",reason="refused"}')" -ge 1 ] ||
	fail "refused dial not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_outbound_dial_failures_total{outbound="out",reason="refused"}')" -ge 1 ] ||
	fail "refused dial not counted for the outbound"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_handshake_failures_total{listener="front"}')" -ge 2 ] ||
	fail "handshake failures not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_user_connections_total{user="u1"}')" -ge 3 ] ||
	fail "user u1 not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_user_sent_bytes_total{user="u1"}')" -gt 0 ] ||
	fail "user u1 bytes not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_dns_cache_misses_total{listener="front"}')" -ge 1 ] ||
	fail "listener DNS misses not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_dns_cache_hits_total{listener="front"}')" -ge 1 ] ||
	fail "listener DNS hits not counted"
# the dns listeners: bytes of datagrams and of the TCP connection
for l in names names-tcp; do
	[ "$(value "$LOGDIR/m2.txt" "ostpd_listener_received_bytes_total{listener=\"$l\"}")" -gt 20 ] &&
	[ "$(value "$LOGDIR/m2.txt" "ostpd_listener_sent_bytes_total{listener=\"$l\"}")" -gt 20 ] ||
		fail "dns listener $l bytes not counted: $(grep "\"$l\"" "$LOGDIR/m2.txt" | grep bytes)"
done
[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_dns_cache_hits_total{listener="names"}')" -ge 1 ] &&
[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_dns_cache_misses_total{listener="names"}')" -ge 1 ] ||
	fail "dns listener cache hits/misses not counted"
[ "$(value "$LOGDIR/m2.txt" 'ostpd_listener_connections_total{listener="names-tcp"}')" -ge 1 ] ||
	fail "dns listener TCP connection not counted"
grep -q 'ostpd_listener_relays_total{listener="front",mode="' "$LOGDIR/m2.txt" ||
	fail "no relay mode series"
grep -q '^ostpd_workers 1$' "$LOGDIR/m2.txt" || fail "workers gauge"
grep -q 'u1:p1\|http://' "$LOGDIR/m2.txt" && fail "credentials or URLs in the metrics"

# other paths, garbage and an oversized head: no metrics, daemon fine
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$M/" >"$LOGDIR/root.code"
[ "$(cat "$LOGDIR/root.code")" = 404 ] || fail "/ answered $(cat "$LOGDIR/root.code")"
head -c 5000 /dev/urandom | socat -t 2 - "TCP:127.0.0.1:$M" >"$LOGDIR/garbage.out" 2>/dev/null
grep -q ostpd_ "$LOGDIR/garbage.out" && fail "garbage got metrics"
printf 'GET /metrics HTTP/1.0\r\n%s' "$(head -c 3000 /dev/zero | tr '\0' a)" |
	socat -t 2 - "TCP:127.0.0.1:$M" >"$LOGDIR/big.out" 2>/dev/null
grep -q ostpd_ "$LOGDIR/big.out" && fail "an oversized head got metrics"
scrape "$M" "$LOGDIR/m3.txt" && grep -q ostpd_build_info "$LOGDIR/m3.txt" ||
	fail "no metrics after bad requests"

# a reload moves the endpoint; the counters of the new generation count
conf "$M2"
kill -HUP "$OPID"
wait_log "$LOGDIR/metrics.log" "configuration reloaded (generation 2)" ||
	fail "no reload"
wait_port "$M2" || fail "metrics did not move to $M2"
curl -s -o /dev/null -x "http://u1:p1@127.0.0.1:$P" "http://127.0.0.1:$W/index.html"
scrape "$M2" "$LOGDIR/m4.txt" || fail "no answer on the new address"
promtool check metrics <"$LOGDIR/m4.txt" >"$LOGDIR/promtool4.out" 2>&1 ||
	fail "promtool: $(cat "$LOGDIR/promtool4.out")"
curl -s --max-time 2 "http://127.0.0.1:$M/metrics" >/dev/null &&
	fail "the old address still answers"

# -m on the command line
P3=$(free_port); M3=$(free_port)
start_ostpd metrics-m -S "$LOGDIR/ctl3.sock" -m "127.0.0.1:$M3" \
    -L "socks5://127.0.0.1:$P3"
wait_port "$M3" || fail "-m: no endpoint"
scrape "$M3" "$LOGDIR/m5.txt" && promtool check metrics <"$LOGDIR/m5.txt" \
    >/dev/null 2>&1 || fail "-m: metrics not valid"
"$OSTPD" -t -m nowhere -L "socks5://127.0.0.1:$P3" >"$LOGDIR/bad-m.out" 2>&1 &&
	fail "-m nowhere accepted"
grep -q -- "-m: bad metrics address" "$LOGDIR/bad-m.out" ||
	fail "-m nowhere: $(cat "$LOGDIR/bad-m.out")"
finish
