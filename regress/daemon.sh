# Daemon conventions: -V, usage, -t, errors, -b/-p, sd_notify, SIGUSR1.
. regress/lib.sh

out=$("$OSTPD" -V) || fail "-V exited non-zero"
echo "$out" | grep -Eq '^ostpd [0-9]+\.[0-9]+\.[0-9]+ \((gcc|clang) .* linux/[a-z0-9_]+\)$' ||
	fail "-V prints \"$out\""

out=$("$OSTPD" 2>&1); rc=$?
[ $rc -eq 0 ] || fail "no arguments: exit $rc, want 0"
echo "$out" | grep -q '^usage: ostpd' || fail "no arguments: no usage"
"$OSTPD" -h | grep -q '^usage: ostpd \[-AbDhtTV\]' || fail "-h: no usage"

# The man page SYNOPSIS and -h name the same flags.
man_opts=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' man/ostpd.8 |
	awk '/^\.Op Fl/ {print $3}' | tr -d '\n' | fold -w1 | sort | tr -d '\n')
use_opts=$("$OSTPD" -h | grep -o '\-[A-Za-z]*' | tr -d '\n-' | fold -w1 | sort | tr -d '\n')
[ -n "$man_opts" ] && [ "$man_opts" = "$use_opts" ] ||
	fail "man page synopsis flags \"$man_opts\" differ from -h \"$use_opts\""

"$OSTPD" -t -L tcp://127.0.0.1:1/127.0.0.1:2 >"$LOGDIR/t.out" 2>&1 ||
	fail "-t rejects a valid config"
# -t is quiet (the unit's ExecStartPre puts nothing in the journal);
# -T prints the effective configuration, as sshd -T
[ -s "$LOGDIR/t.out" ] && fail "-t printed: $(head -3 "$LOGDIR/t.out")"
"$OSTPD" -T -L "tcp://127.0.0.1:1/127.0.0.1:2" >"$LOGDIR/T.out" 2>&1 ||
	fail "-T rejects a valid config"
grep -q '"url": "tcp://127.0.0.1:1/127.0.0.1:2"' "$LOGDIR/T.out" ||
	fail "-T did not print the configuration: $(head -3 "$LOGDIR/T.out")"
out=$("$OSTPD" -T -L tcp://127.0.0.1:99999/127.0.0.1:2 2>&1) &&
	fail "-T accepted a bad port"
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "-T, bad port: $out"
out=$("$OSTPD" -t -L tcp://127.0.0.1:99999/127.0.0.1:2 2>&1); rc=$?
[ $rc -eq 1 ] || fail "-t with bad port: exit $rc"
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "bad port: more than one line: $out"
echo "$out" | grep -q 'bad port' || fail "bad port message: $out"
out=$("$OSTPD" -t -L kcp://:8338 2>&1)
echo "$out" | grep -q 'scheme kcp is not supported in this build' ||
	fail "unsupported scheme: $out"
out=$("$OSTPD" -t -L tcp://:1/127.0.0.1:2 -F kcp://127.0.0.1:8338 2>&1)
echo "$out" | grep -q 'not supported for chain nodes in this build' || fail "-F kcp: $out"
out=$("$OSTPD" -t -M abc -L tcp://:1/127.0.0.1:2 2>&1)
echo "$out" | grep -q 'bad mark' || fail "-M abc: $out"
out=$("$OSTPD" -t -C /nonexistent/file.json 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'No such file' || fail "-C missing: $out"
out=$("$OSTPD" -t -L 'tun://:1?mtu=70000&net=10.9.0.1/24' 2>&1)
echo "$out" | grep -q 'mtu' || fail "mtu=70000: $out"
out=$("$OSTPD" -Z 2>&1); rc=$?
[ $rc -eq 1 ] || fail "unknown flag: exit $rc"

# -b / -p: detaches, pidfile names the monitor, removed on SIGTERM.
P=$(free_port); E=$(free_port)
start_echo "$E"
pidf=$LOGDIR/ostpd.pid
"$OSTPD" -b -p "$pidf" -L "tcp://127.0.0.1:$P/127.0.0.1:$E" || fail "-b failed"
wait_port "$P" || fail "-b: no listener"
mpid=$(cat "$pidf" 2>/dev/null)
[ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null || fail "pidfile does not name a live process"
PIDS="$PIDS $mpid"
[ "$(ps -o comm= -p "$mpid")" = ostpd ] || fail "pidfile process is not ostpd"
[ "$(ps -o tty= -p "$mpid" | tr -d ' ')" = "?" ] || fail "-b kept a terminal"
$NETTOOL xfer 127.0.0.1 "$P" 100000 2 >/dev/null || fail "-b: forwarding failed"
kill "$mpid"
wait_gone "$mpid" || fail "-b: still running after SIGTERM"
[ -e "$pidf" ] && fail "pidfile left behind"

# sd_notify: READY=1 once the worker serves, STOPPING=1 at the end.
nsock=$LOGDIR/notify.sock
$NETTOOL notify "$nsock" READY=1 10 >"$LOGDIR/notify.out" 2>&1 &
npid=$!
PIDS="$PIDS $npid"
wait_until 5 test -S "$nsock" || fatal "notify listener did not start"
P2=$(free_port)
NOTIFY_SOCKET=$nsock start_ostpd notify -L "tcp://127.0.0.1:$P2/127.0.0.1:$E"
wait "$npid" || fail "no READY=1 on NOTIFY_SOCKET"
wait_port "$P2" || fail "notify: no listener"

# SIGUSR1: state dump with workers, listeners and counters.
$NETTOOL xfer 127.0.0.1 "$P2" 1000 3 >/dev/null || fail "transfer before dump"
kill -USR1 "$OPID"
wait_log "$LOGDIR/notify.log" 'active connections, [0-9]* accepted' 5 || fail "SIGUSR1: no counters in the dump"
grep -q "listener tcp/127.0.0.1:$P2" "$LOGDIR/notify.log" || fail "SIGUSR1: no listener line"
grep -q 'worker 0 generation 1: pid' "$LOGDIR/notify.log" || fail "SIGUSR1: no worker line"
kill "$OPID"

# -P: the counters over HTTP, only with PROFILING in the environment.
P3=$(free_port); D3=$(free_port)
PROFILING=1 start_ostpd profiling -L "tcp://127.0.0.1:$P3/127.0.0.1:$E" -P "127.0.0.1:$D3"
wait_port "$P3" || fatal "profiling: no listener"
$NETTOOL xfer 127.0.0.1 "$P3" 1000 2 >/dev/null || fail "transfer with -P"
out=$(curl -sS --max-time 5 "http://127.0.0.1:$D3/debug/vars")
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["accepted"] >= 2 and d["bytes_in"] >= 2000, d' ||
	fail "-P /debug/vars: $out"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$D3/x")" = 404 ] || fail "-P: unknown path not 404"
assert_serving "tcp://127.0.0.1:$P3"
curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$D3/debug/vars" || fail "-P: no answer after a 404"
kill "$OPID"
out=$(env -u PROFILING "$OSTPD" -t -L tcp://:1/127.0.0.1:2 -P 127.0.0.1:1 2>&1 >/dev/null)
echo "$out" | grep -q 'ignored: PROFILING is not set' || fail "-P without PROFILING: $out"
finish
