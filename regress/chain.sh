# Chains (-F): ostpd dials through hops that are ostpd instances and real
# servers (dante as SOCKS5, squid as HTTP CONNECT), in every mix, and is
# the client hop in front of them; dead or refusing hops give the right
# error and leave the daemon serving.  The SOCKS5 connector offers gost's
# TLS method unless notls, as gost's client does.
. regress/lib.sh

W=$LOGDIR/www
mkdir -p "$W"
echo "through the chain" >"$W/hello.txt"
want=$(make_blob "$W/blob" 2000000)
H=$(free_port); PB=$(free_port); PC=$(free_port); PD=$(free_port); PS=$(free_port); DEAD=$(free_port)
start_web http "$W" "$H"

# Hops: ostpd socks5 with a password, ostpd auto, dante, squid.
start_ostpd hopB -D -L "socks5://u:p@127.0.0.1:$PB"
start_ostpd hopC -D -L "127.0.0.1:$PC"
cat >"$LOGDIR/danted.conf" <<D
logoutput: $LOGDIR/danted.log
internal: 127.0.0.1 port = $PD
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
D
danted -f "$LOGDIR/danted.conf" -N 1 >"$LOGDIR/danted.out" 2>&1 &
PIDS="$PIDS $!"
# squid drops to its own user: it must reach its directory, which
# LOGDIR may not be (a checkout in root's home, mode 0700 on a fresh
# Debian).  Its logs are copied to LOGDIR at the end.
SQ=$(mktemp -d /tmp/ostp-squid.XXXXXX) || fatal "mktemp"
chmod 755 "$SQ"
chown proxy "$SQ" 2>/dev/null || chmod 777 "$SQ"
EXTRA_CLEANUP='cp -r "$SQ" "$LOGDIR/squid" 2>/dev/null; rm -rf "$SQ"'
cat >"$LOGDIR/squid.conf" <<S
http_port 127.0.0.1:$PS
http_access allow all
cache deny all
cache_mem 8 MB
access_log stdio:$SQ/access.log
cache_log $SQ/cache.log
pid_filename $SQ/squid.pid
coredump_dir $SQ
shutdown_lifetime 1 seconds
dns_v4_first on
S
squid -N -f "$LOGDIR/squid.conf" >"$LOGDIR/squid.out" 2>&1 &
PIDS="$PIDS $!"
for p in $H $PB $PC $PD $PS; do wait_port_slow "$p" || fatal "port $p did not open (web $H, ostpd $PB $PC, dante $PD, squid $PS)"; done

get() {	# get PROXY URL
	curl -sS --max-time 15 -x "$1" "$2" | sha256sum | cut -d' ' -f1
}

# 1. through an ostpd socks5 hop with a password
A=$(free_port)
start_ostpd c1 -L "127.0.0.1:$A" -F "socks5://u:p@127.0.0.1:$PB"
wait_port "$A" || fatal "c1"
[ "$(get "socks5h://127.0.0.1:$A" "http://localhost:$H/blob")" = "$want" ] || fail "ostpd -> ostpd socks5"
grep -q "socks5 to localhost:$H" "$LOGDIR/hopB.log" || fail "the hop did not see the name (remote resolution)"

# 2. squid (HTTP CONNECT) then dante (SOCKS5)
A=$(free_port)
start_ostpd c2 -L "127.0.0.1:$A" -F "http://127.0.0.1:$PS" -F "socks5://127.0.0.1:$PD"
wait_port "$A" || fatal "c2"
[ "$(get "http://127.0.0.1:$A" "http://127.0.0.1:$H/blob")" = "$want" ] || fail "ostpd -> squid -> dante (plain http)"
[ "$(get "socks5://127.0.0.1:$A" "http://127.0.0.1:$H/blob")" = "$want" ] || fail "ostpd -> squid -> dante (socks5)"
grep -q "CONNECT 127.0.0.1:$PD" "$SQ/access.log" || fail "squid did not carry the CONNECT"

# 3. ostpd as the client hop of a forwarder, in front of dante
P=$(free_port)
start_ostpd c3 -L "tcp://127.0.0.1:$P/127.0.0.1:$H" -F "socks5://127.0.0.1:$PD"
wait_port "$P" || fatal "c3"
out=$(curl -sS --max-time 10 "http://127.0.0.1:$P/hello.txt")
[ "$out" = "through the chain" ] || fail "tcp forward through dante: $out"

# 4. socks4a hop and three ostpd hops in a row
A=$(free_port)
start_ostpd c4 -L "127.0.0.1:$A" -F "socks4a://127.0.0.1:$PC"
wait_port "$A" || fatal "c4"
[ "$(get "socks5h://127.0.0.1:$A" "http://localhost:$H/blob")" = "$want" ] || fail "socks4a hop"
A5=$(free_port)
start_ostpd c5 -L "127.0.0.1:$A5" -F "http://127.0.0.1:$PC" -F "socks5://u:p@127.0.0.1:$PB" -F "socks4://127.0.0.1:$PC"
wait_port "$A5" || fatal "c5"
[ "$(get "socks5://127.0.0.1:$A5" "http://127.0.0.1:$H/blob")" = "$want" ] || fail "http -> socks5 -> socks4 hops"

# 5. bypass on a chain node ends the chain before it
A=$(free_port)
start_ostpd c9 -L "127.0.0.1:$A" -F "socks5://u:p@127.0.0.1:$PB?bypass=localhost"
wait_port "$A" || fatal "c9"
nb=$(grep -c "socks5 to" "$LOGDIR/hopB.log")
[ "$(get "socks5h://127.0.0.1:$A" "http://localhost:$H/blob")" = "$want" ] || fail "bypassed first hop: direct"
[ "$(grep -c "socks5 to" "$LOGDIR/hopB.log")" -eq "$nb" ] || fail "a bypassed hop was used"
[ "$(get "socks5h://127.0.0.1:$A" "http://127.0.0.1:$H/blob")" = "$want" ] || fail "not bypassed: through the hop"
wait_count "$LOGDIR/hopB.log" "socks5 to" $((nb + 1)) || fail "the hop was not used for other targets"
A=$(free_port)
start_ostpd c10 -L "127.0.0.1:$A" -F "http://127.0.0.1:$PC" -F "socks5://u:p@127.0.0.1:$PB?bypass=127.0.0.0/8"
wait_port "$A" || fatal "c10"
nb=$(grep -c "socks5 to" "$LOGDIR/hopB.log")
[ "$(get "socks5://127.0.0.1:$A" "http://127.0.0.1:$H/blob")" = "$want" ] || fail "chain cut after the first hop"
[ "$(grep -c "socks5 to" "$LOGDIR/hopB.log")" -eq "$nb" ] || fail "the cut hop was used"

# 6. failures: a dead first hop, a wrong hop password, a dead last hop
A=$(free_port)
# (bypass=localhost: a name that skips the failing hop, to show that
# each daemon still serves after its refusals)
start_ostpd c6 -L "127.0.0.1:$A" -F "socks5://127.0.0.1:$DEAD?bypass=localhost"
wait_port "$A" || fatal "c6"
curl -sS --max-time 10 -x "socks5://127.0.0.1:$A" "http://127.0.0.1:$H/" >"$LOGDIR/f1" 2>&1
grep -q '(5)\|refused' "$LOGDIR/f1" || fail "dead hop over socks5: $(cat "$LOGDIR/f1")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "http://127.0.0.1:$A" "http://127.0.0.1:$H/")
[ "$code" = 502 ] || fail "dead hop over http: $code, want 502"
assert_serving "socks5h://127.0.0.1:$A" "http://localhost:$H/hello.txt"
A=$(free_port)
start_ostpd c7 -L "127.0.0.1:$A" -F "socks5://u:wrong@127.0.0.1:$PB?bypass=localhost"
wait_port "$A" || fatal "c7"
curl -sS --max-time 10 -x "socks5://127.0.0.1:$A" "http://127.0.0.1:$H/" >"$LOGDIR/f2" 2>&1
[ $? -eq 97 ] || fail "wrong hop password: $(cat "$LOGDIR/f2")"
assert_serving "socks5h://127.0.0.1:$A" "http://localhost:$H/hello.txt"
assert_serving "socks5://u:p@127.0.0.1:$PB" "http://127.0.0.1:$H/hello.txt"
A=$(free_port)
start_ostpd c8 -L "127.0.0.1:$A" -F "http://127.0.0.1:$PC" -F "socks5://127.0.0.1:$DEAD?bypass=localhost"
wait_port "$A" || fatal "c8"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "http://127.0.0.1:$A" "http://127.0.0.1:$H/")
[ "$code" = 502 ] || fail "dead last hop: $code, want 502"
assert_serving "socks5h://127.0.0.1:$A" "http://localhost:$H/hello.txt"
# still serving
[ "$(get "socks5://127.0.0.1:$A5" "http://127.0.0.1:$H/blob")" = "$want" ] || fail "chain c5 after failures"

# 8. gost's TLS methods on the connector, against an independent server
# that chooses as gost v2 does (0x80, or 0x82 with credentials)
make_cert "$LOGDIR/gkey.pem" "$LOGDIR/gcert.pem" gost
G1=$(free_port); G2=$(free_port)
$NETTOOL gostsocks5 "$G1" "$LOGDIR/gcert.pem" "$LOGDIR/gkey.pem" "" \
    >"$LOGDIR/gost1.log" 2>&1 &
PIDS="$PIDS $!"
$NETTOOL gostsocks5 "$G2" "$LOGDIR/gcert.pem" "$LOGDIR/gkey.pem" "gu:gp" \
    >"$LOGDIR/gost2.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$G1" && wait_port "$G2" || fatal "gost-like servers"
T1=$(free_port); T2=$(free_port); T3=$(free_port)
start_ostpd g1 -L "tcp://127.0.0.1:$T1/127.0.0.1:9" -F "socks5://127.0.0.1:$G1"
start_ostpd g2 -L "tcp://127.0.0.1:$T2/127.0.0.1:9" -F "socks5://gu:gp@127.0.0.1:$G2"
start_ostpd g3 -L "tcp://127.0.0.1:$T3/127.0.0.1:9" -F "socks5://gu:gp@127.0.0.1:$G2?notls=true"
for p in $T1 $T2 $T3; do wait_port "$p" || fatal "g listeners"; done
$NETTOOL xfer 127.0.0.1 "$T1" 1000000 2 >"$LOGDIR/g1.out" 2>&1 || fail "TLS method 0x80: $(cat "$LOGDIR/g1.out")"
grep -q "offered 00,80 chose 80 user -" "$LOGDIR/gost1.log" ||
    fail "0x80: $(head -n 2 "$LOGDIR/gost1.log")"
$NETTOOL xfer 127.0.0.1 "$T2" 1000000 2 >"$LOGDIR/g2.out" 2>&1 || fail "TLS method 0x82: $(cat "$LOGDIR/g2.out")"
grep -q "offered 00,02,80,82 chose 82 user gu" "$LOGDIR/gost2.log" ||
    fail "0x82: $(head -n 2 "$LOGDIR/gost2.log")"
$NETTOOL xfer 127.0.0.1 "$T3" 100000 1 >"$LOGDIR/g3.out" 2>&1 || fail "notls: $(cat "$LOGDIR/g3.out")"
grep -q "offered 00,02 chose 02 user gu" "$LOGDIR/gost2.log" ||
    fail "notls still offered TLS: $(tail -n 2 "$LOGDIR/gost2.log")"
! grep -q "connection failed" "$LOGDIR/gost1.log" "$LOGDIR/gost2.log" ||
    fail "$(grep -h "connection failed" "$LOGDIR/gost1.log" "$LOGDIR/gost2.log" | head -n 1)"
# and between two ostpd: the hop of 1. ended TLS (0x82)
grep -q "socks5 inside TLS" "$LOGDIR/hopB.log" || fail "ostpd -> ostpd did not use TLS"

# 7. a listener's hosts= and dns= resolve names before the chain (gost);
# without them the last hop resolves (checked in 1.)
printf '127.0.0.1 viahosts.example\n' >"$LOGDIR/chain.hosts"
DNSP=$(free_port)
$NETTOOL dns 127.0.0.1 "$DNSP" >"$LOGDIR/dns.log" 2>&1 &
PIDS="$PIDS $!"
A=$(free_port); A2=$(free_port)
start_ostpd c11 -L "127.0.0.1:$A?hosts=$LOGDIR/chain.hosts" -F "socks5://u:p@127.0.0.1:$PB"
start_ostpd c12 -L "127.0.0.1:$A2?dns=127.0.0.1:$DNSP" -F "socks5://u:p@127.0.0.1:$PB"
wait_port "$A" && wait_port "$A2" || fatal "c11/c12"
[ "$(get "socks5h://127.0.0.1:$A" "http://viahosts.example:$H/blob")" = "$want" ] || fail "hosts= before the chain"
grep -q "socks5 to 127.0.0.1:$H" "$LOGDIR/hopB.log" || fail "the hop got the name, not the hosts address"
[ "$(get "socks5h://127.0.0.1:$A2" "http://viadns.test:$H/blob")" = "$want" ] || fail "dns= before the chain"
grep -q "socks5 to viadns.test" "$LOGDIR/hopB.log" && fail "the hop got the name, not the dns= answer"
finish
