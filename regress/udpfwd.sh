# udp:// forwarding: per-client sessions that end after ttl, several
# targets taken in turn, port ranges (tcp and udp), and datagrams through
# a chain whose last hop is SOCKS5 (gost's UDP-over-TCP, served by
# another ostpd).
. regress/lib.sh

U1=$(free_port); U2=$(free_port)
start_udpecho "$U1"
start_udpecho "$U2"

# 1. direct, with a short ttl
F=$(free_port)
start_ostpd fwd -DD -L "udp://127.0.0.1:$F/127.0.0.1:$U1?ttl=1s"
wait_log "$LOGDIR/fwd.log" "worker 0 (generation 1) running" || fatal "fwd did not start"
n=$($NETTOOL udpcheck 127.0.0.1 "$F" 20)
[ "$n" = 20 ] || fail "udp forward: $n of 20 round trips"
wait_log "$LOGDIR/fwd.log" "session idle for its ttl; closed" 4 ||
    fail "the session did not end after ttl"
n=$($NETTOOL udpcheck 127.0.0.1 "$F" 3)
[ "$n" = 3 ] || fail "a new session after ttl: $n of 3"

# 2. two targets: sessions alternate between them
F=$(free_port)
start_ostpd lb -D -L "udp://127.0.0.1:$F/127.0.0.1:$U1,127.0.0.1:$U2"
wait_log "$LOGDIR/lb.log" "running" || fatal "lb did not start"
for i in 1 2 3 4; do
	n=$($NETTOOL udpcheck 127.0.0.1 "$F" 2)
	[ "$n" = 2 ] || fail "load-balanced session $i: $n of 2"
done

# 3. port ranges: tcp and udp, the offset kept
B=$(python3 -c 'import socket
for b in range(30000, 60000, 7):
    ok = True
    for p in (b, b + 1, b + 10, b + 11):
        for t in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, t)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            s.close()
    if ok:
        print(b)
        break')
E1=$((B + 10)); E2=$((B + 11))
start_echo "$E1"
start_echo "$E2"
start_ostpd range -L "tcp://127.0.0.1:$B-$((B + 1))/127.0.0.1:$E1-$E2" \
    -L "udp://127.0.0.1:$B-$((B + 1))/127.0.0.1:$U1"
wait_port "$B" && wait_port $((B + 1)) || fatal "range listeners"
$NETTOOL xfer 127.0.0.1 "$B" 100000 2 >"$LOGDIR/r1.out" 2>&1 || fail "tcp range port 1"
$NETTOOL xfer 127.0.0.1 $((B + 1)) 100000 2 >"$LOGDIR/r2.out" 2>&1 || fail "tcp range port 2"
[ "$($NETTOOL udpcheck 127.0.0.1 $((B + 1)) 3)" = 3 ] || fail "udp range port 2"
"$OSTPD" -T -L "tcp://127.0.0.1:$B-$((B + 1))/127.0.0.1:$E1-$E2" |
    grep -q "tcp://127.0.0.1:$((B + 1))/127.0.0.1:$E2" ||
    fail "port $((B + 1)) does not forward to $E2"
"$OSTPD" -t -L "tcp://:8000-8002/127.0.0.1:9000-9001" >"$LOGDIR/bad.out" 2>&1 &&
    fail "a range of another length was accepted"
grep -q "is not as long as the listening range" "$LOGDIR/bad.out" ||
    fail "no clear error for ranges of different lengths"

# 4. through a chain: the last hop (ostpd socks5) gets UDP-over-TCP
H=$(free_port); F=$(free_port)
start_ostpd hop -D -L "socks5://127.0.0.1:$H"
wait_port "$H" || fatal "hop"
start_ostpd cfwd -D -L "udp://127.0.0.1:$F/127.0.0.1:$U2" -F "socks5://127.0.0.1:$H"
wait_log "$LOGDIR/cfwd.log" "running" || fatal "cfwd"
n=$($NETTOOL udpcheck 127.0.0.1 "$F" 10)
[ "$n" = 10 ] || fail "udp forward through a socks5 chain: $n of 10"
grep -q "udp-over-tcp association" "$LOGDIR/hop.log" ||
    fail "the hop did not serve UDP-over-TCP"

finish
