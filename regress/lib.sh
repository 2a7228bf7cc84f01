# Shared by the scenario tests: sourced, never run.  Every test starts
# its own processes and namespaces and removes them on exit, even on
# failure (trap).  Logs go to $LOGDIR; run.sh keeps them when a test fails.

: "${BUILD:=build}"
OSTPD=${OSTPD:-$PWD/$BUILD/ostpd}
OSTPD_T=$PWD/$BUILD/ostpd-testhooks
NETTOOL="/usr/bin/python3 $PWD/regress/tools/nettool.py"
: "${LOGDIR:=$(mktemp -d)}"
TESTNAME=$(basename "$0" .sh)
PIDS=""
NETNS=""
FAILED=0

log() { echo "$TESTNAME: $*"; }
fail() { echo "FAIL $TESTNAME: $*"; FAILED=1; }
fatal() { echo "FATAL $TESTNAME: $*"; exit 1; }
# skip REASON: the whole test cannot run here (exit 77: run.sh counts it
# as skipped).  skip_part REASON: one part cannot; the test still runs
# the rest, but is reported skipped, not passed, unless it failed.
SKIPPED=0
skip() { echo "SKIP $TESTNAME: $*"; exit 77; }
skip_part() { echo "SKIP $TESTNAME: $*"; SKIPPED=1; }

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	# a daemon removes its devices and pidfile on SIGTERM: let it
	wait_until 3 all_gone $PIDS
	for p in $PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	for n in $NETNS; do
		ip netns pids "$n" 2>/dev/null | while read -r p; do
			kill -9 "$p" 2>/dev/null
		done
		ip netns del "$n" 2>/dev/null
	done
	[ -n "$EXTRA_CLEANUP" ] && eval "$EXTRA_CLEANUP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# netns_add NAME...: network namespaces of this test, loopback up in
# each; cleanup removes them (and kills what still runs there).
# netns_add NS...: new namespaces, loopback up.  Their links skip IPv6
# duplicate address detection: while a link's own link-local address
# is tentative (a second or two after the link comes up) the kernel
# sends no neighbour solicitation from it and tries again a second
# later, so a test's first IPv6 packet could wait 1 or 2 s (caperr.sh's
# "refused within 1 s" failed one run in five).
netns_add() {
	for _n in "$@"; do
		ip netns add "$_n" || fatal "ip netns add $_n"
		NETNS="$NETNS $_n"
		ip -n "$_n" link set lo up
		ip netns exec "$_n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		    net.ipv6.conf.default.accept_dad=0 2>/dev/null
	done
}

# veth_pair NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair between two of
# them, both ends up, each with its address (prefix length included;
# "-" for none).
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" ||
		fatal "veth $2 - $5"
	[ "$3" = - ] || ip -n "$1" addr add "$3" dev "$2"
	[ "$6" = - ] || ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

# ns_forward NS: NS routes IPv4 and IPv6 between its links.
ns_forward() {
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1 \
	    net.ipv6.conf.all.forwarding=1
}

# ns_line C M W NET_CM NET_MW [NET6_CM NET6_MW]: three namespaces in
# a line, C -- M -- W, M routing between its two links, C and W routing
# through M by default.  The veths: C's cc$$ (NET_CM.2/24) to M's cm$$
# (NET_CM.1), M's mw$$ (NET_MW.1) to W's wm$$ (NET_MW.2).  NET6_*, IPv6
# prefixes ending in "::" (fd00:81::), give the same ends ::2 and ::1
# (/64) and IPv6 default routes.
ns_line() {
	netns_add "$1" "$2" "$3"
	veth_pair "$1" cc$$ "$4.2/24" "$2" cm$$ "$4.1/24"
	veth_pair "$2" mw$$ "$5.1/24" "$3" wm$$ "$5.2/24"
	ip -n "$1" route add default via "$4.1"
	ip -n "$3" route add default via "$5.1"
	if [ -n "$6" ]; then
		ip -n "$1" addr add "${6}2/64" dev cc$$ nodad
		ip -n "$2" addr add "${6}1/64" dev cm$$ nodad
		ip -n "$2" addr add "${7}1/64" dev mw$$ nodad
		ip -n "$3" addr add "${7}2/64" dev wm$$ nodad
		ip -n "$1" -6 route add default via "${6}1" dev cc$$
		ip -n "$3" -6 route add default via "${7}1" dev wm$$
	fi
	ns_forward "$2"
}

# A free TCP port on loopback, never one this test was given before
# (a port handed out as "dead" must stay dead).  Callers use $(...), a
# subshell, so the ports given are remembered in a file.
free_port() {
	_pf=$LOGDIR/.ports
	while :; do
		# Free for TCP and for UDP (some tests use both on one port),
		# and below the kernel's ephemeral range: a port taken from
		# that range can be any busy client's source port a moment
		# later, and the daemon meant to listen on it cannot.
		_p=$(python3 -c 'import random, socket
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
span = (10000, lo) if lo > 12000 else (hi + 1, 65536)
while True:
    p = random.randrange(*span)
    s = socket.socket(); u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", p)); u.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break')
		grep -qx "$_p" "$_pf" 2>/dev/null || break
	done
	echo "$_p" >>"$_pf"
	echo "$_p"
}

# Synchronisation: tests wait for a condition, never for a time.
# wait_until SECONDS CMD [ARG...]: until CMD succeeds (every 50 ms);
# 1 when it has not within SECONDS (whole seconds).
wait_until() {
	_wn=$(( $1 * 20 )); shift
	while ! "$@"; do
		[ "$_wn" -gt 0 ] || return 1
		_wn=$((_wn - 1))
		sleep 0.05
	done
	return 0
}

# gone PID: no such process, or one that has exited and waits only to
# be reaped (a zombie child of this shell).
gone() {
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c 1)
	[ -z "$_st" ] || [ "$_st" = Z ]
}
all_gone() {
	for _g in "$@"; do gone "$_g" || return 1; done
	return 0
}
# wait_gone PID [SECONDS]: until the process has exited (5 s).
wait_gone() { wait_until "${2:-5}" gone "$1"; }

_accepts() {
	if [ -n "$3" ]; then
		ip netns exec "$3" socat -T1 /dev/null "$1" 2>/dev/null
	else
		socat -T1 /dev/null "$1" 2>/dev/null
	fi
}
# wait_port PORT [HOST] [NS]: until something accepts there (5 s).
wait_port() {
	_h=${2:-127.0.0.1}
	case $_h in *:*) _a="TCP6:[$_h]:$1" ;; *) _a="TCP:$_h:$1" ;; esac
	wait_until "${_wp_secs:-5}" _accepts "$_a" "$_h" "$3"
}
# wait_port_slow PORT [HOST]: for other programs (squid, dante), whose
# start on a busy machine can take longer than ours.
wait_port_slow() { _wp_secs=30; wait_port "$@"; _r=$?; _wp_secs=; return $_r; }

# count FILE PATTERN: lines of FILE matching PATTERN (0 without FILE).
count() { _c=$(grep -c -- "$2" "$1" 2>/dev/null); echo "${_c:-0}"; }
_has() { grep -q -- "$2" "$1" 2>/dev/null; }
_atleast() { [ "$(count "$1" "$2")" -ge "$3" ]; }
# wait_log FILE PATTERN [SECONDS]: until a line matches (5 s).
wait_log() { wait_until "${3:-5}" _has "$1" "$2"; }
# wait_count FILE PATTERN N [SECONDS]: until N lines match (5 s).
wait_count() { wait_until "${4:-5}" _atleast "$1" "$2" "$3"; }

_nworkers() { [ "$(pgrep -P "$1" | wc -l)" -eq "$2" ]; }
# wait_workers MONITOR N [SECONDS]: until the monitor has N children.
wait_workers() { wait_until "${3:-5}" _nworkers "$1" "$2"; }

# established PORT [STATE]: a TCP connection to PORT is in STATE
# (established by default), as the kernel's socket table shows it.
established() {
	ss -tn state "${2:-established}" "( dport = :$1 )" | grep -qE ":$1( |$)"
}

# listening PORT: a TCP socket listens there (without connecting to it:
# for peers that take only one connection).
listening() { ss -ltn "sport = :$1" | grep -q LISTEN; }

# live_write FILE LOG [SECONDS]: replaces a file that the daemon writing
# LOG reloads live ("reload" in the file) with standard input, and waits
# until a worker logged that it took the new contents or refused them.
# The new version is renamed into place (the monitor, which polls, never
# sees half of it) with an mtime of its own: the monitor compares mtime,
# inode and size, and two writes can fall into one timestamp tick.
LIVE_N=0
_reload_lines() {
	_c=$(grep -cF -e "$1 reloaded" -e "reload failed: $1:" "$2" 2>/dev/null)
	echo "${_c:-0}"
}
_reloaded_past() { [ "$(_reload_lines "$1" "$2")" -gt "$3" ]; }
live_write() {
	_lb=$(_reload_lines "$1" "$2")
	cat >"$1.new" || return 1
	LIVE_N=$((LIVE_N + 1))
	touch -d "@$(( $(date +%s) + 100 + LIVE_N ))" "$1.new"
	mv -f "$1.new" "$1"
	wait_until "${3:-5}" _reloaded_past "$1" "$2" "$_lb"
}

# start_ostpd NAME ARGS...: runs in the foreground mode, logs to
# $LOGDIR/NAME.log, sets OPID.
# start_ostpd NAME ARGS...: one worker unless the test says otherwise
# (-w, or CONFIG_WORKERS=1 for a -C file's "workers"): tests look at
# the worker and count its log lines; the default is one per core.
start_ostpd() {
	_name=$1; shift
	_w="-w 1"
	case " $* " in *" -w "*) _w= ;; esac
	[ -n "$CONFIG_WORKERS" ] && _w=
	"$OSTPD" $_w "$@" >"$LOGDIR/$_name.log" 2>&1 &
	OPID=$!
	PIDS="$PIDS $OPID"
}

# ns_ostpd NAME NS ARGS...: one ostpd (one worker) in namespace NS, its
# log in $LOGDIR/NAME.log (appended: a restart keeps the earlier
# lines), OPID.  ns_ready NAME [N]: its Nth "ready" line (first).
ns_ostpd() {
	_name=$1; _ns=$2; shift 2
	ip netns exec "$_ns" "$OSTPD" -w 1 "$@" >>"$LOGDIR/$_name.log" 2>&1 &
	OPID=$!
	PIDS="$PIDS $OPID"
}
ns_ready() { wait_count "$LOGDIR/$1.log" ') ready' "${2:-1}" 10; }

start_echo() {
	$NETTOOL echo "${2:-127.0.0.1}" "$1" >"$LOGDIR/echo-$1.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$1" "${2:-127.0.0.1}" || fatal "echo server on $1 did not start"
}

# assert_serving URL [TARGET]: after a refusal (a 403/407/502, a closed
# connection, a refused request), one real request through the same
# daemon, so that a daemon that died cannot pass a refusal test.
#   tcp://HOST:PORT   a forwarder to an echo server: bytes come back
#   udp://HOST:PORT   a forwarder to a UDP echo server: round trips
#   dns://HOST:PORT   a DNS proxy: TARGET (a name) gets an address
#   socks5://, socks5h://, socks4://, socks4a://, http://[USER:PASS@]HOST:PORT
#                     a proxy: TARGET fetched through it, an http:// URL
#                     (status 200; $WEB_URL when not given) or
#                     tcp://HOST:PORT of an echo server (bytes come back)
#   https://HOST:PORT a proxy over TLS: TARGET (an http:// URL) fetched
#                     with curl and the options in $PROXY_TLS_ARGS
#                     (--proxy-cacert ..., --proxy-cert ...)
assert_serving() {
	_u=$1; _t=${2:-$WEB_URL}
	_hp=${_u#*://}; _hp=${_hp##*@}; _hp=${_hp%%/*}
	_h=${_hp%:*}; _p=${_hp##*:}
	_h=${_h#[}; _h=${_h%]}
	case $_u in tcp://*|udp://*) _t= ;; esac
	case $_u in
	tcp://*)
		$NETTOOL xfer "$_h" "$_p" 1000 1 >/dev/null 2>&1 ;;
	udp://*)
		[ "$($NETTOOL udpcheck "$_h" "$_p" 2)" = 2 ] ;;
	dns://*)
		dig +time=5 +tries=1 +short @"$_h" -p "$_p" "$_t" 2>&1 |
		    grep -qE '^[0-9a-fA-F.:]+$' ;;
	https://*)
		# shellcheck disable=SC2086
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		    $PROXY_TLS_ARGS -x "$_u" "$_t")" = 200 ] ;;
	socks*://*|http://*)
		case $_t in
		tcp://*)
			_t2=${_t#tcp://}
			$NETTOOL proxyecho "$_u" "${_t2%:*}" "${_t2##*:}" \
			    >/dev/null 2>&1 ;;
		http://*)
			[ "$(curl -s -o /dev/null -w '%{http_code}' \
			    --max-time 10 -x "$_u" "$_t")" = 200 ] ;;
		*)	fatal "assert_serving $_u: no target" ;;
		esac ;;
	*)	fatal "assert_serving: cannot check $_u" ;;
	esac || fail "not serving after a refusal: $_u${_t:+ to $_t}"
}

# start_web NAME DIR PORT [HOST] [NS]: python's http.server serving
# DIR on HOST (127.0.0.1), its log in $LOGDIR/NAME.log, answering once
# this returns.
start_web() {
	_h=${4:-127.0.0.1}
	(cd "$2" && exec ${5:+ip netns exec "$5"} python3 -m http.server \
	    "$3" --bind "$_h") >"$LOGDIR/$1.log" 2>&1 &
	PIDS="$PIDS $!"
	case $_h in 0.0.0.0) _h=127.0.0.1 ;; ::) _h=::1 ;; esac
	wait_port "$3" "$_h" "$5" || fatal "web server $1 on $3 did not start"
}

# start_unbound DIR PORT TLSPORT [CTLPORT]: a local unbound on
# 127.0.0.1, plain DNS (UDP and TCP) on PORT and DNS over TLS on TLSPORT
# (DIR/key.pem and DIR/cert.pem), serving the zone lines (local-zone:,
# local-data:) read from standard input; its log, queries included, in
# DIR/unbound.log.  With CTLPORT, unbound-control -c DIR/unbound.conf
# reaches it there.
start_unbound() {
	{
		cat <<E
server:
    interface: 127.0.0.1@$2
    interface: 127.0.0.1@$3
    tls-port: $3
    tls-service-key: "$1/key.pem"
    tls-service-pem: "$1/cert.pem"
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$1"
    pidfile: "$1/unbound.pid"
    use-syslog: no
    logfile: "$1/unbound.log"
    verbosity: 2
    log-queries: yes
    do-not-query-localhost: yes
    access-control: 127.0.0.0/8 allow
E
		sed 's/^/    /'
		echo "remote-control:"
		if [ -n "$4" ]; then
			printf '    control-enable: yes\n    control-interface: 127.0.0.1\n'
			printf '    control-port: %s\n    control-use-cert: no\n' "$4"
		else
			printf '    control-enable: no\n'
		fi
	} >"$1/unbound.conf"
	unbound -d -c "$1/unbound.conf" >"$1/unbound.out" 2>&1 &
	PIDS="$PIDS $!"
}

# make_blob FILE SIZE: SIZE random bytes in FILE; prints their sha256.
make_blob() {
	head -c "$2" /dev/urandom >"$1" || return 1
	sha256sum <"$1" | cut -d' ' -f1
}

# make_cert KEY CERT CN: a self-signed certificate for test servers
# (the key readable by servers that drop privileges).
make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1" -out "$2" \
	    -days 2 -subj "/CN=$3" >/dev/null 2>&1 || fatal "openssl req ($3)"
	chmod 644 "$1"
}

# start_udpecho PORT [HOST] [NS]: a UDP echo server, answering once
# this returns.
_udp_answers() {
	[ "$(${3:+ip netns exec "$3"} $NETTOOL udpcheck "$1" "$2" 1)" = 1 ]
}
start_udpecho() {
	_h=${2:-127.0.0.1}
	${3:+ip netns exec "$3"} $NETTOOL udpecho "$_h" "$1" \
	    >"$LOGDIR/udpecho-$1.log" 2>&1 &
	PIDS="$PIDS $!"
	case $_h in 0.0.0.0) _h=127.0.0.1 ;; ::) _h=::1 ;; esac
	wait_until 5 _udp_answers "$_h" "$1" "$3" ||
	    fatal "UDP echo server on $1 did not start"
}

# The worker of a monitor: its only child.
worker_of() {
	for _i in $(seq 1 100); do
		_w=$(pgrep -P "$1" | head -n 1)
		[ -n "$_w" ] && { echo "$_w"; return 0; }
		sleep 0.05
	done
	return 1
}

# status_field PID FIELD
status_field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

finish() {
	# Sanitizer builds (make check-asan): any report in a log fails.
	# (run.sh reads every file of every test, however it ended.)
	_san='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer'
	_san="$_san|runtime error:"
	if grep -l -E "$_san" "$LOGDIR"/*.log >/dev/null 2>&1; then
		fail "sanitizer report in $(grep -l -E "$_san" \
		    "$LOGDIR"/*.log | tr '\n' ' ')"
	fi
	if [ "$FAILED" -ne 0 ]; then
		exit 1
	fi
	[ "$SKIPPED" -ne 0 ] && exit 77
	log "ok"
	exit 0
}
