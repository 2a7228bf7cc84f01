# A container without the network capabilities (CAP_NET_ADMIN,
# CAP_NET_RAW, CAP_NET_BIND_SERVICE: docker run --cap-drop, a systemd
# unit's CapabilityBoundingSet): a plain proxy still starts and serves;
# what needs one of them fails on its own, with one line that names it.
. regress/lib.sh
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
DROP=-net_admin,-net_raw,-net_bind_service
# nocap NAME ARGS...: ostpd without them, as start_ostpd
nocap() {
	_name=$1; shift
	setpriv --bounding-set="$DROP" "$OSTPD" -w 1 "$@" \
	    >"$LOGDIR/$_name.log" 2>&1 &
	OPID=$!
	PIDS="$PIDS $OPID"
}
mkdir -p "$LOGDIR/www"
echo hello >"$LOGDIR/www/index.html"
W=$(free_port)
start_web web "$LOGDIR/www" "$W"
WEB_URL=http://127.0.0.1:$W/index.html

# a proxy: it starts, says what it runs without, serves
P=$(free_port)
nocap proxy -L "socks5://127.0.0.1:$P"
wait_port "$P" || fatal "no proxy without the capabilities: $(cat "$LOGDIR/proxy.log")"
assert_serving "socks5://127.0.0.1:$P"
wait_log "$LOGDIR/proxy.log" "running without cap_net_admin" ||
	fail "no line about cap_net_admin: $(cat "$LOGDIR/proxy.log")"
grep -q "cannot set monitor capabilities" "$LOGDIR/proxy.log" &&
	fail "capabilities refused: $(cat "$LOGDIR/proxy.log")"
W0=$(pgrep -P "$OPID" | head -n 1)
[ -n "$W0" ] || fail "no worker"
[ "$(status_field "$W0" CapEff)" = 0000000000000000 ] ||
	fail "the worker has capabilities: $(status_field "$W0" CapEff)"

# a mark needs cap_net_admin: the dial fails, one line says why, and the
# daemon goes on
M=$(free_port)
nocap mark -D -M 5 -L "socks5://127.0.0.1:$M"
wait_port "$M" || fatal "no listener with -M: $(cat "$LOGDIR/mark.log")"
curl -s -o /dev/null --max-time 5 -x "socks5://127.0.0.1:$M" "$WEB_URL" &&
	fail "a marked dial went through without cap_net_admin"
wait_log "$LOGDIR/mark.log" "SO_MARK 5: Operation not permitted (ostpd runs without cap_net_admin)" ||
	fail "no clear line for SO_MARK: $(grep -i mark "$LOGDIR/mark.log")"
kill -0 "$OPID" || fail "the daemon with -M died"

# a port below 1024 needs cap_net_bind_service: startup fails, naming it
for LP in 1023 1022 1021 1020; do
	listening "$LP" || break
done
setpriv --bounding-set="$DROP" "$OSTPD" -w 1 -L "socks5://127.0.0.1:$LP" \
    >"$LOGDIR/low.log" 2>&1 && fail "a low port opened without the capability"
grep -q "bind 127.0.0.1:$LP: Permission denied (ostpd runs without cap_net_bind_service)" \
    "$LOGDIR/low.log" || fail "low port: $(cat "$LOGDIR/low.log")"
finish
