# Node groups on a chain position (gost's load balancing): ip= members,
# round robin, fail filter with Retries, fifo, and a live peer= file.
. regress/lib.sh

W=$LOGDIR/www
mkdir -p "$W"
echo "balanced" >"$W/hello.txt"
H=$(free_port); B1=$(free_port); B2=$(free_port); B3=$(free_port); DEAD=$(free_port)
start_web http "$W" "$H"
start_ostpd b1 -D -L "socks5://127.0.0.1:$B1"
start_ostpd b2 -D -L "socks5://127.0.0.1:$B2"
B2PID=$OPID
start_ostpd b3 -D -L "socks5://127.0.0.1:$B3"
for p in $H $B1 $B2 $B3; do wait_port "$p" || fatal "port $p"; done

served() {	# served LOG: how many requests that hop carried
	grep -c "socks5 to 127.0.0.1:$H" "$LOGDIR/$1.log"
}
# Log lines reach the file through the monitor, a moment after the
# bytes reach the client: counts are waited for, never read once.
_served_sum() {	# _served_sum N LOG...: the hops together carried N
	_want=$1; shift; _sum=0
	for _l; do _sum=$((_sum + $(served "$_l"))); done
	[ "$_sum" -eq "$_want" ]
}
_served_min() { [ "$(served "$1")" -ge "$2" ]; }
served_is() { wait_until 5 _served_sum "$@"; }
fetch() {	# fetch PROXY: 0 when the page came through
	[ "$(curl -sS --max-time 10 -x "$1" "http://127.0.0.1:$H/hello.txt" 2>>"$LOGDIR/curl.err")" = balanced ]
}

# Round robin over the base node and two ip= members.
cat >"$LOGDIR/rr.json" <<J
{"ServeNodes": ["127.0.0.1:0"], "Retries": 3,
 "ChainNodes": ["socks5://127.0.0.1:$B1?ip=127.0.0.1:$B2,127.0.0.1:$B3&max_fails=1&fail_timeout=60s"]}
J
A=$(free_port)
sed -i "s/127.0.0.1:0\"/127.0.0.1:$A\"/" "$LOGDIR/rr.json"
start_ostpd rr -C "$LOGDIR/rr.json"
wait_port "$A" || fatal "rr"
for i in 1 2 3 4 5 6; do fetch "socks5://127.0.0.1:$A" || fail "round robin request $i"; done
for b in b1 b2 b3; do
	wait_until 5 _served_min $b 2 || fail "round robin: $b carried $(served $b) of 6"
done

# One member dies: Retries carry the request to another, and the fail
# filter keeps the dead one out of later choices.
kill "$B2PID"
wait_gone "$B2PID" || fatal "b2 did not exit"
s13=$(( $(served b1) + $(served b3) ))
for i in 1 2 3 4 5 6; do fetch "socks5://127.0.0.1:$A" || fail "request $i after a member died"; done
served_is $((s13 + 6)) b1 b3 || fail "survivors did not take over"

# fifo: always the first usable member.
F=$(free_port)
start_ostpd fifo -L "127.0.0.1:$F" -F "socks5://127.0.0.1:$B3?ip=127.0.0.1:$B1&strategy=fifo"
wait_port "$F" || fatal "fifo"
before1=$(served b1); before3=$(served b3)
for i in 1 2 3; do fetch "socks5://127.0.0.1:$F" || fail "fifo request $i"; done
served_is $((before3 + 3)) b3 && served_is "$before1" b1 || fail "fifo did not stick to the first member"

# peer= file: the nodes it lists join the group, and follow its changes.
pf=$LOGDIR/peers
printf 'reload 1s\nstrategy fifo\nmax_fails 1\nfail_timeout 60s\npeer socks5://127.0.0.1:%s\n' "$B3" >"$pf"
cat >"$LOGDIR/peer.json" <<J
{"ServeNodes": ["127.0.0.1:PORT"], "Retries": 2,
 "ChainNodes": ["socks5://127.0.0.1:$DEAD?peer=$pf"]}
J
P=$(free_port)
sed -i "s/PORT/$P/" "$LOGDIR/peer.json"
start_ostpd peer -C "$LOGDIR/peer.json"
wait_port "$P" || fatal "peer"
before3=$(served b3)
for i in 1 2 3; do fetch "socks5://127.0.0.1:$P" || fail "peer request $i"; done
served_is $((before3 + 3)) b3 || fail "the peer file's node did not serve"
printf 'reload 1s\nstrategy fifo\npeer socks5://127.0.0.1:%s\n' "$B1" |
    live_write "$pf" "$LOGDIR/peer.log" || fail "peer file not reloaded"
grep -q "$pf reloaded" "$LOGDIR/peer.log" || fail "peer file refused"
before1=$(served b1); before3=$(served b3)
for i in 1 2 3; do fetch "socks5://127.0.0.1:$P" || fail "request $i after the peer change"; done
served_is $((before1 + 3)) b1 && served_is "$before3" b3 || fail "peer change not followed"

# fastest_count: a connect probe finds the dead member; round robin then
# never picks it, so no request fails even without Retries.
X=$(free_port)
start_ostpd fast -D -L "127.0.0.1:$X" -F "socks5://127.0.0.1:$DEAD?ip=127.0.0.1:$B3&fastest_count=1"
wait_port "$X" || fatal "fast"
wait_log "$LOGDIR/fast.log" "probe 127.0.0.1:$B3:" 5 || fail "no latency probe"
before3=$(served b3)
for i in 1 2 3 4; do fetch "socks5://127.0.0.1:$X" || fail "fastest_count request $i"; done
served_is $((before3 + 4)) b3 || fail "fastest_count did not keep to the live member"

# Every member dead: the request fails cleanly and the daemon serves on.
Z=$(free_port)
# (bypass: a name that skips the group proves this daemon still serves)
start_ostpd dead -L "127.0.0.1:$Z" -F "socks5://127.0.0.1:$DEAD?ip=127.0.0.1:$B2&bypass=localhost"
wait_port "$Z" || fatal "dead"
fetch "socks5://127.0.0.1:$Z" && fail "a dead group carried a request"
assert_serving "socks5h://127.0.0.1:$Z" "http://localhost:$H/hello.txt"
fetch "socks5://127.0.0.1:$A" || fail "other daemon disturbed"
finish
