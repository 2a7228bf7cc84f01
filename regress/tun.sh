# TUN devices: created by the monitor with the configured address, MTU
# and routes inside a test namespace, removed on SIGTERM; two namespaces
# joined by veth carry ping through a tun:// server/client pair; the
# server sends a route='s traffic to the client its gateway is; the
# client takes only its peer's datagrams; TCP is byte-exact both ways
# through the device offloads (64 KiB segments cut for the peer, joined
# again for the device), and a gost peer in the middle still sees one
# IP packet of at most the MTU per datagram; a tap:// pair carries ARP
# and ping.  (Through chains: tunchain.sh.)
. regress/lib.sh
# workers are killed on purpose: run.sh must not fail the test for it
ALLOW_RESPAWN=1

S=ostpt-s$$; C=ostpt-c$$
netns_add $S $C
veth_pair $S vs$$ 192.168.77.1/24 $C vc$$ 192.168.77.2/24

ip netns exec $S "$OSTPD" -D \
	-L 'tun://192.168.77.1:8421?net=10.77.0.1/24&name=ostps0&mtu=1400&route=10.78.0.0/16&gw=10.77.0.2' \
	>"$LOGDIR/server.log" 2>&1 &
SPID=$!; PIDS="$PIDS $SPID"
ip netns exec $C "$OSTPD" -D \
	-L 'tun://:0/192.168.77.1:8421?net=10.77.0.2/24&name=ostpc0' \
	>"$LOGDIR/client.log" 2>&1 &
CPID=$!; PIDS="$PIDS $CPID"
wait_log "$LOGDIR/server.log" 'ready' 5 || fatal "server not ready"
wait_log "$LOGDIR/client.log" 'ready' 5 || fatal "client not ready"

ip -n $S -o addr show dev ostps0 | grep -q 'inet 10.77.0.1/24' || fail "server address missing"
ip -n $S -o link show dev ostps0 | grep -q 'mtu 1400' || fail "server MTU not 1400"
ip -n $S -o link show dev ostps0 | grep -q 'state UNKNOWN\|,UP' || fail "server device not up"
ip -n $S route show 10.78.0.0/16 | grep -q 'dev ostps0' || fail "route 10.78.0.0/16 missing"
ip -n $C -o link show dev ostpc0 | grep -q 'mtu 1350' || fail "client default MTU not 1350"

# Traffic through the tunnel, both directions.
ip netns exec $C ping -c 3 -i 0.2 -W 2 10.77.0.1 >"$LOGDIR/ping.out" 2>&1 ||
	fail "ping client -> server through the tunnel"
ip netns exec $S ping -c 3 -i 0.2 -W 2 10.77.0.2 >>"$LOGDIR/ping.out" 2>&1 ||
	fail "ping server -> client through the tunnel"
# 10.78.0.0/16 is behind the client (gw=10.77.0.2): the server sends it
# there, not back into its own device.
ip -n $C addr add 10.78.0.5/32 dev lo
ip netns exec $S ping -c 2 -i 0.2 -W 2 10.78.0.5 >>"$LOGDIR/ping.out" 2>&1 ||
	fail "ping server -> 10.78.0.5 (a route whose gateway is the client)"

# TCP both ways (an echo): the kernel's 64 KiB segments are cut into
# packets for the peer and joined again for the other device.
ip netns exec $S python3 regress/tools/nettool.py echo 10.77.0.1 5001 \
	>"$LOGDIR/echo.log" 2>&1 &
PIDS="$PIDS $!"
wait_until 5 ip netns exec $S sh -c 'ss -ltn "sport = :5001" | grep -q LISTEN' ||
	fail "echo server not listening"
ip netns exec $C python3 regress/tools/nettool.py xfer 10.77.0.1 5001 \
	8000000 2 >"$LOGDIR/xfer.out" 2>&1 ||
	fail "TCP through the tunnel: $(cat "$LOGDIR/xfer.out")"

# The client takes datagrams from its peer only: garbage and a good
# packet from another port of the server's host never reach its device.
CPORT=$(ip netns exec $C ss -Huanp | awk '/ostpd/ { n = split($4, a, ":"); print a[n]; exit }')
RX0=$(ip netns exec $C cat /sys/class/net/ostpc0/statistics/rx_packets)
ip netns exec $S python3 -c '
import socket, os, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.77.1", 0))
# an ICMP echo request 10.77.0.1 -> 10.77.0.2 (checksums do not matter)
pkt = bytes([0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 77, 0, 1,
    10, 77, 0, 2, 8, 0, 0, 0, 0, 1, 0, 1])
for p in (pkt, os.urandom(100), b"", b"\x45"):
    s.sendto(p, ("192.168.77.2", int(sys.argv[1])))
' "$CPORT" || fail "could not send to the client's port $CPORT"
# one echo reply, read by the client after those datagrams: one packet
ip netns exec $C ping -c 1 -W 2 10.77.0.1 >>"$LOGDIR/ping.out" 2>&1 ||
	fail "client broken by foreign datagrams"
RX1=$(ip netns exec $C cat /sys/class/net/ostpc0/statistics/rx_packets)
[ "$((RX1 - RX0))" = 1 ] ||
	fail "the client's device got datagrams not from its peer ($RX0 -> $RX1, one expected)"
grep -q 'datagram dropped (not from the peer' "$LOGDIR/client.log" ||
	fail "the client did not count the foreign datagrams dropped"

# The device fd lives in the worker; the worker is sandboxed.
W=$(worker_of "$SPID")
[ "$(status_field "$W" Seccomp)" = 2 ] || fail "tun worker not confined"

# Garbage datagrams at the server: dropped, the tunnel keeps working.
ip netns exec $C python3 -c '
import socket, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (0, 1, 19, 39, 100, 1500):
    s.sendto(os.urandom(n), ("192.168.77.1", 8421))
'
ip netns exec $C ping -c 2 -i 0.2 -W 2 10.77.0.1 >>"$LOGDIR/ping.out" 2>&1 ||
	fail "tunnel broken by garbage"
grep -q 'datagram dropped (not a packet' "$LOGDIR/server.log" ||
	fail "the server did not count the garbage dropped"

# A worker that dies is respawned and handed the same device again.
kill -9 "$W"
wait_log "$LOGDIR/server.log" 'restarting in' 5 || fail "no restart logged"
# the new worker runs once it has the device again
wait_count "$LOGDIR/server.log" 'worker 0 (generation 1) running' 2 ||
    fail "tun worker not respawned"
W2=$(worker_of "$SPID")
[ -n "$W2" ] && [ "$W2" != "$W" ] || fail "tun worker not replaced ($W -> $W2)"
ip -n $S -o addr show dev ostps0 | grep -q 'inet 10.77.0.1/24' || fail "device lost across the respawn"
ip netns exec $C ping -c 2 -i 0.2 -W 2 10.77.0.1 >>"$LOGDIR/ping.out" 2>&1 ||
	fail "ping after the worker respawn"

# SIGTERM removes the route and the device.
kill "$SPID"; kill "$CPID"
wait_gone "$SPID" || fail "server still running after SIGTERM"
ip -n $S link show ostps0 >/dev/null 2>&1 && fail "server device left after SIGTERM"
ip -n $S route show | grep -q 10.78.0.0 && fail "route left after SIGTERM"
wait_gone "$CPID" || fail "client still running after SIGTERM"
ip -n $C link show ostpc0 >/dev/null 2>&1 && fail "client device left after SIGTERM"

# A gost peer between client and server (nettool.py gostpeer, which
# reads datagrams one by one, as gost does): TCP still byte-exact, and
# every datagram one IP packet of at most the tunnel's MTU.
ip netns exec $S "$OSTPD" \
	-L 'tun://192.168.77.1:8424?net=10.76.0.1/24&net6=fd76::1/64&name=ostps1&mtu=1400' \
	>"$LOGDIR/server2.log" 2>&1 &
S2PID=$!; PIDS="$PIDS $S2PID"
ip netns exec $S python3 regress/tools/nettool.py gostpeer 192.168.77.1 \
	8425 192.168.77.1 8424 1400 "$LOGDIR/gostpeer.txt" \
	>"$LOGDIR/gostpeer.log" 2>&1 &
PIDS="$PIDS $!"
# (this client uses neither UDP_SEGMENT nor UDP_GRO: the fallback of
# kernels without them)
ip netns exec $C env OSTP_TUN_PLAIN=1 "$OSTPD_T" \
	-L 'tun://:0/192.168.77.1:8425?net=10.76.0.2/24&net6=fd76::2/64&name=ostpc1&mtu=1400' \
	>"$LOGDIR/client2.log" 2>&1 &
C2PID=$!; PIDS="$PIDS $C2PID"
wait_log "$LOGDIR/server2.log" 'carried over UDP' 5 || fatal "server 2 not ready"
wait_log "$LOGDIR/client2.log" 'carried over UDP' 5 || fatal "client 2 not ready"
grep -q 'device offloads, no UDP offloads' "$LOGDIR/client2.log" ||
	fail "client 2 did not take OSTP_TUN_PLAIN"
ip netns exec $S python3 regress/tools/nettool.py echo 10.76.0.1 5002 \
	>"$LOGDIR/echo2.log" 2>&1 &
PIDS="$PIDS $!"
wait_until 10 ip netns exec $C ping -c 1 -W 1 10.76.0.1 >/dev/null 2>&1 ||
	fail "no ping through the gost peer"
ip netns exec $C python3 regress/tools/nettool.py xfer 10.76.0.1 5002 \
	4000000 1 >"$LOGDIR/xfer2.out" 2>&1 ||
	fail "TCP through the gost peer: $(cat "$LOGDIR/xfer2.out")"
ip netns exec $S python3 regress/tools/nettool.py echo fd76::1 5003 \
	>"$LOGDIR/echo3.log" 2>&1 &
PIDS="$PIDS $!"
wait_until 5 ip netns exec $S sh -c 'ss -ltn "sport = :5003" | grep -q LISTEN' ||
	fail "IPv6 echo server not listening"
ip netns exec $C python3 regress/tools/nettool.py xfer fd76::1 5003 \
	4000000 1 >"$LOGDIR/xfer3.out" 2>&1 ||
	fail "TCP over IPv6 through the gost peer: $(cat "$LOGDIR/xfer3.out")"
sleep 1
read -r GN GBAD GMAX <"$LOGDIR/gostpeer.txt" ||
	fail "no report from the gost peer"
[ "${GN:-0}" -gt 6000 ] && [ "$GBAD" = 0 ] && [ "$GMAX" -le 1400 ] ||
	fail "gost peer: $GN datagrams, $GBAD not one packet of <= 1400 bytes, largest $GMAX"
kill "$S2PID" "$C2PID"

# A tap pair: ARP across the tunnel, ping both ways, each side's
# neighbour table holding the other's MAC.
ip netns exec $S "$OSTPD" -S "$LOGDIR/tap.sock" \
	-L 'tap://192.168.77.1:8422?name=ostptap0&net=10.79.0.1/24' \
	>"$LOGDIR/tap.log" 2>&1 &
TPID=$!; PIDS="$PIDS $TPID"
ip netns exec $C "$OSTPD" -L 'tap://:0/192.168.77.1:8422?name=ostptap1&net=10.79.0.2/24' \
	>"$LOGDIR/tapc.log" 2>&1 &
TCPID=$!; PIDS="$PIDS $TCPID"
wait_log "$LOGDIR/tap.log" 'tap ostptap0 up' 5 || fail "tap device not created"
wait_log "$LOGDIR/tapc.log" 'tap ostptap1 up' 5 || fail "client tap device not created"
ip -n $S -d link show ostptap0 2>/dev/null | grep -q 'tun type tap' || fail "ostptap0 is not a tap device"
mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
ip netns exec $C ping -c 3 -i 0.2 -W 2 10.79.0.1 >"$LOGDIR/tapping.out" 2>&1 ||
	fail "tap: ping client -> server"
ip netns exec $S ping -c 3 -i 0.2 -W 2 10.79.0.2 >>"$LOGDIR/tapping.out" 2>&1 ||
	fail "tap: ping server -> client"
ip -n $C neigh show 10.79.0.1 dev ostptap1 | grep -q "lladdr $(mac $S ostptap0)" ||
	fail "tap: the client did not learn the server's MAC by ARP"
ip -n $S neigh show 10.79.0.2 dev ostptap0 | grep -q "lladdr $(mac $C ostptap1)" ||
	fail "tap: the server did not learn the client's MAC by ARP"
# its frames count in the listener's bytes (ostpctl status)
"$PWD/$BUILD/ostpctl" -S "$LOGDIR/tap.sock" -j status >"$LOGDIR/tapstatus.json" ||
	fail "ostpctl status of the tap server"
python3 -c 'import json, sys
l = json.load(open(sys.argv[1]))["listeners"][0]
assert l["in"] >= 3 * 98 and l["out"] >= 3 * 98, l' "$LOGDIR/tapstatus.json" ||
	fail "tap listener bytes: $(cat "$LOGDIR/tapstatus.json")"
kill "$TPID" "$TCPID"
finish
