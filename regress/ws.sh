# The WebSocket transports, ws and wss: python3-websockets as the
# client of ostpd's server and as the server of ostpd's client, ostpd
# to ostpd for each protocol (byte-exact, many at once, half-closes
# carried by close frames), and frames that break the protocol closing
# only their own connection.
. regress/lib.sh

/usr/bin/python3 -c 'import websockets' 2>/dev/null || skip "python3-websockets is not installed"
WT="/usr/bin/python3 regress/tools/wstool.py"
E=$(free_port); WF=$(free_port); WS=$(free_port); WSS=$(free_port); S5=$(free_port)
start_echo "$E"

# 1. websockets' client through a ws forwarder (ws://:port/target)
start_ostpd fwd -D -L "ws://127.0.0.1:$WF/127.0.0.1:$E"
wait_port "$WF" || fatal "ws forwarder"
$WT echo "ws://127.0.0.1:$WF/ws" 20 70000 >"$LOGDIR/echo.out" 2>&1 ||
    fail "websockets client: $(tail -n 2 "$LOGDIR/echo.out")"

# 2. ostpd's client to websockets' server, which bridges to a plain
# SOCKS5 server: the client's frames as a real server reads them.  A
# standard WebSocket peer ends the whole connection at a close frame,
# so the transfers here never half-close (roundtrip).
start_ostpd s5 -D -L "socks5://127.0.0.1:$S5"
B=$(free_port)
$WT bridge "$B" /tunnel 127.0.0.1 "$S5" >"$LOGDIR/bridge.out" 2>&1 &
PIDS="$PIDS $!"
wait_port "$B" || fatal "websockets server: $(cat "$LOGDIR/bridge.out")"
F=$(free_port)
start_ostpd cb -D -L "tcp://127.0.0.1:$F/127.0.0.1:$E" \
    -F "socks5+ws://127.0.0.1:$B?path=/tunnel&notls=true"
wait_port "$F" || fatal "cb"
$NETTOOL roundtrip 127.0.0.1 "$F" 2000000 4 >"$LOGDIR/xb.out" 2>&1 ||
    fail "ostpd's ws client to websockets' server: $(cat "$LOGDIR/xb.out")"

# 3. ostpd to ostpd: each protocol over ws and wss
start_ostpd srv -D -L "socks5+ws://127.0.0.1:$WS" -L "relay+wss://127.0.0.1:$WSS?path=/r"
SS=$(free_port); HW=$(free_port)
start_ostpd srv2 -D -L "ss+wss://aes-256-gcm:pw@127.0.0.1:$SS" -L "http+ws://127.0.0.1:$HW?path=/h"
for p in $WS $WSS $SS $HW; do wait_port "$p" || fatal "listener $p"; done
i=0
for hop in "socks5+ws://127.0.0.1:$WS" "relay+wss://127.0.0.1:$WSS?path=/r" \
    "ss+wss://aes-256-gcm:pw@127.0.0.1:$SS" "http+ws://127.0.0.1:$HW?path=/h"; do
	i=$((i + 1)); F=$(free_port)
	start_ostpd "c$i" -D -L "tcp://127.0.0.1:$F/127.0.0.1:$E" -F "$hop"
	wait_port "$F" || fatal "c$i"
	$NETTOOL xfer 127.0.0.1 "$F" 4000000 8 >"$LOGDIR/x$i.out" 2>&1 ||
	    fail "over $hop: $(cat "$LOGDIR/x$i.out")"
	eval "F$i=$F"
done
$NETTOOL xfer 127.0.0.1 "$F1" 100000 50 0.3 >"$LOGDIR/x50.out" 2>&1 ||
    fail "50 at once over ws: $(cat "$LOGDIR/x50.out")"

# 4. bad input after the upgrade: the connection closes, the server
# serves on; a wrong path gets 404
for k in rsv unmasked bigping garbage path; do
	$WT bad "$WF" "$([ $k = path ] && echo /nope || echo /ws)" "$k" >"$LOGDIR/bad-$k.out" 2>&1 ||
	    fail "bad input ($k): $(tail -n 2 "$LOGDIR/bad-$k.out")"
done
$WT echo "ws://127.0.0.1:$WF/ws" 2 1000 >/dev/null 2>&1 || fail "the ws server stopped serving after bad input"

finish
