# tun:// and tap:// over fake TCP (tcp=true, xtaci/tcpraw's wire), with
# Debian's tcpraw in a small Go peer (regress/tools/tcprawpeer.go) as
# gost's other end.  Two namespaces joined by a veth pair:
#   1. ostpd server, tcpraw client: ping both ways, a byte-exact TCP
#      transfer; on the wire only TCP segments with PSH|ACK, no UDP;
#   2. ostpd client (the native configuration's "tcp": true), tcpraw
#      server: the same the other way round;
#   3. ostpd to ostpd, tap: ARP across, ping, iperf3 both ways; none
#      of the kernel's own segments (TTL 1) leave either end, and the
#      policy rules that drop them exist while the daemons run and are
#      gone after;
#      3b. over IPv6 (a policy rule per flow), and IPv4 to a
#      dual-stack server;
#      SIGHUP of the server: the client connects again, one rule;
#   4. the client restarted: a new connection, ping again; the server
#      restarted: it resets the old flow, the client connects again;
#   5. garbage segments to the server's port (bad lengths, flags,
#      SYNs from nowhere): dropped, the tunnel still serves;
#   6. tcp=true with capture=true, "tcp": "yes": one clear line each.
. regress/lib.sh

PEER=$PWD/$BUILD/tools/tcprawpeer
[ -x "$PEER" ] || fatal "no $PEER (make unittests builds it)"

A=oftA$$; B=oftB$$
netns_add $A $B
veth_pair $A fa$$ 192.168.94.1/24 $B fb$$ 192.168.94.2/24

# peer NAME NS ARGS...: a tcprawpeer; PPID_ its PID
peer() {
	_name=$1; _ns=$2; shift 2
	ip netns exec "$_ns" "$PEER" "$@" >"$LOGDIR/$_name.out" \
	    2>"$LOGDIR/$_name.err" &
	PPID_=$!
	PIDS="$PIDS $PPID_"
	wait_log "$LOGDIR/$_name.out" ready 10
}
# dev NS NAME ADDR [tap]: a device for the peer, up
dev() {
	ip -n "$1" tuntap add dev "$2" mode "${4:-tun}" || fatal "tuntap $2"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" link set "$2" up
}
pings() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
# capture NS IF FILE FILTER...: tcpdump in the background; CAPPID
capture() {
	_ns=$1; _if=$2; _f=$3; shift 3
	ip netns exec "$_ns" tcpdump -n -v -l -i "$_if" "$@" >"$_f" 2>"$_f.err" &
	CAPPID=$!
	PIDS="$PIDS $CAPPID"
	wait_log "$_f.err" 'listening on' 5 || fatal "tcpdump did not start"
}
capstop() { kill "$CAPPID"; wait_gone "$CAPPID"; }
# across WHAT SADDR CADDR PORT: through the tunnel whose server end (in
# A) has SADDR and client end (in B) CADDR, pings both ways and a
# byte-exact transfer from B to an echo server at SADDR:PORT
across() {
	wait_until 10 pings $B "$2" || fail "$1: no ping from the client"
	ip netns exec $A ping -c 3 -i 0.2 -W 2 "$3" >"$LOGDIR/ping-$4.out" 2>&1 ||
		fail "$1: ping from the server: $(cat "$LOGDIR/ping-$4.out")"
	ip netns exec $A $NETTOOL echo "$2" "$4" >"$LOGDIR/echo-$4.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$4" "$2" $A || fatal "$1: echo server"
	ip netns exec $B $NETTOOL xfer "$2" "$4" 1000000 2 \
	    >"$LOGDIR/xfer-$4.out" 2>&1 ||
		fail "$1: TCP transfer through the tunnel: $(cat "$LOGDIR/xfer-$4.out")"
}

# --- 1. ostpd server, tcpraw client -----------------------------------------
capture $A fa$$ "$LOGDIR/wire1" 'port 8421 or udp'
ns_ostpd srv $A -D -L 'tun://192.168.94.1:8421?net=10.94.0.1/24&name=oft0&tcp=true'
SPID=$OPID
ns_ready srv || fatal "server not ready"
grep -q 'carried over fake TCP (server)' "$LOGDIR/srv.log" ||
	fail "the server does not say it runs over fake TCP"
dev $B oftp0 10.94.0.2/24
peer pc $B client oftp0 192.168.94.1:8421 || fatal "tcpraw client: $(cat "$LOGDIR/pc.err")"
across "ostpd server, tcpraw client" 10.94.0.1 10.94.0.2 7000
capstop
grep -q 'Flags \[P\.\]' "$LOGDIR/wire1" || fail "no PSH|ACK segments on the wire"
grep -q 'proto UDP' "$LOGDIR/wire1" && fail "UDP on the wire"
# the segments the daemon wrote: checksums right (tcpdump -v says)
grep '192.168.94.1.8421 >.*Flags \[P\.\]' "$LOGDIR/wire1" | grep -q 'cksum .* (correct)' ||
	fail "the server's segments: no correct checksum: $(grep -m 3 '94.1.8421 >' "$LOGDIR/wire1")"
grep '192.168.94.1.8421 >.*Flags \[P\.\]' "$LOGDIR/wire1" | grep -q 'incorrect' &&
	fail "the server's segments: a bad checksum: $(grep -m 1 incorrect "$LOGDIR/wire1")"
# 1+3 or more kernel handshakes would be a flow per packet
[ "$(grep -c 'Flags \[S\]' "$LOGDIR/wire1")" = 1 ] ||
	fail "not one handshake: $(grep -c 'Flags \[S\]' "$LOGDIR/wire1")"
kill "$PPID_"; wait_gone "$PPID_" || fail "tcpraw client did not stop"
kill "$SPID"; wait_gone "$SPID" || fail "server did not stop"
ip -n $A rule show | grep -q blackhole && fail "a policy rule left: $(ip -n $A rule show)"

# --- 2. ostpd client, tcpraw server -----------------------------------------
dev $A oftp1 10.95.0.1/24
peer ps $A server oftp1 192.168.94.1:8422 || fatal "tcpraw server: $(cat "$LOGDIR/ps.err")"
# (the native configuration's tun inbound, "tcp": true)
cat >"$LOGDIR/cli.json" <<'J'
{ "inbounds": [ { "type": "tun", "tag": "ft", "peer": "192.168.94.1:8422",
    "net": "10.95.0.2/24", "name": "oft1", "tcp": true } ] }
J
ns_ostpd cli $B -D -C "$LOGDIR/cli.json"
CPID=$OPID
ns_ready cli || fatal "client not ready"
wait_log "$LOGDIR/cli.log" 'fake TCP connection to 192.168.94.1:8422 up' 10 ||
	fail "the client did not connect"
across "tcpraw server, ostpd client" 10.95.0.1 10.95.0.2 7001
ip -n $B rule show >"$LOGDIR/rules2"
grep -q '8990:.*to 192.168.94.1 .*ipproto tcp dport 8422 blackhole' "$LOGDIR/rules2" ||
	fail "no policy rule for the client's kernel segments: $(cat "$LOGDIR/rules2")"
kill "$CPID"; wait_gone "$CPID" || fail "client did not stop"
ip -n $B rule show | grep -q blackhole && fail "a client rule left: $(ip -n $B rule show)"
kill "$PPID_"; wait_gone "$PPID_" || fail "tcpraw server did not stop"

# --- 3. ostpd to ostpd, tap; the kernel's own segments stay home -------------
capture $A fa$$ "$LOGDIR/wire3" 'tcp port 8423 or udp'
ns_ostpd tsrv $A -D -L 'tap://192.168.94.1:8423?net=10.96.0.1/24&name=oftt0&tcp=true'
TSPID=$OPID
ns_ostpd tcli $B -D -L 'tap://:0/192.168.94.1:8423?net=10.96.0.2/24&name=oftt1&tcp=true'
TCPID=$OPID
ns_ready tsrv || fatal "tap server not ready"
ns_ready tcli || fatal "tap client not ready"
wait_until 10 pings $B 10.96.0.1 || fail "tap over fake TCP: no ping"
mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
ip -n $B neigh show 10.96.0.1 dev oftt1 | grep -q "lladdr $(mac $A oftt0)" ||
	fail "tap: the client did not learn the server's MAC by ARP"
ip -n $A rule show | grep -q '8990:.*ipproto tcp sport 8423 blackhole' ||
	fail "no policy rule for the server's kernel segments: $(ip -n $A rule show)"
ip netns exec $A iperf3 -s -B 10.96.0.1 >"$LOGDIR/iperf-s.out" 2>&1 &
PIDS="$PIDS $!"
_ip_listen() { ip netns exec $A ss -ltn 'sport = :5201' | grep -q LISTEN; }
wait_until 5 _ip_listen || fatal "iperf3 server"
for m in "" -R; do
	ip netns exec $B timeout 20 iperf3 -c 10.96.0.1 -t 3 $m -f m \
	    >"$LOGDIR/iperf$m.out" 2>&1 ||
		fail "iperf3 $m over fake TCP: $(tail -3 "$LOGDIR/iperf$m.out")"
	log "iperf3 $m tap over fake TCP: $(awk '/receiver/ { print $7, $8 }' \
	    "$LOGDIR/iperf$m.out")"
done
capstop
grep -q 'proto UDP' "$LOGDIR/wire3" && fail "UDP on the wire (tap)"
# tcpdump -v prints "ttl N" for each IPv4 packet
[ "$(grep -c 'ttl 1,' "$LOGDIR/wire3")" = 0 ] ||
	fail "the kernel's own segments reached the wire: $(grep -m 3 'ttl 1,' "$LOGDIR/wire3")"

# SIGHUP: the new generation's worker takes the device and the port
# over (the listener's rule stays, one), knows none of the old flows
# and resets their next segment: the client connects again
resets() { count "$LOGDIR/tcli.log" 'connection to 192.168.94.1:8423 reset by the peer'; }
R0=$(resets)
# (started at the same time as its server: a connection it accepted
# before its raw socket was open is still its flow, not reset)
[ "$R0" = 0 ] || fail "the client was reset before any restart"
kill -HUP "$TSPID"
wait_log "$LOGDIR/tsrv.log" 'configuration reloaded (generation 2)' 5 ||
	fail "the tap server did not reload"
wait_log "$LOGDIR/tsrv.log" 'worker 0 (generation 2) running' 5 ||
	fail "no worker of generation 2"
wait_until 15 pings $B 10.96.0.1 || fail "no ping after SIGHUP"
[ "$(resets)" -gt "$R0" ] || fail "the client was not reset after SIGHUP"
[ "$(ip -n $A rule show | grep -c blackhole)" = 1 ] ||
	fail "not one rule after SIGHUP: $(ip -n $A rule show)"

# --- 3b. IPv6, and a dual-stack server taking IPv4 -----------------------------
ip -n $A addr add fd00:94::1/64 dev fa$$ nodad
ip -n $B addr add fd00:94::2/64 dev fb$$ nodad
capture $A fa$$ "$LOGDIR/wire6" 'ip6 and tcp port 8425'
ns_ostpd s6 $A -D -L 'tun://[fd00:94::1]:8425?net=10.98.0.1/24&name=oft6s&tcp=true' \
    -L 'tun://:8426?net=10.99.0.1/24&name=oftds&tcp=true'
S6PID=$OPID
ns_ostpd c6 $B -D -L 'tun://:0/[fd00:94::1]:8425?net=10.98.0.2/24&name=oft6c&tcp=true' \
    -L 'tun://:0/192.168.94.1:8426?net=10.99.0.2/24&name=oftdc&tcp=true'
C6PID=$OPID
ns_ready s6 || fatal "IPv6 server not ready"
ns_ready c6 || fatal "IPv6 client not ready"
across "fake TCP over IPv6" 10.98.0.1 10.98.0.2 7002
across "IPv4 to a dual-stack server" 10.99.0.1 10.99.0.2 7003
capstop
grep -q 'Flags \[P\.\]' "$LOGDIR/wire6" || fail "no PSH|ACK segments over IPv6"
# over IPv6 a rule per flow, by its ports, once it is up: the few
# segments the kernel sends before the monitor has added it may leave
# (without the rule: one for each of the peer's segments, thousands)
[ "$(grep -c 'hlim 1,' "$LOGDIR/wire6")" -le 4 ] ||
	fail "the kernel's own IPv6 segments reached the wire: $(grep -c 'hlim 1,' "$LOGDIR/wire6")"
ip -n $B -6 rule show | grep -q '8990:.*to fd00:94::1 ipproto tcp sport [0-9]* dport 8425 blackhole' ||
	fail "no IPv6 flow rule at the client: $(ip -n $B -6 rule show)"
ip -n $A -6 rule show | grep -q '8990:.*to fd00:94::2 ipproto tcp sport 8425 dport [0-9]* blackhole' ||
	fail "no IPv6 flow rule at the server: $(ip -n $A -6 rule show)"
kill "$C6PID" "$S6PID"; wait_gone "$C6PID" && wait_gone "$S6PID" ||
	fail "the IPv6 daemons did not stop"

# --- 4. the client restarted: a new flow ------------------------------------
kill "$TCPID"; wait_gone "$TCPID" || fail "tap client did not stop"
ns_ostpd tcli $B -D -L 'tap://:0/192.168.94.1:8423?net=10.96.0.2/24&name=oftt1&tcp=true'
TCPID=$OPID
ns_ready tcli 2 || fatal "tap client not ready again"
wait_until 10 pings $B 10.96.0.1 || fail "no ping after the client's restart"

# ...and the server restarted: it resets the old flow's next segment
# (its kernel would, but the socket filter keeps data from it), the
# client connects again
R0=$(resets)
kill "$TSPID"; wait_gone "$TSPID" || fail "tap server did not stop"
ns_ostpd tsrv $A -D -L 'tap://192.168.94.1:8423?net=10.96.0.1/24&name=oftt0&tcp=true'
TSPID=$OPID
ns_ready tsrv 2 || fatal "tap server not ready again"
# (its new device has a new MAC, which B's stale neighbour entry would
# only learn after its probes to the old one fail: half a minute)
ip -n $B neigh flush dev oftt1
wait_until 15 pings $B 10.96.0.1 || fail "no ping after the server's restart"
[ "$(resets)" -gt "$R0" ] ||
	fail "the client did not see the restarted server's reset"

# --- 5. garbage to the server's port ----------------------------------------
ip netns exec $B python3 - <<'E' || fail "garbage sender"
import os, socket, struct, random
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
dst = ("192.168.94.1", 0)
for i in range(3000):
    sport = random.randrange(1024, 65535)
    doff = random.choice([0, 1, 4, 5, 15])
    flags = random.choice([0x02, 0x18, 0x12, 0x04, 0x3f, 0x08])
    hdr = struct.pack("!HHIIBBHHH", sport, 8423, random.getrandbits(32),
                      random.getrandbits(32), doff << 4, flags,
                      random.getrandbits(16), random.getrandbits(16), 0)
    body = os.urandom(random.choice([0, 1, 19, 100, 1400]))
    try:
        s.sendto((hdr + body)[:random.choice([8, 19, 20, 60, 2000])], dst)
    except OSError:
        pass
E
kill -0 "$TSPID" 2>/dev/null || fail "the server died of garbage"
ip netns exec $B ping -c 2 -i 0.2 -W 2 10.96.0.1 >"$LOGDIR/ping5.out" 2>&1 ||
	fail "the tunnel does not serve after garbage"
kill "$TCPID" "$TSPID"; wait_gone "$TCPID" && wait_gone "$TSPID" ||
	fail "the tap daemons did not stop"
for n in $A $B; do
	ip -n $n rule show | grep -q blackhole &&
	    fail "a policy rule left in $n: $(ip -n $n rule show)"
	ip -n $n -6 rule show | grep -q blackhole &&
	    fail "an IPv6 policy rule left in $n: $(ip -n $n -6 rule show)"
	ip -n $n link show | grep -q 'oftt[01]' && fail "a device left in $n"
done

# --- 6. configuration ---------------------------------------------------------
"$OSTPD" -t -L 'tun://:8424?net=10.97.0.1/24&capture=true&tcp=true' \
    >"$LOGDIR/bad.out" 2>&1 && fail "capture with tcp=true accepted"
grep -q 'a capture has no peer to reach over fake TCP' "$LOGDIR/bad.out" ||
	fail "no clear line for capture with tcp=true: $(cat "$LOGDIR/bad.out")"

cat >"$LOGDIR/bad.json" <<'J'
{ "inbounds": [ { "type": "tun", "peer": "192.168.94.1:8422",
    "net": "10.95.0.2/24", "tcp": "yes" } ] }
J
"$OSTPD" -t -C "$LOGDIR/bad.json" >"$LOGDIR/bad2.out" 2>&1 &&
	fail "\"tcp\": \"yes\" accepted"
grep -q 'tcp must be true or false' "$LOGDIR/bad2.out" ||
	fail "no clear line for \"tcp\": \"yes\": $(cat "$LOGDIR/bad2.out")"

finish
