# System-wide capture: a tun inbound without a peer (lwIP in the worker)
# takes the TCP flows a namespace routes into it and sends them through
# the routing rules: a SOCKS5 chain to a second ostpd by default, direct
# for a CIDR rule.  Three namespaces joined by veth:
#
#   C (curl, capture ostpd)  192.168.81.2 -- 192.168.81.1  M (socks5 ostpd)
#   M 10.214.0.1 -- 10.214.0.2, 10.214.0.3  W (web server)
#
# C routes 10.214.0.0/24 into the capture device.  The web server's log
# tells which way a request came: from M's 10.214.0.1 (through SOCKS5)
# or from C's 192.168.81.2 (direct, routed by M).
. regress/lib.sh

C=ostpcap-c$$; M=ostpcap-m$$; W=ostpcap-w$$
ns_line $C $M $W 192.168.81 10.214.0 fd00:81:: fd00:214::
ip -n $W addr add 10.214.0.3/24 dev wm$$
ip -n $W addr add 10.214.0.4/24 dev wm$$
ip -n $W addr add fd00:214::3/64 dev wm$$ nodad
# icmp=direct: the monitor (group 0) opens ICMP datagram sockets, which
# the kernel allows only to the groups of ping_group_range (a new
# namespace allows none; Debian's systemd sets all in the host's).
ip netns exec $C sysctl -qw net.ipv4.ping_group_range="0 2147483647"
# W counts the echo requests that reach it, and those with TTL 19.
for t in "" "-m ttl --ttl-eq 19"; do
	ip netns exec $W iptables -A INPUT -p icmp --icmp-type echo-request $t
done
ip netns exec $W ip6tables -A INPUT -p ipv6-icmp --icmpv6-type echo-request

WEB=$LOGDIR/www
mkdir -p "$WEB"
SUM=$(make_blob "$WEB/blob" 3000000) || fatal "blob"
start_web web "$WEB" 8080 0.0.0.0 $W
start_web web6 "$WEB" 8081 :: $W

# M: a SOCKS5 proxy, the chain's one hop.
printf '10.214.0.2 web.test blocked.test\n' >"$LOGDIR/hosts"
ip netns exec $M "$OSTPD" -w 1 \
	-L "socks5://192.168.81.1:1080?hosts=$LOGDIR/hosts" \
	>"$LOGDIR/socks.log" 2>&1 &
PIDS="$PIDS $!"
wait_port 1080 192.168.81.1 $M || fatal "socks5 server did not start"

# C: the capture.  Its sockets are bound to the veth (interface), so a
# direct dial to a captured address leaves by the veth, not the device.
cat >"$LOGDIR/cap.json" <<E
{ "log": { "level": "debug" },
  "inbounds": [ { "type": "tun", "tag": "cap", "name": "ostpcap0",
    "net": "10.215.0.1/24", "net6": "fd00:215::1/64", "mtu": 1500,
    "routes": [ "10.214.0.0/24", "fd00:214::/64" ],
    "dns": "10.215.0.2", "fake_ip": "198.18.0.0/15", "icmp": "direct",
    "interface": "cc$$" } ],
  "outbounds": [
    { "tag": "px", "type": "chain", "hops": [ "socks5://192.168.81.1:1080" ] },
    { "tag": "direct", "type": "direct" },
    { "tag": "deny", "type": "block" } ],
  "routing": { "rules": [
    { "ip_cidr": [ "10.214.0.3/32", "fd00:214::3/128" ],
      "outbound": "direct" },
    { "domain": [ "blocked.test" ], "outbound": "deny" } ],
    "default_outbound": "px" } }
E
ip route show table all >"$LOGDIR/routes.before" 2>&1
ip netns exec $C "$OSTPD" -w 1 -C "$LOGDIR/cap.json" \
	>"$LOGDIR/cap.log" 2>&1 &
CPID=$!; PIDS="$PIDS $CPID"
wait_log "$LOGDIR/cap.log" 'ready' 5 || fatal "capture daemon not ready"

ip -n $C -o addr show dev ostpcap0 | grep -q 'inet 10.215.0.1/24' ||
	fail "capture device address missing"
ip -n $C -o link show dev ostpcap0 | grep -q 'mtu 1500' ||
	fail "capture device MTU not 1500"
ip -n $C route show 10.214.0.0/24 | grep -q 'dev ostpcap0' ||
	fail "route 10.214.0.0/24 into the device missing"

# By IP, through the chain: the web server sees M.
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got" \
	http://10.214.0.2:8080/blob || fail "curl through the capture"
[ "$(sha256sum <"$LOGDIR/got" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download through the capture is not byte-exact"
grep -q '^10.214.0.1 .*GET /blob' "$LOGDIR/web.log" ||
	fail "the request did not come through the SOCKS5 hop"

# IPv6: the device's second address, an IPv6 flow through the chain.
ip -n $C -o addr show dev ostpcap0 | grep -q 'inet6 fd00:215::1/64' ||
	fail "capture device IPv6 address missing"
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got6" \
	'http://[fd00:214::2]:8081/blob' || fail "curl over IPv6 through the capture"
[ "$(sha256sum <"$LOGDIR/got6" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "IPv6 download through the capture is not byte-exact"
grep -q 'fd00:214::1 .*GET /blob' "$LOGDIR/web6.log" ||
	fail "the IPv6 request did not come through the SOCKS5 hop"
ip netns exec $C ping -6 -c 2 -i 0.2 -W 2 fd00:214::9 >"$LOGDIR/ping6.out" 2>&1 ||
	fail "ICMPv6 echo through the capture not answered"

# Several at once.
CURLS=
for i in 1 2 3 4; do
	ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got$i" \
	    http://10.214.0.2:8080/blob &
	CURLS="$CURLS $!"
done
for j in $CURLS; do wait "$j"; done
for i in 1 2 3 4; do
	[ "$(sha256sum <"$LOGDIR/got$i" | cut -d' ' -f1)" = "$SUM" ] ||
	    fail "parallel download $i is not byte-exact"
done

# iperf3 through the capture and the SOCKS5 hop, TCP and UDP, both
# ways (2 s each): the transfers complete, data moved, UDP loses
# (almost) nothing at a modest rate.
if command -v iperf3 >/dev/null 2>&1; then
	ip netns exec $W iperf3 -s -p 5201 >"$LOGDIR/iperf3-s.log" 2>&1 &
	PIDS="$PIDS $!"
	_w_listen() { ip netns exec $W ss -ltn 'sport = :5201' | grep -q LISTEN; }
	wait_until 5 _w_listen || fail "iperf3 server did not start"
	for m in "" "-R" "-u -b 20M" "-u -b 20M -R"; do
		ip netns exec $C timeout 20 iperf3 -c 10.214.0.2 -p 5201 -t 2 \
		    -J $m >"$LOGDIR/iperf3.json" 2>&1 ||
		    { fail "iperf3 $m through the capture"; continue; }
		python3 - "$m" "$LOGDIR/iperf3.json" <<'P' || fail "iperf3 $m: bad figures"
import json, sys
j = json.load(open(sys.argv[2]))["end"]
if "-u" in sys.argv[1]:
    s = j["sum"]
    ok = s["bytes"] > 1000000 and s["lost_percent"] < 5
else:
    s = j["sum_received"]
    ok = s["bytes"] > 1000000
print("iperf3 %s: %.1f Mbit/s%s" % (sys.argv[1] or "tcp",
      s["bits_per_second"] / 1e6,
      ", lost %.2f%%" % s["lost_percent"] if "-u" in sys.argv[1] else ""))
sys.exit(0 if ok else 1)
P
	done
else
	skip_part "iperf3 not installed"
fi

# The CIDR rule: direct, so the web server sees C's own address.
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-d" \
	http://10.214.0.3:8080/blob || fail "curl to the direct address"
[ "$(sha256sum <"$LOGDIR/got-d" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "direct download is not byte-exact"
grep -q '^192.168.81.2 .*GET /blob' "$LOGDIR/web.log" ||
	fail "the ip_cidr rule to direct was not honoured"

# UDP: a session per client port, through the chain (UDP over the
# SOCKS5 hop) and direct by the rule; answers come back from the
# address the client sent to.
start_udpecho 9053 0.0.0.0 $W
[ "$(ip netns exec $C $NETTOOL udpcheck 10.214.0.2 9053 3)" = 3 ] ||
	fail "UDP through the capture and the chain"
[ "$(ip netns exec $C $NETTOOL udpcheck 10.214.0.3 9053 3)" = 3 ] ||
	fail "UDP through the capture, direct"

# DNS to any address is answered by the daemon; with fake-IP a name
# gets an address of the range, routed into the device, and a flow to
# it is dialed to the name (domain rules apply; the SOCKS5 hop gets the
# name and resolves it from its hosts file).
ip -n $C route show 198.18.0.0/15 | grep -q 'dev ostpcap0' ||
	fail "fake-IP range not routed into the device"
FAKE=$(ip netns exec $C dig +short +time=3 +tries=1 @10.215.0.2 web.test A)
case $FAKE in
198.18.*|198.19.*) ;;
*)	fail "no fake address for web.test: '$FAKE'" ;;
esac
AGAIN=$(ip netns exec $C dig +short +time=3 +tries=1 @10.214.0.77 web.test A)
[ "$AGAIN" = "$FAKE" ] || fail "hijacked query: '$AGAIN', not '$FAKE'"
[ -z "$(ip netns exec $C dig +short +time=3 +tries=1 @10.215.0.2 web.test \
    AAAA)" ] || fail "an AAAA answer beside the fake address"
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-n" \
	"http://$FAKE:8080/blob" || fail "curl by name through fake-IP"
[ "$(sha256sum <"$LOGDIR/got-n" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download by name is not byte-exact"
grep -q 'flow to web.test port 8080' "$LOGDIR/cap.log" ||
	fail "the fake-IP flow was not dialed by name"
# UDP to the fake address: the answers come from that address (the one
# the client sent to), not from where the far end resolved the name.
UFROM=$(ip netns exec $C python3 - "$FAKE" <<'P'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
got = "none"
for i in range(3):
    s.sendto(b"fake-udp-%d" % i, (sys.argv[1], 9053))
    try:
        d, a = s.recvfrom(2048)
        if d == b"fake-udp-%d" % i:
            got = "%s:%d" % a
            break
    except socket.timeout:
        pass
print(got)
P
)
[ "$UFROM" = "$FAKE:9053" ] ||
	fail "UDP answer through fake-IP from '$UFROM', not $FAKE:9053"
BFAKE=$(ip netns exec $C dig +short +time=3 +tries=1 @10.215.0.2 \
	blocked.test A)
[ -n "$BFAKE" ] && [ "$BFAKE" != "$FAKE" ] ||
	fail "no fake address of its own for blocked.test: '$BFAKE'"
ip netns exec $C curl -s --max-time 10 -o /dev/null "http://$BFAKE:8080/" &&
	fail "a domain rule to block was not honoured"
# an address of the range that stands for no name: refused
ip netns exec $C curl -s --max-time 10 -o /dev/null \
	http://198.19.255.250:8080/ && fail "an unused fake address answered"
grep -q 'flow to 198.19.255.250' "$LOGDIR/cap.log" &&
	fail "an unused fake address was dialed"

# Nothing listens there: the client sees a refusal, not a hang.
ip netns exec $C curl -s --max-time 10 -o /dev/null \
	http://10.214.0.2:8099/ && fail "a refused port answered"

# ICMP echo to an address routed to the SOCKS5 hop (which carries no
# ICMP) is answered by the capture's stack itself: TTL 255, nothing
# reaches W.
wcount() {
	ip netns exec $W ${2:-iptables} -L INPUT -v -x -n |
	    awk -v n="$1" '$1 ~ /^[0-9]+$/ && ++i == n { print $1 }'
}
W0=$(wcount 1)
ip netns exec $C ping -c 2 -i 0.2 -W 2 10.214.0.9 >"$LOGDIR/ping.out" 2>&1 ||
	fail "ping through the capture not answered"
ip netns exec $C ping -c 2 -i 0.2 -W 2 10.214.0.2 >"$LOGDIR/ping-px.out" 2>&1 ||
	fail "ping to a proxied address not answered"
grep -q 'ttl=255' "$LOGDIR/ping-px.out" ||
	fail "ping to a proxied address not answered by the capture: $(cat "$LOGDIR/ping-px.out")"
[ "$(wcount 1)" = "$W0" ] || fail "a ping to a proxied address reached W"
# icmp=direct: to an address the rules send direct, the echo request
# goes on to the host (W counts it, with the TTL the client chose less
# M's hop) and its reply comes back with the client's identifier and
# sequence (ping, over a datagram socket, sees only those) and the TTL
# it arrived with (W's 64 less M's hop).
ip netns exec $C ping -c 3 -i 0.2 -W 2 10.214.0.3 >"$LOGDIR/ping-d.out" 2>&1 ||
	fail "ping direct through the capture: $(cat "$LOGDIR/ping-d.out")"
grep -q '3 received' "$LOGDIR/ping-d.out" && ! grep -q DUP "$LOGDIR/ping-d.out" ||
	fail "ping direct: not 3 replies, once each: $(cat "$LOGDIR/ping-d.out")"
for q in 1 2 3; do
	grep -q "icmp_seq=$q ttl=63 " "$LOGDIR/ping-d.out" ||
	    fail "ping direct: no reply $q with W's TTL: $(cat "$LOGDIR/ping-d.out")"
done
[ "$(wcount 1)" = "$((W0 + 3))" ] ||
	fail "ping direct: W counted $(($(wcount 1) - W0)) echo requests, not 3"
ip netns exec $C ping -c 1 -t 20 -W 2 10.214.0.3 >/dev/null 2>&1 ||
	fail "ping direct with TTL 20"
[ "$(wcount 2)" = 1 ] || fail "ping direct: the client's TTL was not kept"
W6=$(wcount 1 ip6tables)
ip netns exec $C ping -6 -c 3 -i 0.2 -W 2 fd00:214::3 >"$LOGDIR/ping6-d.out" 2>&1 ||
	fail "ping -6 direct through the capture: $(cat "$LOGDIR/ping6-d.out")"
grep -q '3 received' "$LOGDIR/ping6-d.out" &&
    grep -q 'icmp_seq=3 ttl=63 ' "$LOGDIR/ping6-d.out" ||
	fail "ping -6 direct: $(cat "$LOGDIR/ping6-d.out")"
[ "$(wcount 1 ip6tables)" = "$((W6 + 3))" ] ||
	fail "ping -6 direct: W counted $(($(wcount 1 ip6tables) - W6)), not 3"
# a flood of pings (more than the 1000 a second sent on) while a
# download runs: the download is byte-exact, pings work afterwards
ip netns exec $C curl -s --max-time 30 -o "$LOGDIR/got-p" \
	http://10.214.0.2:8080/blob &
PCURL=$!
ip netns exec $C ping -f -q -c 8000 -w 5 10.214.0.3 >"$LOGDIR/ping-f.out" 2>&1
ip netns exec $C ping -f -q -c 3000 -w 3 -s 1400 10.214.0.3 >>"$LOGDIR/ping-f.out" 2>&1
wait "$PCURL" || fail "the download during a ping flood failed"
[ "$(sha256sum <"$LOGDIR/got-p" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "the download during a ping flood is not byte-exact"
ip netns exec $C ping -c 2 -i 0.2 -W 2 10.214.0.3 >"$LOGDIR/ping-d2.out" 2>&1 ||
	fail "ping direct after the flood: $(cat "$LOGDIR/ping-d2.out")"
grep -q 'over 1000 ICMP echo requests a second' "$LOGDIR/cap.log" ||
	fail "no line about the ping flood"
# a request in fragments (reassembled by the stack) and its reply,
# larger than the device's MTU
ip netns exec $C ping -c 1 -s 3000 -W 2 10.214.0.3 >"$LOGDIR/ping-big.out" 2>&1 &&
    grep -q '3008 bytes from 10.214.0.3: icmp_seq=1 ttl=63' "$LOGDIR/ping-big.out" ||
	fail "a large ping direct: $(cat "$LOGDIR/ping-big.out")"

# Garbage written into the device from the namespace side does not
# hurt: the stack keeps serving.
ip netns exec $C python3 - <<'E' || true
import socket, os
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
for n in (20, 21, 40, 60, 1400):
    b = bytearray(os.urandom(n))
    b[0] = 0x45
    b[16:20] = bytes([10, 214, 0, 7])
    try:
        s.sendto(bytes(b), ("10.214.0.7", 0))
    except OSError:
        pass
E
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got2" \
	http://10.214.0.2:8080/blob || fail "curl after garbage"

# A SYN flood from spoofed sources (their SYN-ACKs go nowhere: C does
# not forward) while a download runs: the download finishes byte-exact,
# the half-open connections stay within the limit (the oldest go, a
# line says so), and new flows are served afterwards.
ip netns exec $C curl -s --max-time 30 --limit-rate 1500k \
	-o "$LOGDIR/got-f" http://10.214.0.2:8080/blob &
FCURL=$!
# started = bytes have arrived (the TCP state says less: the whole blob
# may sit in C's receive buffer with the FIN, CLOSE-WAIT, while curl
# still reads it at its rate)
_c_got() { [ -s "$LOGDIR/got-f" ]; }
wait_until 5 _c_got ||
	fail "the download did not start: $(ip netns exec $C ss -tan | tr '\n' ' ')"
ip netns exec $C python3 - <<'P' || fail "SYN flood sender"
import socket, struct, random
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
dst = bytes([10, 214, 0, 2])
for i in range(20000):
    src = bytes([10, 99, (i >> 8) & 0xff, i & 0xff])
    sport = 1024 + random.randrange(60000)
    tcp = struct.pack("!HHIIBBHHH", sport, 8080, random.getrandbits(32), 0,
                      5 << 4, 0x02, 65535, 0, 0)
    ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff,
                     0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    try:
        s.sendto(ip + tcp, ("10.214.0.2", 0))
    except OSError:
        pass
P
wait "$FCURL" || fail "the download during the SYN flood failed"
[ "$(sha256sum <"$LOGDIR/got-f" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "the download during the SYN flood is not byte-exact"
wait_log "$LOGDIR/cap.log" 'over 1024 half-open connections' 5 ||
	fail "no line about the SYN flood"
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-f2" \
	http://10.214.0.2:8080/blob || fail "curl after the SYN flood"
[ "$(sha256sum <"$LOGDIR/got-f2" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download after the SYN flood is not byte-exact"

W0=$(worker_of "$CPID")
[ -n "$W0" ] || fail "no worker"
[ "$(status_field "$W0" Seccomp)" = 2 ] || fail "capture worker not confined"

# SIGHUP: a new generation takes the device over (the old worker stops
# reading it and ends its flows); the device and routes stay as they
# were, and flows work through the new worker.
# (the kernel adds the device's link-local route when it likes: not ours)
ip -n $C route show table all | grep -v fe80 >"$LOGDIR/routes.hup0"
kill -HUP "$CPID"
wait_log "$LOGDIR/cap.log" 'configuration reloaded (generation 2)' 5 ||
	fail "reload not done"
wait_log "$LOGDIR/cap.log" 'worker 0 (generation 2) running' 5 ||
	fail "no worker of generation 2"
wait_log "$LOGDIR/cap.log" 'capture handed over' 5 ||
	fail "the old worker kept the device"
ip -n $C route show table all | grep -v fe80 >"$LOGDIR/routes.hup1"
cmp -s "$LOGDIR/routes.hup0" "$LOGDIR/routes.hup1" ||
	fail "routes changed across SIGHUP"
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-h" \
	http://10.214.0.2:8080/blob || fail "curl after SIGHUP"
[ "$(sha256sum <"$LOGDIR/got-h" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download after SIGHUP is not byte-exact"

# SIGTERM: the device and its route are gone, nothing else changed.
kill "$CPID"
wait_gone "$CPID" || fail "capture daemon still running after SIGTERM"
ip -n $C link show ostpcap0 >/dev/null 2>&1 &&
	fail "capture device left after SIGTERM"
ip -n $C route show table all | grep -q ostpcap0 &&
	fail "route left after SIGTERM"
ip -n $C rule show >"$LOGDIR/rules.after"
[ "$(wc -l <"$LOGDIR/rules.after")" -eq 3 ] ||
	fail "policy rules left after SIGTERM: $(cat "$LOGDIR/rules.after")"

# Two workers: the device has a queue for each (IFF_MULTI_QUEUE), each
# worker its own stack; the kernel spreads flows over the queues.  The
# fake-IP table is shared: a name answered by one worker is known to
# the other, which may get the flow.
sed -e 's/ostpcap0/ostpcap2/' -e 's/10.215.0.1/10.217.0.1/' \
    -e 's/fd00:215::1/fd00:217::1/' -e 's/10.215.0.2/10.217.0.2/' \
    "$LOGDIR/cap.json" >"$LOGDIR/mq.json"
ip netns exec $C "$OSTPD" -w 2 -C "$LOGDIR/mq.json" \
	>"$LOGDIR/mq.log" 2>&1 &
MPID=$!; PIDS="$PIDS $MPID"
wait_count "$LOGDIR/mq.log" 'capture on ostpcap2' 2 5 ||
	fatal "two-worker capture not ready: $(tail -3 "$LOGDIR/mq.log")"
wait_count "$LOGDIR/mq.log" '(generation 1) running' 2 5 ||
	fatal "two-worker capture: workers not running"
ip -n $C -d link show ostpcap2 | grep -q 'multi_queue' ||
	fail "the capture device is not multi-queue: $(ip -n $C -d link show ostpcap2)"
head -c 200000 /dev/urandom >"$WEB/small"
SSUM=$(sha256sum <"$WEB/small" | cut -d' ' -f1)
# names first (each query from a port of its own, so over both queues),
# then web.test, asked again and again: always the same address
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	ip netns exec $C dig +short +time=3 +tries=1 @10.217.0.2 \
	    "n$i.test" A >/dev/null
done
MFAKE=$(ip netns exec $C dig +short +time=3 +tries=1 @10.217.0.2 web.test A)
case $MFAKE in
198.18.*|198.19.*) ;;
*)	fail "two workers: no fake address for web.test: '$MFAKE'" ;;
esac
for i in 1 2 3 4 5 6 7 8; do
	A=$(ip netns exec $C dig +short +time=3 +tries=1 @10.217.0.2 web.test A)
	[ "$A" = "$MFAKE" ] ||
	    fail "two workers: web.test is '$A', then '$MFAKE'"
done
CURLS=
for i in $(seq 1 24); do
	if [ $((i % 2)) = 0 ]; then u="http://$MFAKE:8080/small"
	else u="http://10.214.0.2:8080/small"; fi
	ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/mq$i" "$u" &
	CURLS="$CURLS $!"
done
for j in $CURLS; do wait "$j"; done
for i in $(seq 1 24); do
	[ "$(sha256sum <"$LOGDIR/mq$i" | cut -d' ' -f1)" = "$SSUM" ] ||
	    fail "two workers: download $i is not byte-exact"
done
grep -q 'worker 0: .*flow to web.test port 8080' "$LOGDIR/mq.log" &&
grep -q 'worker 1: .*flow to web.test port 8080' "$LOGDIR/mq.log" ||
	fail "two workers: the fake-IP flows did not meet both workers"
grep -q 'worker 0: .*flow to 10.214.0.2 port 8080' "$LOGDIR/mq.log" &&
grep -q 'worker 1: .*flow to 10.214.0.2 port 8080' "$LOGDIR/mq.log" ||
	fail "two workers: the flows by address did not meet both workers"
kill "$MPID"
wait_gone "$MPID" || fail "two-worker capture still running after SIGTERM"
ip -n $C link show ostpcap2 >/dev/null 2>&1 &&
	fail "two-worker capture device left after SIGTERM"

# auto_route: a default route in a table of its own and policy rules;
# the daemon's sockets carry the mark and leave by the main table (the
# SOCKS5 hop on the LAN, the direct dial by the default route).
cat >"$LOGDIR/auto.json" <<E
{ "log": { "level": "debug" },
  "inbounds": [ { "type": "tun", "tag": "cap", "name": "ostpcap1",
    "net": "10.216.0.1/24", "mtu": 1400, "auto_route": true,
    "exclude": [ "10.214.0.4/32", "fd00:214::4/128" ],
    "mark": 42, "icmp": "drop" } ],
  "outbounds": [
    { "tag": "px", "type": "chain", "hops": [ "socks5://192.168.81.1:1080" ] },
    { "tag": "direct", "type": "direct" },
    { "tag": "deny", "type": "block" } ],
  "routing": { "rules": [
    { "ip_cidr": [ "10.214.0.3/32" ], "outbound": "direct" },
    { "domain": [ "blocked.test", "tlsblock.test" ], "outbound": "deny" },
    { "domain_suffix": [ "direct.test" ], "outbound": "direct" } ],
    "default_outbound": "px" } }
E
printf '{"inbounds": [{"type": "tun", "name": "x0", "net": "10.9.9.1/24", "auto_route": true}]}' \
	>"$LOGDIR/nomark.json"
"$OSTPD" -t -C "$LOGDIR/nomark.json" >"$LOGDIR/nomark.out" 2>&1 &&
	fail "auto_route without a mark accepted"
grep -q 'auto_route needs a mark' "$LOGDIR/nomark.out" ||
	fail "no clear line for auto_route without a mark"
"$OSTPD" -t -L "tun://?capture=true&net=10.9.9.1/24&name=x0&exclude=10.1.0.0/16" \
	>"$LOGDIR/noauto.out" 2>&1 && fail "exclude without auto_route accepted"
grep -q 'exclude needs auto_route=true' "$LOGDIR/noauto.out" ||
	fail "no clear line for exclude without auto_route"
"$OSTPD" -t -L "tun://?capture=true&net=10.9.9.1/24&name=x0&sniff=maybe" \
	>"$LOGDIR/sniff.out" 2>&1 && fail "sniff=maybe accepted"
grep -q 'bad value "maybe" for sniff' "$LOGDIR/sniff.out" ||
	fail "no clear line for a bad sniff value"
ip netns exec $C "$OSTPD" -w 1 -C "$LOGDIR/auto.json" \
	>"$LOGDIR/auto.log" 2>&1 &
APID=$!; PIDS="$PIDS $APID"
wait_log "$LOGDIR/auto.log" 'ready' 5 || fatal "auto_route daemon not ready"
ip -n $C rule show >"$LOGDIR/rules.auto"
grep -q '^9000:.*lookup main suppress_prefixlength 0' "$LOGDIR/rules.auto" ||
	fail "no suppress rule: $(cat "$LOGDIR/rules.auto")"
grep -q '^9001:.*not from all fwmark 0x2a lookup 2022' "$LOGDIR/rules.auto" ||
	fail "no mark rule: $(cat "$LOGDIR/rules.auto")"
ip -n $C route show table 2022 | grep -q '^default dev ostpcap1' ||
	fail "no default route in table 2022"
grep -q '^8999:.*to 10.214.0.4 lookup main' "$LOGDIR/rules.auto" ||
	fail "no exclude rule: $(cat "$LOGDIR/rules.auto")"
ip -n $C -6 rule show | grep -q '^8999:.*to fd00:214::4 lookup main' ||
	fail "no IPv6 exclude rule: $(ip -n $C -6 rule show)"
N1=$(grep -c '^10.214.0.1 .*GET /blob' "$LOGDIR/web.log")
N2=$(grep -c '^192.168.81.2 .*GET /blob' "$LOGDIR/web.log")
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-a" \
	http://10.214.0.2:8080/blob || fail "curl through auto_route"
[ "$(sha256sum <"$LOGDIR/got-a" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download through auto_route is not byte-exact"
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-ad" \
	http://10.214.0.3:8080/blob || fail "direct curl with auto_route"
[ "$(grep -c '^10.214.0.1 .*GET /blob' "$LOGDIR/web.log")" -eq $((N1 + 1)) ] ||
	fail "auto_route: the request did not go through the SOCKS5 hop"
[ "$(grep -c '^192.168.81.2 .*GET /blob' "$LOGDIR/web.log")" -eq $((N2 + 1)) ] ||
	fail "auto_route: the direct dial looped or did not go direct"

# icmp=drop: no echo request is answered, none leaves.
W0=$(wcount 1)
ip netns exec $C ping -c 2 -i 0.2 -W 1 10.214.0.2 >"$LOGDIR/ping-drop.out" 2>&1 &&
	fail "icmp=drop: a ping was answered"
ip netns exec $C ping -c 2 -i 0.2 -W 1 10.214.0.3 >>"$LOGDIR/ping-drop.out" 2>&1 &&
	fail "icmp=drop: a ping to a direct address was answered"
[ "$(wcount 1)" = "$W0" ] || fail "icmp=drop: an echo request reached W"
"$OSTPD" -t -L "tun://?capture=true&net=10.9.9.1/24&name=x0&icmp=forward" \
	>"$LOGDIR/icmp.out" 2>&1 && fail "icmp=forward accepted"
grep -q 'bad value "forward" for icmp (local, direct or drop)' \
	"$LOGDIR/icmp.out" || fail "no clear line for a bad icmp value"

# Sniffing (fake-IP off): curl resolves the name itself; the capture
# reads the Host header or the ClientHello's SNI of the new flow, so
# domain rules apply to flows by address, and the chain is given the
# name (the SOCKS5 hop resolves it from its hosts file).
ip netns exec $C curl -s --max-time 10 -o /dev/null \
	--resolve blocked.test:8080:10.214.0.2 http://blocked.test:8080/blob &&
	fail "sniffed Host: a domain rule to block was not honoured"
grep -q 'flow to 10.214.0.2 port 8080 (sniffed blocked.test)' \
	"$LOGDIR/auto.log" || fail "the HTTP Host was not sniffed"
# curl is told an address where nothing is (.99): only the name given
# to the hop reaches the server.
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-s" \
	--resolve web.test:8080:10.214.0.99 http://web.test:8080/blob ||
	fail "curl by a sniffed name through the chain"
[ "$(sha256sum <"$LOGDIR/got-s" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download by a sniffed name is not byte-exact"
grep -q 'flow to 10.214.0.99 port 8080 (sniffed web.test)' \
	"$LOGDIR/auto.log" || fail "the HTTP Host was not sniffed (web.test)"
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-sd" \
	--resolve www.direct.test:8080:10.214.0.2 \
	http://www.direct.test:8080/blob || fail "curl by a sniffed direct name"
[ "$(grep -c '^192.168.81.2 .*GET /blob' "$LOGDIR/web.log")" -eq $((N2 + 2)) ] ||
	fail "sniffed Host: a domain_suffix rule to direct was not honoured"
# TLS: the ClientHello's server name; the rule blocks before any byte
# leaves, so no server is needed.
ip netns exec $C timeout 10 openssl s_client -connect 10.214.0.2:8443 \
	-servername tlsblock.test </dev/null >"$LOGDIR/tls.out" 2>&1 &&
	fail "sniffed SNI: a domain rule to block was not honoured"
grep -q 'flow to 10.214.0.2 port 8443 (sniffed tlsblock.test)' \
	"$LOGDIR/auto.log" || fail "the TLS SNI was not sniffed"
grep -q 'tlsblock.test blocked by a routing rule' "$LOGDIR/auto.log" ||
	fail "sniffed SNI: no block by the domain rule"

# exclude: the address never enters the device (its packet counter
# stands still, the capture sees no flow) and the kernel routes it.
devtx() {
	ip netns exec $C awk '$1 == "ostpcap1:" { print $11 }' /proc/net/dev
}
N3=$(grep -c '^192.168.81.2 .*GET /blob' "$LOGDIR/web.log")
TX0=$(devtx)
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-x" \
	http://10.214.0.4:8080/blob || fail "curl to an excluded address"
[ "$(sha256sum <"$LOGDIR/got-x" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download from an excluded address is not byte-exact"
TX1=$(devtx)
[ "$TX0" = "$TX1" ] ||
	fail "excluded traffic entered the device ($TX0 -> $TX1 packets)"
grep -q 'flow to 10.214.0.4' "$LOGDIR/auto.log" &&
	fail "the capture saw a flow to an excluded address"
[ "$(grep -c '^192.168.81.2 .*GET /blob' "$LOGDIR/web.log")" -eq $((N3 + 1)) ] ||
	fail "the excluded request did not come from C itself"
ip netns exec $C curl -s --max-time 20 -o /dev/null \
	http://10.214.0.2:8080/blob || fail "curl through auto_route (2)"
[ "$(devtx)" != "$TX1" ] || fail "the device counter does not count"
# SIGHUP keeps the rules as they are: none twice, none lost
ip -n $C rule show >"$LOGDIR/rules.hup0"
kill -HUP "$APID"
wait_log "$LOGDIR/auto.log" 'worker 0 (generation 2) running' 5 ||
	fail "auto_route: no worker of generation 2"
ip -n $C rule show >"$LOGDIR/rules.hup1"
cmp -s "$LOGDIR/rules.hup0" "$LOGDIR/rules.hup1" ||
	fail "policy rules changed across SIGHUP"

kill "$APID"
wait_gone "$APID" || fail "auto_route daemon still running after SIGTERM"
ip -n $C rule show >"$LOGDIR/rules.after2"
[ "$(wc -l <"$LOGDIR/rules.after2")" -eq 3 ] ||
	fail "policy rules left after SIGTERM: $(cat "$LOGDIR/rules.after2")"
[ "$(ip -n $C -6 rule show | wc -l)" -eq 2 ] ||
	fail "IPv6 policy rules left after SIGTERM: $(ip -n $C -6 rule show)"
[ -z "$(ip -n $C route show table 2022 2>/dev/null)" ] ||
	fail "routes left in table 2022"
ip -n $C link show ostpcap1 >/dev/null 2>&1 &&
	fail "auto_route device left after SIGTERM"
finish
