# -M and -I: outgoing sockets come from the monitor with SO_MARK and
# SO_BINDTODEVICE set; the kernel's socket table shows both.
. regress/lib.sh

P=$(free_port); E=$(free_port)
start_echo "$E"
start_ostpd mark -M 0x2a -I lo -L "tcp://127.0.0.1:$P/127.0.0.1:$E"
wait_port "$P" || fatal "no listener"
python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $P))
s.sendall(b'x'); s.recv(1)
time.sleep(3)
" &
CPID=$!; PIDS="$PIDS $CPID"
wait_until 3 established "$E" || fail "no connection to the echo server"
ss -tne state established "( dport = :$E )" >"$LOGDIR/ss.out"
grep -q 'fwmark:0x2a' "$LOGDIR/ss.out" || fail "outgoing socket has no fwmark 0x2a: $(cat "$LOGDIR/ss.out")"
grep -q '%lo' "$LOGDIR/ss.out" || fail "outgoing socket not bound to lo: $(cat "$LOGDIR/ss.out")"
$NETTOOL xfer 127.0.0.1 "$P" 100000 4 >/dev/null || fail "forwarding with mark"
kill "$OPID"

# The same for datagrams (udp://) and the DNS proxy's upstream (TCP).
UE=$(free_port); U=$(free_port); SL=$(free_port); DP=$(free_port)
start_udpecho "$UE"
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
c, _ = s.accept(); time.sleep(4)' "$SL" >"$LOGDIR/slowdns.log" 2>&1 &
PIDS="$PIDS $!"
wait_until 5 listening "$SL" || fatal "the slow DNS upstream did not start"
start_ostpd mark2 -M 0x2b -L "udp://127.0.0.1:$U/127.0.0.1:$UE" \
    -L "dns://127.0.0.1:$DP/tcp://127.0.0.1:$SL"
wait_until 5 _udp_answers 127.0.0.1 "$U" || fatal "mark2 does not forward"
[ "$($NETTOOL udpcheck 127.0.0.1 "$U" 2)" = 2 ] || fail "udp forwarding with mark"
# the outgoing datagram socket is unconnected: find it by its process
W2=$(worker_of "$OPID")
ss -uanep >"$LOGDIR/ssu.out"
grep "pid=$W2," "$LOGDIR/ssu.out" | grep -v ":$U " | grep -q 'fwmark:0x2b' ||
    fail "udp:// socket has no fwmark: $(grep "pid=$W2," "$LOGDIR/ssu.out")"
dig +tries=1 +time=5 @127.0.0.1 -p "$DP" example.test >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_until 5 established "$SL" || fail "no connection to the DNS upstream"
ss -tne "( dport = :$SL )" >"$LOGDIR/ssd.out"
grep -q 'fwmark:0x2b' "$LOGDIR/ssd.out" || fail "dns upstream socket has no fwmark: $(cat "$LOGDIR/ssd.out")"
finish
