# tun:// and tap:// clients through a chain (gost: the client dials its
# peer with datagrams through the chain).  Three namespaces: the client
# reaches only the hop, the hop reaches the server.  Through a SOCKS5
# hop (UDP-over-TCP frames), SOCKS5 over TLS, relay over WebSocket, a
# Shadowsocks hop (its UDP), gost's ssu over TLS and ssu behind a SOCKS5
# hop (frames in the cipher's stream): ping and a byte-exact TCP
# transfer; a tap client's
# ARP resolves the server's MAC; the server, then the hop, stopped and
# started again while the client runs: the ping recovers; garbage in
# UDP-tun frames at the hop is dropped and the tunnel still serves.
. regress/lib.sh
# the hop is killed on purpose
ALLOW_RESPAWN=1

C=ostc-c$$; H=ostc-h$$; S=ostc-s$$
netns_add $C $H $S
veth_pair $C cc$$ 192.168.81.2/24 $H ch$$ 192.168.81.1/24
veth_pair $H hh$$ 192.168.82.1/24 $S ss$$ 192.168.82.2/24

pings() { ip netns exec $C ping -c 1 -W 1 "$1" >/dev/null 2>&1; }

SRV='tun://192.168.82.2:8421?net=10.81.0.1/24&name=ostcs0'
SRVTAP='tap://192.168.82.2:8422?net=10.83.0.1/24&name=ostcst0'
HOP="-L socks5://192.168.81.1:1080 -L socks5+tls://192.168.81.1:1443
    -L relay+wss://192.168.81.1:1444?path=/r
    -L ssu://aes-128-gcm:pw@192.168.81.1:8338
    -L ssu+tls://aes-128-gcm:pw@192.168.81.1:8443
    -L ssu+tcp://chacha20-ietf-poly1305:pw2@192.168.81.1:8339"
CLI='tun://:0/192.168.82.2:8421?net=10.81.0.2/24&name=ostcc0'

ns_ostpd server $S -D -L "$SRV" -L "$SRVTAP"; SPID=$OPID
# shellcheck disable=SC2086
ns_ostpd hop $H -D $HOP; HPID=$OPID
ns_ready server 1 || fatal "server not ready"
ns_ready hop 1 || fatal "hop not ready"
# the client cannot reach the server but through the hop
pings 192.168.82.2 && fatal "the client reaches the server directly"

ip netns exec $S $NETTOOL echo 10.81.0.1 7000 >"$LOGDIR/echo.log" 2>&1 &
PIDS="$PIDS $!"

# 1. SOCKS5 hop: UDP-over-TCP frames
ns_ostpd c1 $C -D -L "$CLI" -F socks5://192.168.81.1:1080; CPID=$OPID
ns_ready c1 1 || fatal "client not ready"
grep -q 'through the chain to its peer' "$LOGDIR/c1.log" ||
	fail "the client does not use the chain"
wait_until 10 pings 10.81.0.1 || fail "socks5 hop: no ping through the tunnel"
ip netns exec $C ping -c 3 -i 0.2 -W 2 10.81.0.1 >"$LOGDIR/ping1.out" 2>&1 ||
	fail "socks5 hop: ping"
grep -q 'udp-over-tcp association' "$LOGDIR/hop.log" ||
	fail "the hop did not serve UDP-over-TCP"
wait_port 7000 10.81.0.1 $S || fatal "echo server"
ip netns exec $C $NETTOOL xfer 10.81.0.1 7000 1000000 2 \
    >"$LOGDIR/xfer1.out" 2>&1 || fail "socks5 hop: TCP transfer through the tunnel"
# the server pings back: it learned the client (the hop's UDP address)
ip netns exec $S ping -c 2 -i 0.2 -W 2 10.81.0.2 >>"$LOGDIR/ping1.out" 2>&1 ||
	fail "socks5 hop: ping server -> client"

# 2. a tap client through the same hop: ARP across, the far MAC
# learned; a second tap client (on the hop's host, straight to the
# server): the server bridges the two, ARP broadcast included
mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
ns_ostpd t1 $C -D -L 'tap://:0/192.168.82.2:8422?net=10.83.0.2/24&name=ostcct0' \
    -F socks5://192.168.81.1:1080; TPID=$OPID
ns_ostpd t2 $H -D -L 'tap://:0/192.168.82.2:8422?net=10.83.0.3/24&name=ostcht0'
T2PID=$OPID
ns_ready t1 1 || fatal "tap client not ready"
ns_ready t2 1 || fatal "second tap client not ready"
wait_until 10 pings 10.83.0.1 || fail "tap through the hop: no ping"
ip -n $C neigh show 10.83.0.1 dev ostcct0 | grep -q "lladdr $(mac $S ostcst0)" ||
	fail "tap: the client did not learn the server's MAC by ARP"
wait_until 10 pings 10.83.0.3 || fail "tap: no ping between two clients"
ip -n $C neigh show 10.83.0.3 dev ostcct0 | grep -q "lladdr $(mac $H ostcht0)" ||
	fail "tap: the client did not learn the other client's MAC by ARP"
kill "$TPID" "$T2PID"; wait_gone "$TPID" && wait_gone "$T2PID" ||
	fail "tap clients did not stop"

# 3. garbage UDP-tun frames at the hop: that association ends, the
# tunnel (another association) keeps serving
ip netns exec $C python3 -c '
import socket
s = socket.create_connection(("192.168.81.1", 1080), timeout=5)
s.sendall(b"\x05\x01\x00"); s.recv(2)
s.sendall(b"\x05\xf3\x00\x01\x00\x00\x00\x00\x00\x00"); s.recv(10)
# a frame for the server with a payload that is no packet, then junk
s.sendall(b"\x00\x08\x00\x01\xc0\xa8\x52\x02\x20\xe5" + b"\x00" * 8)
s.sendall(b"\x00\x05\x00\x09garbage" + b"\xff" * 64)
try:
    s.recv(100)
except OSError:
    pass
s.close()
' >"$LOGDIR/garbage.out" 2>&1 || fail "garbage client: $(cat "$LOGDIR/garbage.out")"
ip netns exec $C ping -c 2 -i 0.2 -W 2 10.81.0.1 >>"$LOGDIR/ping1.out" 2>&1 ||
	fail "tunnel broken by garbage UDP-tun frames"

# 4. the server stops and starts again: the client is left alone
kill "$SPID"; wait_gone "$SPID" || fatal "server did not stop"
pings 10.81.0.1 && fail "ping with the server stopped"
ns_ostpd server $S -D -L "$SRV" -L "$SRVTAP"; SPID=$OPID
ns_ready server 2 || fatal "server not ready again"
wait_until 10 pings 10.81.0.1 || fail "no ping after the server's restart"

# 5. the hop dies and comes back: the client dials again (back-off)
kill -9 "$HPID"; wait_gone "$HPID" || fatal "hop did not die"
wait_log "$LOGDIR/c1.log" 'dialed again in' 10 ||
	fail "the client did not notice the chain's end"
pings 10.81.0.1 && fail "ping with the hop dead"
# shellcheck disable=SC2086
ns_ostpd hop $H -D $HOP; HPID=$OPID
ns_ready hop 2 || fatal "hop not ready again"
wait_until 20 pings 10.81.0.1 || fail "no ping after the hop's restart"
kill -0 "$CPID" 2>/dev/null || fail "the client did not survive"
ip netns exec $C $NETTOOL xfer 10.81.0.1 7000 200000 1 \
    >>"$LOGDIR/xfer1.out" 2>&1 || fail "TCP transfer after the hop's restart"
kill "$CPID"; wait_gone "$CPID" || fail "client did not stop"

# 6. other hops: SOCKS5 over TLS, relay over WebSocket (TLS),
# Shadowsocks (its UDP), gost's ssu over TLS (frames inside the
# cipher's stream), and ssu behind a SOCKS5 hop (a CONNECT to it)
n=2
for hop in socks5+tls://192.168.81.1:1443 \
    'relay+wss://192.168.81.1:1444?path=/r' \
    ssu+tls://aes-128-gcm:pw@192.168.81.1:8443 \
    socks5://192.168.81.1:1080,ssu+tcp://chacha20-ietf-poly1305:pw2@192.168.81.1:8339 \
    ss://aes-128-gcm:pw@192.168.81.1:8338; do
	case $hop in
	*,*)	ns_ostpd c$n $C -D -L "$CLI" -F "${hop%%,*}" -F "${hop#*,}" ;;
	*)	ns_ostpd c$n $C -D -L "$CLI" -F "$hop" ;;
	esac
	CPID=$OPID
	ns_ready c$n 1 || fatal "client $hop not ready"
	wait_until 10 pings 10.81.0.1 || fail "$hop: no ping through the tunnel"
	ip netns exec $C $NETTOOL xfer 10.81.0.1 7000 300000 1 \
	    >"$LOGDIR/xfer$n.out" 2>&1 || fail "$hop: TCP transfer"
	case $hop in *ssu+*)
		grep -q 'ssu over a stream' "$LOGDIR/hop.log" ||
		    fail "$hop: the hop did not serve ssu over a stream" ;;
	esac
	case $hop in ss://*)
		# the hop again, for a hop without connections
		kill "$HPID"; wait_gone "$HPID" || fatal "hop did not stop"
		# shellcheck disable=SC2086
		ns_ostpd hop $H -D $HOP; HPID=$OPID
		ns_ready hop 3 || fatal "hop not ready a third time"
		wait_until 10 pings 10.81.0.1 ||
		    fail "$hop: no ping after the hop's restart" ;;
	esac
	kill "$CPID"; wait_gone "$CPID" || fail "client $hop did not stop"
	n=$((n + 1))
done

# 7. what cannot work is refused, one line each
"$OSTPD" -t -L "$CLI" -F 'ssu+tls://2022-blake3-aes-128-gcm:AAAAAAAAAAAAAAAAAAAAAA==@192.168.81.1:8443' \
    >"$LOGDIR/bad0.out" 2>&1 && fail "a tun client behind an ssu+tls SIP022 hop was accepted"
grep -q 'which SIP022 ciphers have not' "$LOGDIR/bad0.out" ||
	fail "no clear error for a tun client behind an ssu+tls SIP022 hop"
"$OSTPD" -t -L "$CLI" -F http://192.168.81.1:8080 >"$LOGDIR/bad1.out" 2>&1 &&
	fail "a tun client behind an HTTP hop was accepted"
grep -q 'datagrams cannot go through chain node' "$LOGDIR/bad1.out" ||
	fail "no clear error for a tun client behind an HTTP hop"
# fake TCP (faketcp.sh); through a chain, datagrams as gost sends them
"$OSTPD" -t -L "$CLI&tcp=true" -F socks5://192.168.81.1:1080 \
    >"$LOGDIR/tcp2.out" 2>&1 || fail "tcp=true behind a chain refused: $(cat "$LOGDIR/tcp2.out")"
"$OSTPD" -t -L "$CLI&tcp=maybe" >"$LOGDIR/bad2.out" 2>&1 &&
	fail "tcp=maybe was accepted"
grep -q 'bad value "maybe" for tcp' "$LOGDIR/bad2.out" ||
	fail "no clear error for tcp=maybe"
"$OSTPD" -t -L "$CLI&tcp=false" >/dev/null 2>&1 || fail "tcp=false refused"

finish
