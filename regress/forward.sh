# tcp:// forwarder: byte-exact bulk and concurrent transfers, failover
# between targets, refused target, IPv6, half-close.
. regress/lib.sh

P=$(free_port); E=$(free_port); DEAD=$(free_port)
start_echo "$E"
start_ostpd fwd -L "tcp://127.0.0.1:$P/127.0.0.1:$E"
wait_port "$P" || fatal "no listener"

$NETTOOL xfer 127.0.0.1 "$P" 67108864 1 || fail "64 MiB transfer"
$NETTOOL xfer 127.0.0.1 "$P" 1048576 100 || fail "100 concurrent 1 MiB transfers"
$NETTOOL xfer 127.0.0.1 "$P" 0 20 || fail "empty transfers (half-close)"
# Bulk grows a direction's pipe; a 2.5 s silence hands it back (the sweep
# runs each second) and the second half grows a pipe again.
$NETTOOL xfer 127.0.0.1 "$P" 33554432 3 2.5 || fail "bulk, a silence, bulk"

# First target refuses: the next one serves.
P2=$(free_port)
start_ostpd fwd2 -L "tcp://127.0.0.1:$P2/127.0.0.1:$DEAD,127.0.0.1:$E"
wait_port "$P2" || fatal "no listener 2"
$NETTOOL xfer 127.0.0.1 "$P2" 100000 6 || fail "failover to the second target"

# Only a refusing target: the client sees the connection closed.
P3=$(free_port); P3B=$(free_port)
start_ostpd fwd3 -L "tcp://127.0.0.1:$P3/127.0.0.1:$DEAD" -L "tcp://127.0.0.1:$P3B/127.0.0.1:$E"
wait_port "$P3" || fatal "no listener 3"
out=$(echo hi | timeout 5 socat - TCP:127.0.0.1:$P3 2>&1); rc=$?
[ $rc -ne 124 ] || fail "refused target: client hangs"
[ -z "$out" ] || [ "$rc" -ne 0 ] || fail "refused target: got data \"$out\""
assert_serving "tcp://127.0.0.1:$P3B"
assert_serving "tcp://127.0.0.1:$P"

# IPv6 listener and target.
if ip -6 addr show dev lo | grep -q '::1'; then
	E6=$(free_port); P6=$(free_port)
	start_echo "$E6" ::1
	start_ostpd fwd6 -L "tcp://[::1]:$P6/[::1]:$E6"
	wait_port "$P6" ::1 || fatal "no v6 listener"
	$NETTOOL xfer ::1 "$P6" 1000000 4 || fail "IPv6 forwarding"
fi
finish
