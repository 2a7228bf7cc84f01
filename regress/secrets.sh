# Secrets stay out of messages: a node URL in an error or a log line
# shows its password (user:***@), an access key and secret parameters
# (turn_pass=, auth=, key=) masked, whether the mistake is on the
# command line, in a JSON file or found while the daemon runs, and in
# the "listening on" and debug lines of a daemon that runs.
. regress/lib.sh

PW=Pw0rdXyzzy
KEY=0123456789abcdef0123456789abcdef
TP=TurnSecretQq
# nothing of any secret may appear in FILE
clean() {
	if grep -q -e "$PW" -e "$KEY" -e "$TP" "$1"; then
		fail "$2: a secret in the output: $(cat "$1")"
	fi
}

# mistakes in URLs: each refused with one line that names the URL
"$OSTPD" -t -L "socks5://alice:$PW@127.0.0.1:99999" >"$LOGDIR/t1.out" 2>&1 &&
	fail "a bad port accepted"
grep -q "socks5://alice:\*\*\*@127.0.0.1:99999" "$LOGDIR/t1.out" ||
	fail "bad port: $(cat "$LOGDIR/t1.out")"
clean "$LOGDIR/t1.out" "bad port"
"$OSTPD" -t -L "socks5://:1080" -F "http://bob:$PW@127.0.0.1" \
    >"$LOGDIR/t2.out" 2>&1 && fail "a chain node without a port accepted"
clean "$LOGDIR/t2.out" "chain node"
"$OSTPD" -t -L "ostp://$KEY@127.0.0.1:1?turn_pass=$TP&frobnicate=1" \
    -L "ss://aes-128-gcm:$PW@127.0.0.1:2?auth=$PW" \
    -L "socks5+tls://127.0.0.1:3?key=$PW" >"$LOGDIR/t3.out" 2>&1
grep -q "ostp://\*\*\*@127.0.0.1:1?turn_pass=\*\*\*&frobnicate=1" "$LOGDIR/t3.out" ||
	fail "ostp: $(cat "$LOGDIR/t3.out")"
clean "$LOGDIR/t3.out" "parameters"
cat >"$LOGDIR/bad.json" <<E
{ "inbounds": [ { "tag": "a", "url": "http://carol:$PW@127.0.0.1:0" } ] }
E
"$OSTPD" -t -C "$LOGDIR/bad.json" >"$LOGDIR/t4.out" 2>&1 &&
	fail "a JSON file with port 0 accepted"
grep -q "http://carol:\*\*\*@127.0.0.1:0" "$LOGDIR/t4.out" ||
	fail "JSON: $(cat "$LOGDIR/t4.out")"
clean "$LOGDIR/t4.out" "JSON file"

# a daemon that runs: its listening lines and a failed dial's line
P=$(free_port); P2=$(free_port); DEAD=$(free_port); O=$(free_port)
start_ostpd run -D -L "socks5://alice:$PW@127.0.0.1:$P" \
    -L "http://127.0.0.1:$P2" -F "socks5://bob:$PW@127.0.0.1:$DEAD" \
    -L "ostp://$KEY@127.0.0.1:$O?turn_pass=$TP"
wait_port "$P" && wait_port "$P2" || fatal "no listener"
curl -s -o /dev/null --max-time 5 -x "http://127.0.0.1:$P2" http://127.0.0.1:1/
wait_log "$LOGDIR/run.log" "listening on .*alice:\*\*\*@" ||
	fail "no listening line: $(cat "$LOGDIR/run.log")"
wait_log "$LOGDIR/run.log" "listening on .*ostp://\*\*\*@127.0.0.1:$O?turn_pass=\*\*\*" ||
	fail "no listening line for the OSTP port"
wait_log "$LOGDIR/run.log" "through the chain: Connection refused" ||
	fail "no line for the failed chain dial"
kill "$OPID"
wait_gone "$OPID"
clean "$LOGDIR/run.log" "daemon log"
finish
