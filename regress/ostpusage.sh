# OSTP keys' byte counters (stats=, spec/ostp.md §6): two workers count
# one key into shared memory; the monitor writes the stats file on
# SIGHUP and at exit (the key's name and digest, never the key), loads
# it at start, so a key's limit holds across a restart: a key that used
# 2 of its 3 MB before the restart is cut off during a 1.5 MB download
# after it.  A broken stats file is named in one line and the counters
# start at 0.
. regress/lib.sh

[ "$(id -u)" = 0 ] || skip "needs root (the monitor loads BPF)"
W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 500000)
make_blob "$W/mid" 1500000 >/dev/null
H=$(free_port)
start_web web "$W" "$H"
KEY=0123456789abcdef0123456789abcdef
printf '%s name=alice limit=3000000\n' "$KEY" >"$LOGDIR/keys.txt"
ST=$LOGDIR/stats.json
S=$(free_port)
server() {	# server NAME
	start_ostpd "$1" -w 2 -D \
	    -L "ostp://127.0.0.1:$S?keys=$LOGDIR/keys.txt&stats=$ST&local_access=true"
	SPID=$OPID
}
server srv
wait_count "$LOGDIR/srv.log" "(generation 1) running" 2 10 ||
	fatal "ostpd server with two workers"

# four clients, four sessions (the workers share them out)
C=""
for i in 1 2 3 4; do
	p=$(free_port)
	start_ostpd "cli$i" -L "auto://127.0.0.1:$p" \
	    -F "ostp://$KEY@127.0.0.1:$S"
	C="$C $p:$OPID"
done
for c in $C; do
	wait_port "${c%%:*}" || fatal "ostpd client"
done
get() {	# get PORT FILE
	curl -sS --max-time 20 --socks5-hostname "127.0.0.1:$1" \
	    "http://127.0.0.1:$H/$2" 2>>"$LOGDIR/curl.err" |
	    sha256sum | cut -d' ' -f1
}
for c in $C; do
	[ "$(get "${c%%:*}" blob)" = "$want" ] || fail "curl through client $c"
done
n0=$(count "$LOGDIR/srv.log" "worker 0: .*session .* for key alice")
n1=$(count "$LOGDIR/srv.log" "worker 1: .*session .* for key alice")
log "sessions: $n0 on worker 0, $n1 on worker 1"

# SIGHUP writes the file
kill -HUP "$SPID"
wait_until 10 test -s "$ST" || fatal "no stats file after SIGHUP"
field() {	# field NAME: alice's counter NAME in the file
	python3 -c 'import json, sys
k = [k for k in json.load(open(sys.argv[1]))["keys"] if k["name"] == "alice"]
print(k[0][sys.argv[2]] if len(k) == 1 else -1)' "$ST" "$1"
}
up=$(field up); down=$(field down); id=$(field id)
log "after SIGHUP: up $up, down $down, id $id"
[ "$down" -ge 2000000 ] || fail "the file counts $down bytes down, not 2 MB"
[ "$up" -gt 0 ] || fail "the file counts no bytes up"
echo "$id" | grep -Eq '^[0-9a-f]{32}$' || fail "the key's id: $id"
grep -q "$KEY" "$ST" && fail "the stats file holds the key itself"

# a restart keeps the count: 2 MB used, 1.5 MB more reach the 3 MB limit
kill "$SPID"
t0=$(date +%s)
wait_gone "$SPID" || fatal "server still running"
log "the server stopped in $(( $(date +%s) - t0 )) s"
d1=$(field down)
[ "$d1" -ge "$down" ] || fail "the file at exit counts less ($d1 < $down)"
server srv2
wait_count "$LOGDIR/srv2.log" "(generation 1) running" 2 10 ||
	fatal "ostpd server restart"
p=$(free_port)
start_ostpd cli5 -L "auto://127.0.0.1:$p" -F "ostp://$KEY@127.0.0.1:$S"
wait_port "$p" || fatal "ostpd client 5"
get "$p" mid >/dev/null
wait_log "$LOGDIR/srv2.log" "key alice reached its limit of 3000000 bytes" 10 ||
	fail "the limit did not hold across the restart"
# and the key stays refused: a new handshake gets no session
kill "$SPID"
wait_gone "$SPID" || fatal "server still running"
t=$(( $(field up) + $(field down) ))
[ "$t" -ge 3000000 ] || fail "the file counts $t bytes in all, not 3 MB"
log "at the end: $t bytes in all"

# a broken file: one line, counters from 0, the tunnel serves
printf 'not json' >"$ST"
server srv3
wait_log "$LOGDIR/srv3.log" "stats.json: not a counters file; the keys' counters start at 0" 10 ||
	fail "a broken stats file was not named"
[ "$(count "$LOGDIR/srv3.log" "not a counters file")" = 1 ] ||
	fail "a broken stats file named more than once"
wait_count "$LOGDIR/srv3.log" "(generation 1) running" 2 10 ||
	fatal "ostpd server with a broken stats file"
[ "$(get "$p" blob)" = "$want" ] ||
	fail "curl after a restart with a broken stats file"
finish
