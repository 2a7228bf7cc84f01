# STUN and TURN against a real server: coturn's turnserver on loopback
# with a static long-term user, driven by regress/tools/stunprobe (the
# codec daemon/proto/stun.c over one UDP socket): a Binding request, a
# TURN Allocate (401 challenge, authenticated retry), CreatePermission,
# a Send indication echoed back by a UDP echo peer as a Data
# indication, ChannelBind and ChannelData, Refresh with lifetime 0; and
# a wrong password refused.
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
finish
