# Lifetimes across live reload: dials wait on a slow chain hop while each
# live file (peer=, hosts=, bypass=, secrets=, dns=) is rewritten, and
# then a SIGHUP arrives.  Every waiting dial must complete (or fail
# cleanly, with a SOCKS5 error) through what it started with, the worker
# must survive (no respawn), and fresh requests must be served.  Run it
# with BUILD=build-asan: a member freed under a waiting dial is a
# use-after-free there.
. regress/lib.sh

SLOW="/usr/bin/python3 $PWD/regress/tools/slowhop.py"
E=$(free_port); HOP=$(free_port); NS=$(free_port); P=$(free_port)
DEAD=$(free_port)
start_echo "$E"
gate=$LOGDIR/gate
$SLOW hop "$HOP" "$gate" 20 >"$LOGDIR/hop.log" 2>&1 &
PIDS="$PIDS $!"
$NETTOOL dns 127.0.0.1 "$NS" >"$LOGDIR/dns.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$HOP" || fatal "slow hop did not start"

pf=$LOGDIR/peers; hf=$LOGDIR/hosts; bf=$LOGDIR/bypass
sf=$LOGDIR/secrets; df=$LOGDIR/resolver
put() {		# put FILE TEXT: replace FILE at once (rename)
	printf '%b' "$2" >"$1.new" && mv "$1.new" "$1"
}
put "$pf" "reload 1s\npeer socks5://127.0.0.1:$HOP\n"
put "$hf" "reload 1s\n127.0.0.1 backend\n"
put "$bf" "reload 1s\n10.0.0.0/8\n"
put "$sf" "reload 1s\nalice wonderland\n"
put "$df" "reload 1s\n127.0.0.1:$NS udp\n"

# The group on the chain's only position: the base node and the peer
# file's node, both the slow hop; round robin spreads dials over both.
start_ostpd life -D \
	-L "socks5://127.0.0.1:$P?secrets=$sf&bypass=$bf&hosts=$hf&dns=$df" \
	-F "socks5://127.0.0.1:$HOP?peer=$pf"
L=$LOGDIR/life.log
wait_port "$P" || fatal "no listener"
W=$(worker_of "$OPID") || fatal "no worker"

waiting() { grep -c '^waiting' "$LOGDIR/hop.log"; }
reloads() { grep -c "$1 reloaded" "$L"; }

# round NAME FILE TEXT: four dials (a hosts name, a dns= name, an
# address, and a dead port) wait on the hop while FILE is replaced.
round() {
	_name=$1
	rm -f "$gate"
	_w0=$(waiting)
	_dp=""
	_i=0
	for _t in "backend $E" "echo.test $E" "127.0.0.1 $E" \
	    "127.0.0.1 $DEAD"; do
		_i=$((_i + 1))
		# shellcheck disable=SC2086
		$SLOW dial "$P" $_t alice wonderland \
		    >"$LOGDIR/dial-$_name-$_i.out" 2>&1 &
		_dp="$_dp $!"
	done
	for _j in $(seq 1 200); do
		[ "$(waiting)" -ge $((_w0 + 4)) ] && break
		sleep 0.05
	done
	[ "$(waiting)" -ge $((_w0 + 4)) ] || fail "$_name: dials did not reach the hop"
	if [ -n "$2" ]; then
		_r0=$(reloads "$2")
		put "$2" "$3"
		for _j in $(seq 1 100); do
			[ "$(reloads "$2")" -gt "$_r0" ] && break
			sleep 0.05
		done
		[ "$(reloads "$2")" -gt "$_r0" ] || fail "$_name: not reloaded"
	else
		eval "$3"
	fi
	# the hop answers nobody before the gate opens: they all waited
	touch "$gate"
	_i=0
	for _p in $_dp; do
		_i=$((_i + 1))
		wait "$_p" || fail "$_name: dial $_i broken: $(cat "$LOGDIR/dial-$_name-$_i.out")"
	done
	for _i in 1 2 3; do
		grep -qx ok "$LOGDIR/dial-$_name-$_i.out" ||
		    fail "$_name: dial $_i: $(cat "$LOGDIR/dial-$_name-$_i.out")"
	done
	grep -q '^refused reply' "$LOGDIR/dial-$_name-4.out" ||
	    fail "$_name: dial to a dead port: $(cat "$LOGDIR/dial-$_name-4.out")"
}

round peer "$pf" \
    "reload 1s\nstrategy round\npeer socks5://127.0.0.1:$HOP?notls=true\n"
round hosts "$hf" "reload 1s\n127.0.0.1 backend alias\n"
round bypass "$bf" "reload 1s\n192.0.2.0/24\n"
round secrets "$sf" "reload 1s\nalice wonderland\nbob builder\n"
round dns "$df" "reload 1s\ntimeout 4s\n127.0.0.1:$NS udp\n"
# the peer file once more, now with a member only it names
round peer2 "$pf" "reload 1s\npeer socks5://127.0.0.1:$HOP?timeout=30s\n"

grep -q "restarting" "$L" && fail "a worker died: $(grep restarting "$L")"
[ "$(worker_of "$OPID")" = "$W" ] || fail "the worker was replaced"

# A fresh request after all that, with the new secrets.
touch "$gate"
out=$($SLOW dial "$P" backend "$E" bob builder)
[ "$out" = ok ] || fail "fresh request after the reloads: $out"

# SIGHUP: a new worker generation; the old one keeps its dials (and
# the objects they hold) until they finish.
rounds_hup() {
	kill -HUP "$OPID"
	wait_log "$L" "configuration reloaded" 5 || fail "SIGHUP: no reload"
}
round hup "" rounds_hup
grep -q "restarting" "$L" && fail "a worker died after SIGHUP: $(grep restarting "$L")"
out=$($SLOW dial "$P" 127.0.0.1 "$E" alice wonderland)
[ "$out" = ok ] || fail "fresh request after SIGHUP: $out"
kill "$OPID"
finish
