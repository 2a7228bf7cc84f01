# OSTP served by several workers (monitor/mon_steer.c): each worker has
# its own socket on the port and the monitor's BPF program steers a
# session's datagrams to the worker that holds it.  Sessions land on
# both workers; a client whose source port changes keeps its session
# whichever worker its new address hashes to (the datagram is handed on
# through the monitor, then the address is steered); a server reload
# (SIGHUP) mid-download keeps the download while new sessions go to the
# new generation, and idle sessions (at once, or when their last flow
# ends) are handed to the new generation with their keys and nonces, so
# their clients go on without a new handshake; a replayed handshake is refused by every worker; a client reload with a changed routing rule keeps its
# download and the tunnel, and the new rule applies to new flows.
. regress/lib.sh

[ "$(id -u)" = 0 ] || skip "needs root (the monitor loads BPF)"
python3 -c 'import cryptography' 2>/dev/null ||
	skip "python3-cryptography missing"
TOOL="/usr/bin/python3 $PWD/regress/tools/ostptool.py"

W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 1000000)
big=$(make_blob "$W/big" 32000000)
H=$(free_port); H2=$(free_port)
start_web web "$W" "$H"
start_web web2 "$W" "$H2"
KEY=0123456789abcdef0123456789abcdef

S=$(free_port)
start_ostpd srv -w 2 -D -L "ostp://$KEY@127.0.0.1:$S?local_access=true"
SPID=$OPID
wait_count "$LOGDIR/srv.log" "(generation 1) running" 2 10 ||
	fatal "ostpd server with two workers"
grep -q "served by one worker" "$LOGDIR/srv.log" &&
	skip "no BPF here: $(grep 'served by one worker' "$LOGDIR/srv.log")"
[ "$(count "$LOGDIR/srv.log" "listening on 127.0.0.1:$S (ostp://")" = 2 ] ||
	fail "not every worker has a socket on the OSTP port"

tool() {
	echo "== $(date +%T) $*" >>"$LOGDIR/tool-$1.log"
	timeout 120 $TOOL "$@" 2>>"$LOGDIR/tool-$1.log"
}

# roaming until a move crosses to the other worker (each try about an
# even chance; 16 tries)
i=0
while [ $i -lt 16 ]; do
	got=$(tool roam "$S" "$KEY" 127.0.0.1 "$H" /blob)
	[ "$got" = "$want" ] || fail "roam $i: '$got' (see tool-roam.log)"
	i=$((i + 1))
	[ "$(count "$LOGDIR/srv.log" "moved (handed on")" -gt 0 ] && break
done
[ "$(count "$LOGDIR/srv.log" "moved (handed on")" -gt 0 ] ||
	fail "no session moved across workers in 16 roams"
log "a move crossed workers after $i roams"

# a handshake replayed from another port: refused whichever worker the
# kernel hands it to (the record of handshakes is shared)
i=0
while [ $i -lt 8 ]; do
	got=$(tool replay "$S" "$KEY")
	[ "$got" = ignored ] || fail "replay $i: '$got' (see tool-replay.log)"
	i=$((i + 1))
done

# four ostpd clients at once, two downloads each
pids=
for n in 1 2 3 4; do
	p=$(free_port)
	start_ostpd "cli$n" -D -L "auto://127.0.0.1:$p" \
	    -F "ostp://$KEY@127.0.0.1:$S"
	wait_port "$p" || fatal "ostpd client $n"
	for k in 1 2; do
		(curl -sS --max-time 60 --socks5-hostname "127.0.0.1:$p" \
		    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1 \
		    >"$LOGDIR/par.$n.$k") & pids="$pids $!"
	done
done
wait $pids
for n in 1 2 3 4; do
	for k in 1 2; do
		[ "$(cat "$LOGDIR/par.$n.$k")" = "$want" ] ||
			fail "client $n download $k"
	done
done
# more sessions until both workers have some (each about an even chance)
_both() {
	grep -q "worker 0: ostp .*for key" "$LOGDIR/srv.log" &&
	    grep -q "worker 1: ostp .*for key" "$LOGDIR/srv.log"
}
i=0
while ! _both && [ $i -lt 16 ]; do
	got=$(tool fetch "$S" "$KEY" 127.0.0.1 "$H" /blob)
	[ "$got" = "$want" ] || fail "fetch $i: '$got' (see tool-fetch.log)"
	i=$((i + 1))
done
_both || fail "sessions did not land on both workers"

# --- reloads -----------------------------------------------------------
C=$(free_port)
cat >"$LOGDIR/cli.json" <<EOF2
{"inbounds": [{"type": "local_proxy", "listen": "127.0.0.1:$C"}],
 "outbounds": [{"type": "ostp", "tag": "tunnel", "server": "127.0.0.1:$S",
   "access_key": "$KEY", "transport": {"mode": "udp"}},
  {"type": "block", "tag": "deny"}],
 "routing": {"rules": [], "default_outbound": "tunnel"}}
EOF2
start_ostpd cli -D -C "$LOGDIR/cli.json"
CPID=$OPID
wait_port "$C" || fatal "ostpd client (native configuration)"
fetch() {	# fetch PORT FILE OUT [curl options]
	_fp=$1; _ff=$2; _fo=$3; shift 3
	curl -sS --max-time 60 "$@" --socks5-hostname "127.0.0.1:$C" \
	    "http://localhost:$_fp/$_ff" -o "$_fo"
}
sum() { sha256sum <"$1" | cut -d' ' -f1; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
_grown() { [ "$(size "$1")" -gt "$2" ]; }

# a second client with an idle session when the server reloads
C2=$(free_port)
start_ostpd cli2 -D -L "auto://127.0.0.1:$C2" -F "ostp://$KEY@127.0.0.1:$S"
wait_port "$C2" || fatal "second ostpd client"
fetch2() { curl -sS --max-time "$1" --socks5-hostname "127.0.0.1:$C2" \
    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1; }
[ "$(fetch2 30)" = "$want" ] || fail "the second client before the reload"

# the server reloads mid-download
fetch "$H" big "$LOGDIR/big.1" --limit-rate 3M &
dl=$!
wait_until 10 _grown "$LOGDIR/big.1" 500000 || fail "download 1 did not start"
kill -HUP "$SPID"
wait_log "$LOGDIR/srv.log" "configuration reloaded (generation 2)" 10 ||
	fail "the server did not reload"
# the download's flow is still the old generation's (the client holds
# back ACKs past 8 MiB waiting for curl)
wait_log "$LOGDIR/srv.log" "draining [1-9]" 10 ||
	fail "the old generation had no flow left to keep"
wait_count "$LOGDIR/srv.log" "(generation 2) running" 2 10 ||
	fail "the server's new workers"
# a new session meanwhile: the new generation's
got=$(tool fetch "$S" "$KEY" 127.0.0.1 "$H" /blob)
[ "$got" = "$want" ] || fail "a new session during the reload: '$got'"
grep -q "for key default (generation 2)" "$LOGDIR/srv.log" ||
	fail "the new session was not the new generation's"
# the idle session went to the new generation at once, keys and nonces
# with it: the second client goes on without a new handshake
wait_log "$LOGDIR/srv.log" "taken over (generation 2)" 10 ||
	fail "the idle session was not handed to the new generation"
n2=$(count "$LOGDIR/srv.log" "for key default (generation 2)")
[ "$(fetch2 10)" = "$want" ] ||
	fail "the second client's idle session after the reload"
[ "$(count "$LOGDIR/srv.log" "for key default (generation 2)")" = "$n2" ] ||
	fail "the second client made a new session after the reload"
wait $dl || fail "download 1 across the server's reload: curl failed"
[ "$(sum "$LOGDIR/big.1")" = "$big" ] ||
	fail "download 1 across the server's reload differs"

# The client's session was the old generation's until its last flow
# ended; then it follows the idle one to the new generation, and the
# old worker exits.
wait_count "$LOGDIR/srv.log" "taken over (generation 2)" 2 10 ||
	fail "the download's session was not handed on after its flow"
t0=$(date +%s)
_h2() { fetch "$H2" blob "$LOGDIR/h2.before" 2>/dev/null; }
wait_until 45 _h2 || fail "H2 before the rule (the client did not recover)"
log "the client's first flow after the server's reload: $(( $(date +%s) - t0 )) s"
[ "$(count "$LOGDIR/srv.log" "for key default (generation 2)")" = "$n2" ] ||
	fail "the first client made a new session after the reload"

# the client reloads with a rule that blocks H2, mid-download
fetch "$H" big "$LOGDIR/big.2" --limit-rate 3M &
dl=$!
wait_until 10 _grown "$LOGDIR/big.2" 500000 || fail "download 2 did not start"
sed "s/\"rules\": \[\]/\"rules\": [{\"port\": [$H2], \"outbound\": \"deny\"}]/" \
    "$LOGDIR/cli.json" >"$LOGDIR/cli.json.new"
mv "$LOGDIR/cli.json.new" "$LOGDIR/cli.json"
kill -HUP "$CPID"
wait_log "$LOGDIR/cli.log" "configuration reloaded (generation 2)" 10 ||
	fail "the client did not reload"
wait_count "$LOGDIR/cli.log" "(generation 2) running" 1 10 ||
	fail "the client's new worker"
if fetch "$H2" blob "$LOGDIR/h2.after" 2>/dev/null; then
	fail "the new rule did not apply to a new flow"
fi
[ "$(curl -sS --max-time 60 --socks5-hostname "127.0.0.1:$C" \
    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1)" = "$want" ] ||
	fail "a new flow through the tunnel after the client's reload"
wait $dl || fail "download 2 across the client's reload: curl failed"
[ "$(sum "$LOGDIR/big.2")" = "$big" ] ||
	fail "download 2 across the client's reload differs"
finish
