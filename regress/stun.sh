# STUN and TURN against a real server: coturn's turnserver on loopback
# with a static long-term user, driven by regress/tools/stunprobe (the
# codec daemon/proto/stun.c over one UDP socket): a Binding request, a
# TURN Allocate (401 challenge, authenticated retry), CreatePermission,
# a Send indication echoed back by a UDP echo peer as a Data
# indication, ChannelBind and ChannelData, Refresh with lifetime 0; and
# a wrong password refused.  Then the OSTP client's use of them
# (-F ostp://...?turn=&turn_user=&turn_pass=, stun=): curl through a
# tunnel relayed by coturn, byte-exact, coturn's log showing the
# allocation and the channel; the public address learned by STUN on the
# tunnel's socket; a wrong TURN password gives one clear line and no
# tunnel, and the daemon still serves through a good one.
. regress/lib.sh

command -v turnserver >/dev/null 2>&1 || skip "turnserver (coturn) is not installed"
PROBE=$PWD/$BUILD/tools/stunprobe
[ -x "$PROBE" ] || fatal "$PROBE is not built (make unittests)"

T=$(free_port); E=$(free_port); R1=$(free_port)
R2=$((R1 + 20))
TD=$LOGDIR/turn
mkdir -p "$TD"
# -n: no configuration file; every setting on the command line, in the
# foreground under this test (its PID is the one cleanup kills).
turnserver -n --lt-cred-mech --user=alice:s3cret --realm=ostp.test \
    --listening-ip=127.0.0.1 --listening-port="$T" --relay-ip=127.0.0.1 \
    --min-port="$R1" --max-port="$R2" --no-tls --no-dtls --no-tcp \
    --no-tcp-relay --no-rfc5780 --allow-loopback-peers --no-cli \
    --fingerprint --userdb="$TD/turndb" --pidfile="$TD/turnserver.pid" \
    --log-file="$TD/turnserver.log" --simple-log --no-stdout-log \
    --verbose >"$LOGDIR/turnserver.out" 2>&1 &
PIDS="$PIDS $!"
start_udpecho "$E"

_binds() { "$PROBE" binding 127.0.0.1 "$T" >"$LOGDIR/binding.out" 2>&1; }
wait_until 10 _binds ||
    fatal "turnserver did not answer a Binding request: $(tail -n 3 "$LOGDIR/binding.out" "$TD"/turnserver*.log 2>/dev/null)"
grep -q "^binding: mapped 127.0.0.1:" "$LOGDIR/binding.out" ||
    fail "binding: $(cat "$LOGDIR/binding.out")"

if "$PROBE" turn 127.0.0.1 "$T" alice s3cret "$E" >"$LOGDIR/turn.out" 2>&1; then
	for l in "allocate: challenge 401, realm ostp.test" \
	    "allocate: relayed 127.0.0.1:" "permission: ok" \
	    "send: 100 bytes echoed" "channel: bound 0x4000" \
	    "channeldata: 37 bytes echoed" "refresh: deleted"; do
		grep -qF "$l" "$LOGDIR/turn.out" ||
		    fail "turn: no \"$l\" in: $(cat "$LOGDIR/turn.out")"
	done
else
	fail "turn: $(cat "$LOGDIR/turn.out")"
fi

# a wrong password: the authenticated retry gets 401 again, and stops
if "$PROBE" turn 127.0.0.1 "$T" alice wrong "$E" >"$LOGDIR/wrong.out" 2>&1; then
	fail "a wrong password was accepted: $(cat "$LOGDIR/wrong.out")"
else
	grep -q "allocate: error 401" "$LOGDIR/wrong.out" ||
	    fail "wrong password: $(cat "$LOGDIR/wrong.out")"
fi
# --- the OSTP client through coturn -----------------------------------------
W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 2000000)
H=$(free_port)
start_web web "$W" "$H"
KEY=0123456789abcdef0123456789abcdef
S=$(free_port); C=$(free_port); C2=$(free_port); C3=$(free_port)
start_ostpd srv -D -L "ostp://$KEY@127.0.0.1:$S?local_access=true"
wait_log "$LOGDIR/srv.log" "running" 5 || fatal "ostpd server"
start_ostpd cli -D -L "auto://127.0.0.1:$C" \
    -F "ostp://$KEY@127.0.0.1:$S?turn=127.0.0.1:$T&turn_user=alice&turn_pass=s3cret"
wait_port "$C" || fatal "ostpd client (TURN)"
get() {	# get PROXYPORT
	curl -sS --max-time 30 --socks5-hostname "127.0.0.1:$1" \
	    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1
}
[ "$(get "$C")" = "$want" ] || fail "curl through the tunnel over TURN"
grep -q "unknown parameter" "$LOGDIR/cli.log" &&
	fail "turn= parameters not known: $(grep -m1 'unknown parameter' "$LOGDIR/cli.log")"
grep -q "TURN relay 127.0.0.1:[0-9]* (our public address 127.0.0.1:" \
    "$LOGDIR/cli.log" || fail "the client did not log its TURN relay"
wait_log "$LOGDIR/cli.log" "connecting -> connected" 5 ||
	fail "the tunnel over TURN did not come up"
# the server saw the relay's address, not the client's socket
relay=$(sed -n 's/.*TURN relay \(127.0.0.1:[0-9]*\).*/\1/p' \
    "$LOGDIR/cli.log" | head -n 1)
grep -qi "channel.*bind\|channel_bind\|CHANNEL_BIND" "$TD"/turnserver*.log ||
	fail "coturn's log shows no channel bind"
[ -n "$relay" ] || fail "no relayed address"

# STUN on the tunnel's socket, the server given by name (resolved at
# each attempt): the public address is logged
start_ostpd clis -D -L "auto://127.0.0.1:$C2" \
    -F "ostp://$KEY@127.0.0.1:$S?stun=localhost:$T"
wait_port "$C2" || fatal "ostpd client (STUN)"
[ "$(get "$C2")" = "$want" ] || fail "curl through the tunnel with STUN"
wait_log "$LOGDIR/clis.log" "public address 127.0.0.1:[0-9]* (STUN)" 5 ||
	fail "the client did not log its public address from STUN"

# a wrong TURN password: a clear line, no tunnel; the good client serves
start_ostpd cliw -D -L "auto://127.0.0.1:$C3" \
    -F "ostp://$KEY@127.0.0.1:$S?turn=127.0.0.1:$T&turn_user=alice&turn_pass=nope"
wait_port "$C3" || fatal "ostpd client (wrong TURN password)"
curl -s --max-time 5 --socks5-hostname "127.0.0.1:$C3" \
    "http://localhost:$H/blob" >/dev/null 2>&1
wait_log "$LOGDIR/cliw.log" "TURN: Allocate refused: 401" 10 ||
	fail "a wrong TURN password was not reported: $(grep -i turn "$LOGDIR/cliw.log" | tail -n 2)"
[ "$(get "$C")" = "$want" ] || fail "the TURN tunnel after the refusal"

# the configuration's mistakes, one line each
"$OSTPD" -t -L auto://127.0.0.1:1 -F "ostp://$KEY@127.0.0.1:1?turn=relay.example:3478&turn_user=a&turn_pass=b" \
    >"$LOGDIR/t0.out" 2>&1 || fail "a TURN server name: $(cat "$LOGDIR/t0.out")"
"$OSTPD" -t -L auto://127.0.0.1:1 -F "ostp://$KEY@127.0.0.1:1?turn=relay_example!:3478&turn_user=a&turn_pass=b" \
    >"$LOGDIR/t1.out" 2>&1 && fail "a bad TURN server name was accepted"
grep -q "turn=relay_example!:3478: not a host name or IP address" \
    "$LOGDIR/t1.out" || fail "turn= bad name: $(cat "$LOGDIR/t1.out")"
"$OSTPD" -t -L auto://127.0.0.1:1 -F "ostp://$KEY@127.0.0.1:1?stun=relay.example" \
    >"$LOGDIR/t4.out" 2>&1 && fail "stun= without a port was accepted"
grep -q "stun=relay.example: give a host and a port" \
    "$LOGDIR/t4.out" || fail "stun= without a port: $(cat "$LOGDIR/t4.out")"
"$OSTPD" -t -L auto://127.0.0.1:1 -F "ostp://$KEY@127.0.0.1:1?turn=127.0.0.1:3478" \
    >"$LOGDIR/t2.out" 2>&1 && fail "turn= without credentials was accepted"
grep -q "turn= needs turn_user=" "$LOGDIR/t2.out" ||
	fail "turn= without credentials: $(cat "$LOGDIR/t2.out")"
"$OSTPD" -t -L auto://127.0.0.1:1 -F "ostp://$KEY@127.0.0.1:1?type=uot&stun=127.0.0.1:3478" \
    >"$LOGDIR/t3.out" 2>&1 && fail "stun= over UoT was accepted"
grep -q "need the UDP carrier" "$LOGDIR/t3.out" ||
	fail "stun= over UoT: $(cat "$LOGDIR/t3.out")"
finish
