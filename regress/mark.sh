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
sleep 1
ss -tne state established "( dport = :$E )" >"$LOGDIR/ss.out"
grep -q 'fwmark:0x2a' "$LOGDIR/ss.out" || fail "outgoing socket has no fwmark 0x2a: $(cat "$LOGDIR/ss.out")"
grep -q '%lo' "$LOGDIR/ss.out" || fail "outgoing socket not bound to lo: $(cat "$LOGDIR/ss.out")"
$NETTOOL xfer 127.0.0.1 "$P" 100000 4 >/dev/null || fail "forwarding with mark"
kill "$OPID"
finish
