# Transparent proxying in network namespaces: a client namespace routes
# through a router namespace where ostpd runs, to servers in a third.
# TCP is diverted with iptables REDIRECT (IPv4 and IPv6) to red://, UDP
# with TPROXY to redu://, whose answers leave from sockets the monitor
# binds, transparently, to the servers' addresses.
. regress/lib.sh

command -v iptables >/dev/null || skip "iptables is not installed (make deps)"
T=ostpt$$
C=${T}c; R=${T}r; S=${T}s
netns_add "$C" "$R" "$S"
inn() { ns=$1; shift; ip netns exec "$ns" "$@"; }
veth_pair "$C" "${T}a" 10.98.0.1/24 "$R" "${T}b" 10.98.0.2/24
veth_pair "$R" "${T}x" 10.97.0.1/24 "$S" "${T}y" 10.97.0.5/24
inn "$C" ip addr add fd98::1/64 dev "${T}a" nodad
inn "$R" ip addr add fd98::2/64 dev "${T}b" nodad
inn "$R" ip addr add fd97::1/64 dev "${T}x" nodad
inn "$S" ip addr add fd97::5/64 dev "${T}y" nodad
inn "$C" ip route add default via 10.98.0.2
inn "$C" ip -6 route add default via fd98::2
inn "$S" ip route add default via 10.97.0.1
inn "$S" ip -6 route add default via fd97::1

# servers in S
mkdir -p "$LOGDIR/www"
echo "behind the router" >"$LOGDIR/www/hello.txt"
start_web http "$LOGDIR/www" 80 :: "$S"
start_udpecho 7777 0.0.0.0 "$S"
start_udpecho 7778 :: "$S"

# the router: REDIRECT for TCP, TPROXY for UDP
PT=12345; PU=12346
inn "$R" iptables -t nat -A PREROUTING -i "${T}b" -p tcp --dport 80 \
    -j REDIRECT --to-ports $PT || fatal "iptables REDIRECT"
inn "$R" ip6tables -t nat -A PREROUTING -i "${T}b" -p tcp --dport 80 \
    -j REDIRECT --to-ports $PT || fatal "ip6tables REDIRECT"
inn "$R" iptables -t mangle -A PREROUTING -i "${T}b" -p udp --dport 7777 \
    -j TPROXY --on-port $PU --tproxy-mark 0x1/0x1 || fatal "iptables TPROXY"
inn "$R" ip6tables -t mangle -A PREROUTING -i "${T}b" -p udp --dport 7778 \
    -j TPROXY --on-port $PU --tproxy-mark 0x1/0x1 || fatal "ip6tables TPROXY"
inn "$R" ip rule add fwmark 0x1/0x1 lookup 100
inn "$R" ip route add local 0.0.0.0/0 dev lo table 100
inn "$R" ip -6 rule add fwmark 0x1/0x1 lookup 100
inn "$R" ip -6 route add local ::/0 dev lo table 100

inn "$R" "$OSTPD" -D -L "red://:$PT" -L "redu://:$PU?ttl=5s" >"$LOGDIR/router.log" 2>&1 &
PIDS="$PIDS $!"
wait_port $PT 127.0.0.1 "$R" || fatal "red:// did not start"

r=$(inn "$C" curl -sS --max-time 10 http://10.97.0.5/hello.txt 2>&1)
[ "$r" = "behind the router" ] || fail "IPv4 REDIRECT: $r"
grep -q "red://:$PT: to 10.97.0.5:80" "$LOGDIR/router.log" ||
    fail "red:// did not see the original IPv4 destination"
r=$(inn "$C" curl -sS --max-time 10 -g "http://[fd97::5]/hello.txt" 2>&1)
[ "$r" = "behind the router" ] || fail "IPv6 REDIRECT: $r"
grep -q "red://:$PT: to fd97::5:80" "$LOGDIR/router.log" ||
    fail "red:// did not see the original IPv6 destination"

n=$(inn "$C" $NETTOOL udpcheck 10.97.0.5 7777 10)
[ "$n" = 10 ] || fail "IPv4 TPROXY: $n of 10 round trips"
n=$(inn "$C" $NETTOOL udpcheck fd97::5 7778 10)
[ "$n" = 10 ] || fail "IPv6 TPROXY: $n of 10 round trips"
grep -q "new session for 10.98.0.1:[0-9]* to 10.97.0.5" "$LOGDIR/router.log" ||
    fail "redu:// did not see the original IPv4 destination"
grep -q "new session for fd98::1:[0-9]* to fd97::5" "$LOGDIR/router.log" ||
    fail "redu:// did not see the original IPv6 destination"

finish
