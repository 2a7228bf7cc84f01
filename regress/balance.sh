# Node groups on a chain position (gost's load balancing): ip= members,
# round robin, fail filter with Retries, fifo, live peer= and ip= files,
# and a live bypass= file on a chain node.
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

# ip= file: its addresses are members too (after the node and its
# inline ip= ones), and a change is followed from the next dial on.  The
# node itself is dead; with fifo and Retries the file's first member
# serves, and a new member list is a new generation whose counts start
# afresh.
ipf=$LOGDIR/ips
printf 'reload 1s\n# the group\n127.0.0.1:%s   # b3\n' "$B3" >"$ipf"
cat >"$LOGDIR/ipfile.json" <<J
{"ServeNodes": ["127.0.0.1:PORT"], "Retries": 2,
 "ChainNodes": ["socks5://127.0.0.1:$DEAD?ip=$ipf&strategy=fifo"]}
J
I=$(free_port)
sed -i "s/PORT/$I/" "$LOGDIR/ipfile.json"
start_ostpd ipfile -C "$LOGDIR/ipfile.json"
wait_port "$I" || fatal "ipfile"
before1=$(served b1); before3=$(served b3)
for i in 1 2 3; do fetch "socks5://127.0.0.1:$I" || fail "ip file request $i"; done
served_is $((before3 + 3)) b3 || fail "the ip file's member did not serve"
printf 'reload 1s\n127.0.0.1:%s\n' "$B1" |
    live_write "$ipf" "$LOGDIR/ipfile.log" || fail "ip file not reloaded"
grep -q "$ipf reloaded" "$LOGDIR/ipfile.log" || fail "ip file refused"
before1=$(served b1); before3=$(served b3)
for i in 1 2 3; do fetch "socks5://127.0.0.1:$I" || fail "request $i after the ip change"; done
served_is $((before1 + 3)) b1 && served_is "$before3" b3 || fail "ip file change not followed"
# a broken version: one line naming file and line, the members stay
printf 'reload 1s\n127.0.0.1:%s extra\n' "$B3" |
    live_write "$ipf" "$LOGDIR/ipfile.log" || fail "broken ip file not noticed"
grep -q "reload failed: $ipf:2: one address per line" "$LOGDIR/ipfile.log" ||
    fail "broken ip file: no error naming the line"
before1=$(served b1)
fetch "socks5://127.0.0.1:$I" || fail "request after a broken ip file"
served_is $((before1 + 1)) b1 || fail "a broken ip file changed the members"
# startup refuses what the worker could not use
printf '127.0.0.1:1:2\n' >"$LOGDIR/ipbad"
out=$("$OSTPD" -t -F "socks5://127.0.0.1:$DEAD?ip=$LOGDIR/ipbad" -L :1 2>&1) &&
    fail "broken ip file accepted"
echo "$out" | grep -q "ipbad:1: bad address" || fail "broken ip file: $out"
# names are resolved at each dial, as the node's own
printf 'proxy.example:1080\n' >"$LOGDIR/ipname"
out=$("$OSTPD" -t -F "socks5://127.0.0.1:$DEAD?ip=$LOGDIR/ipname" -L :1 2>&1) ||
    fail "a name in the first node's ip file refused: $out"

# bypass= file on a chain node: live, it decides where the chain stops.
# A target by name tells the requests apart in the hop's log.
bpf=$LOGDIR/hopbypass
printf 'reload 1s\n10.0.0.0/8\n' >"$bpf"
Y=$(free_port)
start_ostpd hopbypass -L "127.0.0.1:$Y" -F "socks5://127.0.0.1:$B1?bypass=$bpf"
wait_port "$Y" || fatal "hopbypass"
byname() { [ "$(curl -sS --max-time 10 -x "socks5h://127.0.0.1:$Y" "http://localhost:$H/hello.txt" 2>>"$LOGDIR/curl.err")" = balanced ]; }
byname || fail "request by name through the chain"
wait_log "$LOGDIR/b1.log" "socks5 to localhost:$H" || fail "the chain did not carry the name"
printf 'reload 1s\nlocalhost\n' | live_write "$bpf" "$LOGDIR/hopbypass.log" ||
    fail "chain node bypass file not reloaded"
byname || fail "bypassed request by name"
before1=$(served b1)
fetch "socks5://127.0.0.1:$Y" || fail "request by address after the bypass change"
served_is $((before1 + 1)) b1 || fail "the address still goes through the chain"
[ "$(count "$LOGDIR/b1.log" "socks5 to localhost:$H")" -eq 1 ] ||
    fail "a bypassed name still went through the chain node"

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
