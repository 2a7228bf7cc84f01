# What a new user trips over, as they would hit it: every mistake of a
# configuration named at once, one line each; misspelled schemes, two
# listeners on one port, a missing interface, a datagram listener behind
# a chain that cannot carry datagrams: all refused at startup; each
# refusal followed by proof that a good configuration still serves.
. regress/lib.sh

E=$(free_port); P=$(free_port); P2=$(free_port); D=$(free_port)
start_echo "$E"

# lines OUTPUT: how many "ostpd: " lines
lines() { printf '%s\n' "$1" | grep -c '^ostpd: '; }

# 1. -t names every mistake, one line each, and fails.
out=$("$OSTPD" -t -L "socsk5://:$P" -L "tcp://:$P2/127.0.0.1:99999" \
    -L "tcp://127.0.0.1:$D/127.0.0.1:$E" -F "ss://nosuch:pw@127.0.0.1:1" \
    2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] || fail "three mistakes: exit $rc"
[ "$(lines "$out")" -eq 3 ] || fail "three mistakes, not three lines: $out"
echo "$out" | grep -q 'socsk5://.*unknown scheme "socsk5"' ||
    fail "misspelled scheme not named: $out"
echo "$out" | grep -q '99999' || fail "bad target not named: $out"
echo "$out" | grep -q 'unknown Shadowsocks method "nosuch"' ||
    fail "bad chain node not named: $out"

# The same for gost JSON: two bad services, a bad node, a bad route.
cat >"$LOGDIR/bad.json" <<JSON
{
  "ServeNodes": ["htp://:$P", "tcp://127.0.0.1:$D/127.0.0.1:$E",
                 "socks5+tsl://:$P2"],
  "ChainNodes": ["socks4://u:p@127.0.0.1:1080"],
  "Routes": [{"ServeNodes": ["tcp://:1/1.2.3.4:5"], "Retries": "x"},
             {"ServeNodes": ["socks5://127.0.0.1:$D"]}]
}
JSON
out=$("$OSTPD" -t -C "$LOGDIR/bad.json" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] || fail "bad JSON: exit $rc"
[ "$(lines "$out")" -eq 5 ] || fail "bad JSON, not five lines: $out"
for w in 'unknown scheme "htp"' 'unknown scheme "tsl"' \
    'SOCKS4 has no passwords' 'Retries must be' \
    "socks5://127.0.0.1:$D: TCP port 127.0.0.1:$D is already used"; do
	echo "$out" | grep -q "$w" || fail "bad JSON: no \"$w\": $out"
done

# 2. Misspelled schemes at startup; a URL without a scheme is auto.
for u in "socsk5://:$P" "htp://:$P" "socks5+tsl://:$P" "sock5+tls://:$P"; do
	out=$(timeout 10 "$OSTPD" -w 1 -L "$u" 2>&1); rc=$?
	[ $rc -eq 1 ] && [ "$(lines "$out")" -eq 1 ] &&
	    echo "$out" | grep -q "^ostpd: $u: unknown scheme" ||
	    fail "$u: exit $rc: $out"
done
"$OSTPD" -t -L ":$P" >/dev/null || fail ":port without a scheme refused"
"$OSTPD" -t -L "a+b+c://:$P" >/dev/null || fail "gost's three-part scheme"

# 3. Two listeners on one address and port: refused, naming both.
for pair in "socks5://127.0.0.1:$P http://127.0.0.1:$P" \
    ":$P socks5://:$P" ":$P http://0.0.0.0:$P" \
    "udp://:$P/127.0.0.1:$E tun://:$P?net=10.9.9.1/24"; do
	# shellcheck disable=SC2086
	set -- $pair
	out=$(timeout 10 "$OSTPD" -w 1 -L "$1" -L "$2" 2>&1); rc=$?
	[ $rc -eq 1 ] && [ "$(lines "$out")" -eq 1 ] &&
	    echo "$out" | grep -q "^ostpd: $2: .* port .* is already used by $1" ||
	    fail "$1 and $2: exit $rc: $out"
done
# different sockets, or a specific address next to the wildcard: fine
"$OSTPD" -t -L "tcp://:$P/127.0.0.1:$E" -L "udp://:$P/127.0.0.1:$E" \
    >/dev/null || fail "TCP and UDP on one port refused"
"$OSTPD" -t -L ":$P" -L "tcp://127.0.0.1:$P/127.0.0.1:$E" >/dev/null ||
    fail "a specific address next to the wildcard refused"
out=$(PROFILING=1 timeout 10 "$OSTPD" -w 1 -L ":$P" -P ":$P" 2>&1)
echo "$out" | grep -q "^ostpd: -P :$P: TCP port \[::\]:$P is already used by :$P" ||
    fail "-P on a -L port: $out"
# -P on a port another program holds names what was written
out=$(PROFILING=1 timeout 10 "$OSTPD" -w 1 -L "tcp://127.0.0.1:$P/127.0.0.1:$E" \
    -P "127.0.0.1:$E" 2>&1)
echo "$out" | grep -q "^ostpd: -P 127.0.0.1:$E: bind 127.0.0.1:$E: " ||
    fail "-P on a busy port: $out"

# 4. An interface that does not exist.
out=$(timeout 10 "$OSTPD" -w 1 -I nosuchif0 -L "tcp://127.0.0.1:$P/127.0.0.1:$E" 2>&1)
[ "$out" = "ostpd: -I nosuchif0: no such network interface" ] ||
    fail "-I nosuchif0: $out"
out=$("$OSTPD" -t -I nosuchif0 -L ":$P" 2>&1 >/dev/null)
echo "$out" | grep -q "nosuchif0: no such network interface" ||
    fail "-t -I nosuchif0: $out"
echo "{\"ServeNodes\": [\":$P\"], \"Interface\": \"nosuchif1\"}" \
    >"$LOGDIR/if.json"
out=$("$OSTPD" -t -C "$LOGDIR/if.json" 2>&1 >/dev/null)
echo "$out" | grep -q 'Interface "nosuchif1": no such network interface' ||
    fail "JSON Interface: $out"
"$OSTPD" -t -I lo -L ":$P" >/dev/null || fail "-I lo refused"

# 6. Datagrams through a chain that cannot carry them.
out=$(timeout 10 "$OSTPD" -w 1 -L "udp://127.0.0.1:$P/127.0.0.1:53" \
    -F "http://127.0.0.1:$P2" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "udp://127.0.0.1:$P/127.0.0.1:53: datagrams cannot go through chain node http://127.0.0.1:$P2" ||
    fail "udp through http: exit $rc: $out"
for f in "socks5://127.0.0.1:$P2" "relay://127.0.0.1:$P2" \
    "ss://aes-128-gcm:pw@127.0.0.1:$P2"; do
	"$OSTPD" -t -L "udp://:$P/127.0.0.1:53" -F "$f" >/dev/null ||
	    fail "udp through $f refused"
done
# an ss node behind another carries gost's ssu frames in its stream;
# an ssu node over UDP cannot be reached through one
"$OSTPD" -t -L "udp://:$P/127.0.0.1:53" -F "socks5://127.0.0.1:$P2" \
    -F "ss://aes-128-gcm:pw@127.0.0.1:$P2" >/dev/null ||
    fail "udp through socks5 then ss refused"
out=$("$OSTPD" -t -L "udp://:$P/127.0.0.1:53" -F "socks5://127.0.0.1:$P2" \
    -F "ssu://aes-128-gcm:pw@127.0.0.1:$P2" 2>&1 >/dev/null)
echo "$out" | grep -q "datagrams cannot go through chain node ssu://" ||
    fail "udp through socks5 then ssu: $out"

# 5. bypass=bypass.txt (no ./) is that file when it exists, as in gost;
# -t shows the file's absolute path (what the workers and reloads read).
H=$(free_port); S=$(free_port)
mkdir -p "$LOGDIR/www" && echo hello >"$LOGDIR/www/x"
start_web web "$LOGDIR/www" "$H"
printf 'localhost\n' >"$LOGDIR/bypass.txt"
cd "$LOGDIR" || fatal "cd $LOGDIR"
"$OSTPD" -T -L "socks5://127.0.0.1:$S?bypass=bypass.txt" |
    grep -q "bypass=$LOGDIR/bypass.txt" || fail "-t: bypass.txt not a file"
"$OSTPD" -T -L "socks5://127.0.0.1:$S?bypass=~bypass.txt" |
    grep -q "bypass=~$LOGDIR/bypass.txt" || fail "-t: ~bypass.txt not a file"
"$OSTPD" -T -L "socks5://127.0.0.1:$S?bypass=./bypass.txt" |
    grep -q "bypass=./bypass.txt" || fail "-t: ./bypass.txt changed"
# the same decision for dns= (a resolver file) and a chain node's ip=
printf 'nameserver 127.0.0.1\n' >"$LOGDIR/resolv.txt"
"$OSTPD" -T -L "socks5://127.0.0.1:$S?dns=resolv.txt" |
    grep -q "dns=$LOGDIR/resolv.txt" || fail "-t: dns=resolv.txt not a file"
"$OSTPD" -t -L "socks5://127.0.0.1:$S?dns=127.0.0.1" >/dev/null ||
    fail "-t: an inline dns= list refused"
printf '127.0.0.1:1081\n' >"$LOGDIR/ips.txt"
out=$("$OSTPD" -T -L "socks5://127.0.0.1:$S" -F "socks5://127.0.0.1:1080?ip=ips.txt" 2>&1)
# (a file: refused in this build, or read, and then shown by its path)
echo "$out" | grep -q "ip= file\|ip=$LOGDIR/ips.txt" ||
    fail "-t: ip=ips.txt taken as an address: $out"
# no such file: an inline list, and .example.com is a pattern, not a path
"$OSTPD" -t -L "socks5://127.0.0.1:$S?bypass=nofile.txt,.example.com" \
    >/dev/null || fail "an inline list refused"
start_ostpd bypass -L "socks5://127.0.0.1:$S?bypass=bypass.txt"
cd "$OLDPWD" || fatal "cd back"
wait_port "$S" || fatal "bypass listener"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    -x "socks5h://127.0.0.1:$S" "http://localhost:$H/x")
[ "$code" = 000 ] || fail "the bypass file was not applied: $code"
assert_serving "socks5://127.0.0.1:$S" "http://127.0.0.1:$H/x"
kill "$OPID"

# 7. A forward target without a host is this host (gost).
UE=$(free_port); T=$(free_port); U=$(free_port); HP=$(free_port)
RT=$(free_port)
start_udpecho "$UE"
start_ostpd hop -L "socks5://127.0.0.1:$HP"
wait_port "$HP" || fatal "socks5 hop"
start_ostpd fwd -L "tcp://127.0.0.1:$T/:$E" -L "udp://127.0.0.1:$U//:$UE" \
    -L "rtcp://:$RT/:$E" -F "socks5://127.0.0.1:$HP"
wait_port "$T" || fatal "tcp://:port/:port does not listen: $(cat "$LOGDIR/fwd.log")"
assert_serving "tcp://127.0.0.1:$T"
assert_serving "udp://127.0.0.1:$U"
wait_port "$RT" || fail "rtcp://:port/:port did not open on the hop"
assert_serving "tcp://127.0.0.1:$RT"
kill "$OPID"

# 11. A wrong upstream password is one clear line naming the hop (the
# client sees only 502 or a SOCKS failure); never the password.
AH=$(free_port); AS=$(free_port); BH=$(free_port); BS=$(free_port); BN=$(free_port)
start_ostpd up -L "http://alice:secret@127.0.0.1:$AH" -L "socks5://alice:secret@127.0.0.1:$AS"
wait_port "$AH" && wait_port "$AS" || fatal "upstream proxies"
start_ostpd down -L "http://127.0.0.1:$BH" -F "http://alice:wrong@127.0.0.1:$AH"
start_ostpd down5 -L "http://127.0.0.1:$BS" -F "socks5://alice:wrong@127.0.0.1:$AS"
start_ostpd downn -L "http://127.0.0.1:$BN" -F "socks5://127.0.0.1:$AS"
wait_port "$BH" && wait_port "$BS" && wait_port "$BN" || fatal "downstream proxies"
for p in $BH $BS $BN; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	    -x "http://127.0.0.1:$p" "http://127.0.0.1:$H/x")
	[ "$code" = 502 ] || fail "a refused hop gave $code"
done
wait_log "$LOGDIR/down.log" "http node 127.0.0.1:$AH: authentication failed (407): user \"alice\" or its password is wrong" ||
    fail "no line for a wrong http hop password: $(grep -v starting "$LOGDIR/down.log")"
wait_log "$LOGDIR/down5.log" "socks5 node 127.0.0.1:$AS: authentication failed: user \"alice\"" ||
    fail "no line for a wrong socks5 hop password"
wait_log "$LOGDIR/downn.log" "socks5 node 127.0.0.1:$AS: .*wants a user and password" ||
    fail "no line for a socks5 hop without credentials"
grep -q "secret\|:wrong" "$LOGDIR"/down*.log && fail "a password in the log"
assert_serving "http://alice:secret@127.0.0.1:$AH" "http://127.0.0.1:$H/x"

# 11. Plain HTTP through the proxy (kept-alive exchanges) is counted.
PX=$(free_port); DG=$(free_port)
head -c 300000 /dev/urandom >"$LOGDIR/www/blob"
PROFILING=1 start_ostpd counters -L "http://127.0.0.1:$PX" -P "127.0.0.1:$DG"
wait_port "$PX" && wait_port "$DG" || fatal "counters: no listener"
curl -s -o /dev/null -o /dev/null --max-time 10 -x "http://127.0.0.1:$PX" \
    "http://127.0.0.1:$H/blob" "http://127.0.0.1:$H/x" || fail "plain HTTP through the proxy"
out=$(curl -sS --max-time 5 "http://127.0.0.1:$DG/debug/vars")
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["bytes_out"] >= 300000 and d["bytes_in"] >= 100, d' ||
	fail "plain HTTP not counted: $out"
kill "$OPID"

# After all the refusals: the same daemon, configured right, serves.
start_ostpd good -L "tcp://127.0.0.1:$P/127.0.0.1:$E" -I lo
wait_port "$P" || fatal "the good configuration does not listen"
assert_serving "tcp://127.0.0.1:$P"
kill "$OPID"
finish
