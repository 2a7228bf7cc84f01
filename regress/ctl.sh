# ostpctl and the control socket: status and connections while a
# download runs through the proxy, reload, log-level, bad requests
# refused with the daemon untouched, a non-root client refused (by the
# socket's mode, and by SO_PEERCRED when the mode would let it in), a
# worker that cannot reach the socket, stop.
. regress/lib.sh
# the ctlsock test hook gets a worker killed by its seccomp filter
ALLOW_RESPAWN=1
OSTPD=$OSTPD_T
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"

CTLBIN=$PWD/$BUILD/ostpctl
# where nobody can reach the socket's directory: not under the clone,
# which may sit in a home only root may enter (/root on a fresh Debian)
RUN=$(mktemp -d /tmp/ostp-ctl.XXXXXX) || fatal "mktemp"
EXTRA_CLEANUP="rm -rf '$RUN'"
mkdir -p "$LOGDIR/www"
chmod 755 "$RUN"
# a copy nobody may run wherever the clone is
cp "$CTLBIN" "$RUN/ostpctl" && chmod 755 "$RUN/ostpctl" || fatal "cp"
S=$RUN/ostpd.sock
ctl() { "$CTLBIN" -S "$S" "$@"; }
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# jget FILE EXPR: a python expression over the JSON in FILE (as j)
jget() { python3 -c "import json,sys; j=json.load(open('$1')); print($2)"; }

P=$(free_port); W=$(free_port)
make_blob "$LOGDIR/www/blob" 40000000 >/dev/null || fatal "no blob"
start_web web "$LOGDIR/www" "$W"

ctl status >"$LOGDIR/norun.out" 2>&1 && fail "status without a daemon succeeded"
grep -q "ostpd is not running" "$LOGDIR/norun.out" ||
	fail "no daemon: $(cat "$LOGDIR/norun.out")"

OSTP_TESTHOOK=ctlsock start_ostpd ctl -w 2 -S "$S" -A \
    -L "socks5://u1:p1@127.0.0.1:$P"
MON=$OPID
wait_port "$P" || fatal "no listener"
[ -S "$S" ] || fatal "no control socket $S"
[ "$(stat -c %a "$S")" = 600 ] || fail "socket mode $(stat -c %a "$S")"

# status: version, generation, both workers with their pids, the listener
ctl status >"$LOGDIR/status.out" || fail "status failed"
grep -q "^ostpd [0-9.]*, pid $MON" "$LOGDIR/status.out" ||
	fail "status: no version line: $(head -1 "$LOGDIR/status.out")"
ctl -j status >"$LOGDIR/status.json" || fail "status -j failed"
[ "$(jget "$LOGDIR/status.json" "len([w for w in j['workers'] if w['state'] == 'running' and w['reported'] == 'yes'])")" = 2 ] ||
	fail "status: not two running workers"
for w in $(pgrep -P "$MON"); do
	[ "$(jget "$LOGDIR/status.json" "[w['pid'] for w in j['workers']].count($w)")" = 1 ] ||
		fail "status: worker pid $w missing"
done
[ "$(jget "$LOGDIR/status.json" "j['listeners'][0]['addr']")" = "127.0.0.1:$P" ] ||
	fail "status: listener address"
[ "$(jget "$LOGDIR/status.json" "j['generations'][0]['num']")" = 1 ] ||
	fail "status: generation"

# connections while a download runs (2 MB/s: 20 s unless stopped)
curl -s -o /dev/null --limit-rate 2M -x "socks5h://u1:p1@127.0.0.1:$P" \
    "http://127.0.0.1:$W/blob" &
CURL=$!
PIDS="$PIDS $CURL"
_conn_seen() {
	ctl -j connections >"$LOGDIR/conns.json" 2>/dev/null &&
	[ "$(jget "$LOGDIR/conns.json" "len([c for c in j['connections'] if c['target'] == '127.0.0.1:$W' and c['out'] > 100000])")" = 1 ]
}
wait_until 10 _conn_seen || fail "connections: the download is not listed"
c="[c for c in j['connections'] if c['target'] == '127.0.0.1:$W'][0]"
[ "$(jget "$LOGDIR/conns.json" "' '.join(($c['user'], $c['route'], $c['outbound'], $c['mode'], $c['listener']))")" = \
    "u1 default direct splice in0" ] ||
	fail "connections: $(jget "$LOGDIR/conns.json" "$c")"
ctl connections >"$LOGDIR/conns.out" || fail "connections failed"
grep -q "127.0.0.1:$W .*splice" "$LOGDIR/conns.out" ||
	fail "connections (human): $(cat "$LOGDIR/conns.out")"
ctl -j status >"$LOGDIR/status2.json"
[ "$(jget "$LOGDIR/status2.json" "[u['active'] for u in j['users'] if u['name'] == 'u1'][0]")" = 1 ] ||
	fail "status: user u1 not active"
kill "$CURL" 2>/dev/null
wait "$CURL" 2>/dev/null
wait_log "$LOGDIR/ctl.log" "access: listener=in0 client=127.0.0.1:[0-9]* user=u1 target=127.0.0.1:$W route=default outbound=direct in=[0-9]* out=[0-9]* duration=" ||
	fail "no access log line"

# bad requests: refused, the daemon untouched
# raw BYTES-FILE: sent as they are (a refusal may come before all of
# them are taken), the answer printed
raw() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(open(sys.argv[2], "rb").read())
except OSError:
    pass
out = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
except OSError:
    pass
sys.stdout.write(out.decode("latin-1"))' "$S" "$1"
}
printf 'bogus\n' >"$LOGDIR/bad1.in"
raw "$LOGDIR/bad1.in" >"$LOGDIR/bad1.out"
grep -q "^error unknown request" "$LOGDIR/bad1.out" || fail "garbage: $(cat "$LOGDIR/bad1.out")"
head -c 4000 /dev/urandom >"$LOGDIR/bad2.in"
raw "$LOGDIR/bad2.in" >"$LOGDIR/bad2.out"
grep -qa "^error" "$LOGDIR/bad2.out" || fail "binary garbage not refused"
python3 -c 'print("status" + " " * 500)' >"$LOGDIR/bad3.in"
raw "$LOGDIR/bad3.in" >"$LOGDIR/bad3.out"
grep -q "^error request too long" "$LOGDIR/bad3.out" || fail "oversized: $(cat "$LOGDIR/bad3.out")"
printf 'log-level fatal\n' >"$LOGDIR/bad4.in"
raw "$LOGDIR/bad4.in" >"$LOGDIR/bad4.out"
grep -q "^error" "$LOGDIR/bad4.out" || fail "log-level fatal accepted"
ctl frobnicate >/dev/null 2>&1 && fail "unknown command accepted"
ctl status >/dev/null || fail "status after bad requests"
assert_serving "socks5h://u1:p1@127.0.0.1:$P" "http://127.0.0.1:$W/"

# a non-root user: refused by the socket's mode...
nobody "$RUN/ostpctl" -S "$S" status >"$LOGDIR/nobody.out" 2>&1 &&
	fail "nobody got a status"
grep -q "permission denied" "$LOGDIR/nobody.out" ||
	fail "nobody: $(cat "$LOGDIR/nobody.out")"
# ...and by the monitor's own check when the mode would let it in
chmod 666 "$S"
nobody "$RUN/ostpctl" -S "$S" stop >"$LOGDIR/nobody2.out" 2>&1 &&
	fail "nobody stopped the daemon"
chmod 600 "$S"
grep -q "permission denied" "$LOGDIR/nobody2.out" ||
	fail "nobody (SO_PEERCRED): $(cat "$LOGDIR/nobody2.out")"
wait_log "$LOGDIR/ctl.log" "control: refused a client with uid" ||
	fail "SO_PEERCRED refusal not logged"
kill -0 "$MON" || fatal "the daemon died"

# log-level: the workers' debug lines come, and go again
ctl log-level debug >/dev/null || fail "log-level debug"
assert_serving "socks5h://u1:p1@127.0.0.1:$P" "http://127.0.0.1:$W/"
wait_log "$LOGDIR/ctl.log" "worker [01]: .*socks5 to 127.0.0.1:$W" ||
	fail "no worker debug line after log-level debug"
ctl log-level info >/dev/null || fail "log-level info"
ctl -j status >"$LOGDIR/status3.json"
[ "$(jget "$LOGDIR/status3.json" "j['daemon']['log_level']")" = info ] ||
	fail "log level not info"

# reload: a new generation serves
ctl reload >"$LOGDIR/reload.out" || fail "reload failed"
grep -q "generation 2" "$LOGDIR/reload.out" || fail "reload: $(cat "$LOGDIR/reload.out")"
wait_log "$LOGDIR/ctl.log" "configuration reloaded (generation 2)" ||
	fail "no reload logged"
_gen2() {
	ctl -j status >"$LOGDIR/status4.json" 2>/dev/null &&
	[ "$(jget "$LOGDIR/status4.json" "len([w for w in j['workers'] if w['gen'] == 2 and w['state'] == 'running'])")" = 2 ]
}
wait_until 10 _gen2 || fail "generation 2 not running"
assert_serving "socks5h://u1:p1@127.0.0.1:$P" "http://127.0.0.1:$W/"

# a second daemon on the same socket leaves it to the first
P2=$(free_port)
start_ostpd ctl2 -S "$S" -L "socks5://127.0.0.1:$P2"
O2=$OPID
wait_port "$P2" || fail "second daemon did not start"
grep -q "in use by another ostpd; running without" "$LOGDIR/ctl2.log" ||
	fail "second daemon: $(cat "$LOGDIR/ctl2.log")"
kill "$O2"
wait_gone "$O2"
[ -S "$S" ] || fail "the second daemon removed the first's socket"

# a worker cannot reach the socket: chrooted, without the descriptor,
# and killed by seccomp when it asks for an AF_UNIX socket
INODE=$(awk -v p="$S" '$8 == p { print $7 }' /proc/net/unix | head -n 1)
[ -n "$INODE" ] || fail "no inode for $S"
WK=$(pgrep -P "$MON" | head -n 1)
[ -n "$WK" ] || fatal "no worker"
[ "$(readlink "/proc/$WK/root")" != / ] || fail "worker $WK is not chrooted"
ls -l "/proc/$WK/fd" | grep -q "socket:\[$INODE\]" &&
	fail "worker $WK holds the control socket"
kill -USR2 "$WK"
wait_log "$LOGDIR/ctl.log" "killed by SIGSYS" || fail "worker not killed by seccomp"
grep -q "control socket is reachable" "$LOGDIR/ctl.log" &&
	fail "a worker reached the control socket"
ctl status >/dev/null || fail "status after the worker's death"

# stop
ctl stop >"$LOGDIR/stop.out" || fail "stop failed"
wait_gone "$MON" || fail "the daemon did not stop"
[ -e "$S" ] && fail "control socket left behind"
ctl status >/dev/null 2>&1 && fail "status after stop"

# a stale socket (a daemon killed) and two daemons starting at once over
# it: both start, one takes the socket and answers
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$S"
[ -S "$S" ] || fail "no stale socket made"
P3=$(free_port); P4=$(free_port)
start_ostpd race1 -S "$S" -L "socks5://127.0.0.1:$P3"
R1=$OPID
start_ostpd race2 -S "$S" -L "socks5://127.0.0.1:$P4"
R2=$OPID
wait_port "$P3" || fail "race: first daemon did not start"
wait_port "$P4" || fail "race: second daemon did not start"
ctl -j status >"$LOGDIR/race.json" || fail "race: no status"
_rp=$(jget "$LOGDIR/race.json" "j['daemon']['pid']")
[ "$_rp" = "$R1" ] || [ "$_rp" = "$R2" ] || fail "race: status from pid $_rp"
[ "$(cat "$LOGDIR/race1.log" "$LOGDIR/race2.log" | grep -c 'in use by another ostpd')" = 1 ] ||
	fail "race: not exactly one daemon without the socket"
finish
