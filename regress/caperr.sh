# The capture tells applications what became of their traffic, as the
# network would without it, and at once: a UDP datagram to a closed
# port gets an ICMP port unreachable (a connected socket fails with
# ECONNREFUSED), one to a network a router cannot reach its host or net
# unreachable, one that a block rule refuses an administratively
# prohibited; a TCP flow whose dial fails or is blocked is reset (lwIP
# completed the handshake before the dial: connect() succeeded, the
# first read fails).  Three namespaces:
#
#   C (clients, capture ostpd)  192.168.82.2 -- 192.168.82.1  M (router)
#   M 10.218.0.1 -- 10.218.0.2  W (servers)
#
# C routes 10.218.0.0/16 and fd00:218::/32 into the capture device, whose
# sockets leave by the veth; M has no way to 10.218.1.0/24 and
# fd00:218:1::/64 (unreachable routes: it answers ICMP errors).
. regress/lib.sh

C=ostpce-c$$; M=ostpce-m$$; W=ostpce-w$$
ns_line $C $M $W 192.168.82 10.218.0 fd00:82:: fd00:218::
ip -n $M route add unreachable 10.218.1.0/24
ip -n $M -6 route add unreachable fd00:218:1::/64

WEB=$LOGDIR/www
mkdir -p "$WEB"
SUM=$(make_blob "$WEB/blob" 1000000) || fatal "blob"
start_web web "$WEB" 8080 0.0.0.0 $W
start_udpecho 9053 0.0.0.0 $W

cat >"$LOGDIR/cap.json" <<E
{ "log": { "level": "debug" },
  "inbounds": [ { "type": "tun", "tag": "cap", "name": "ostpce0",
    "net": "10.219.0.1/24", "net6": "fd00:219::1/64", "mtu": 1500,
    "routes": [ "10.218.0.0/16", "fd00:218::/32" ],
    "interface": "cc$$" } ],
  "outbounds": [
    { "tag": "direct", "type": "direct" },
    { "tag": "deny", "type": "block" } ],
  "routing": { "rules": [
    { "ip_cidr": [ "10.218.0.7/32", "fd00:218::7/128" ],
      "outbound": "deny" } ],
    "default_outbound": "direct" } }
E
ip netns exec $C "$OSTPD" -w 1 -C "$LOGDIR/cap.json" \
	>"$LOGDIR/cap.log" 2>&1 &
CPID=$!; PIDS="$PIDS $CPID"
wait_log "$LOGDIR/cap.log" 'ready' 5 || fatal "capture daemon not ready"

# probe KIND ADDR PORT: what a client sees, and how soon: "ECONNREFUSED
# 0.1" (an errno's name and the seconds it took), "data", "timeout".
# udp: a connected socket with IP_RECVERR (without it Linux reports
# only the hard errors, port unreachable and prohibited, as it would
# without the capture); tcp: connect, then read.
probe() {
	ip netns exec $C python3 - "$@" <<'P'
import errno, socket, sys, time
kind, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
t0 = time.monotonic()
try:
    if kind == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, 11, 1)          # IP_RECVERR
        else:
            s.setsockopt(socket.IPPROTO_IPV6, 25, 1)        # IPV6_RECVERR
        s.settimeout(3)
        s.connect((addr, port))
        s.send(b"are you there?")
        s.recv(2048)
    else:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect((addr, port))
        d = s.recv(2048)
        if not d:
            print("eof %.1f" % (time.monotonic() - t0))
            sys.exit(0)
    print("data")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("%s %.1f" % (errno.errorcode.get(e.errno, str(e.errno)),
                       time.monotonic() - t0))
P
}

# expect WHAT-ALLOWED MAX-SECONDS KIND ADDR PORT
expect() {
	_want=$1; _max=$2; shift 2
	_got=$(probe "$@")
	echo "$*: $_got"
	case " $_want " in
	*" ${_got%% *} "*) ;;
	*)	fail "$*: '$_got', not $_want"; return ;;
	esac
	python3 -c "import sys; sys.exit(0 if float('${_got#* }') <= $_max else 1)" ||
		fail "$*: $_got: slower than $_max s"
}

# UDP to a closed port on W: W's port unreachable reaches the direct
# socket, the client gets its own, quoting its datagram.
expect ECONNREFUSED 1 udp 10.218.0.2 9999
expect ECONNREFUSED 1 udp fd00:218::2 9999
grep -q 'udp: 10.218.0.2 port 9999: Connection refused' "$LOGDIR/cap.log" ||
	fail "the refusal was not seen by the direct socket"
# UDP to where M has no route: M's host (IPv6: no route) unreachable
expect EHOSTUNREACH 1 udp 10.218.1.9 53
expect ENETUNREACH 1 udp fd00:218:1::9 53
# UDP blocked by a rule: administratively prohibited
expect EHOSTUNREACH 1 udp 10.218.0.7 53
expect EACCES 1 udp fd00:218::7 53

# TCP: the dial's failure resets the flow (after up to 0.3 s of
# sniffing for a name: the client sends nothing)
expect "ECONNRESET ECONNREFUSED" 2 tcp 10.218.0.2 9999
expect "ECONNRESET ECONNREFUSED" 2 tcp fd00:218::2 9999
expect "ECONNRESET ECONNREFUSED EHOSTUNREACH" 2 tcp 10.218.1.9 80
expect "ECONNRESET ECONNREFUSED ENETUNREACH" 2 tcp fd00:218:1::9 80
expect "ECONNRESET ECONNREFUSED" 2 tcp 10.218.0.7 80
expect "ECONNRESET ECONNREFUSED" 2 tcp fd00:218::7 80

# A flood of datagrams to a closed port: the errors to the client stay
# within their rate (W's kernel limits its own too), a line says so
# when they are over it, and nothing else suffers.
ip netns exec $C python3 - <<'P' || fail "UDP flood sender"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
for i in range(5000):
    try:
        s.sendto(b"flood", ("10.218.0.7", 5000 + i % 50))
    except OSError:
        pass
P
wait_log "$LOGDIR/cap.log" 'over 1000 ICMP errors a second to clients' 5 ||
	fail "no line about the errors over the rate"

# The daemon serves on: UDP and a download, byte-exact.
[ "$(ip netns exec $C $NETTOOL udpcheck 10.218.0.2 9053 3)" = 3 ] ||
	fail "UDP through the capture after the refusals"
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got" \
	http://10.218.0.2:8080/blob || fail "curl after the refusals"
[ "$(sha256sum <"$LOGDIR/got" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download after the refusals is not byte-exact"
expect ECONNREFUSED 1 udp 10.218.0.2 9999
finish
