# Shared by the examples: which ostpd to run, free loopback ports, a
# small web server to fetch from, waiting for a port, and cleaning up
# everything an example started (on any exit).  Loopback only.
OSTPD=${OSTPD:-$(cd "$(dirname "$0")/.." && pwd)/build/ostpd}
[ -x "$OSTPD" ] || OSTPD=$(command -v ostpd) || {
	echo "no ostpd: run make first, or set OSTPD" >&2; exit 77; }
TMP=$(mktemp -d)
PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# port: a free TCP and UDP port on 127.0.0.1
port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", p))
print(p)'
}

# run NAME ARGS...: ostpd in the foreground, its log in $TMP/NAME.log
run() {
	_n=$1; shift
	"$OSTPD" -w 1 "$@" >"$TMP/$_n.log" 2>&1 &
	PIDS="$PIDS $!"
}

# running NAME: until ostpd NAME (run with -D) has its worker running
# (20 s), for listeners
# nothing can connect to (UDP)
running() {
	_i=0
	while ! grep -q ') running' "$TMP/$1.log" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 200 ] || { echo "ostpd $1 did not start" >&2; exit 1; }
		sleep 0.1
	done
}

# listening PORT: until something accepts on 127.0.0.1:PORT (5 s)
listening() {
	_i=0
	while ! python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
	    "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 50 ] || { echo "nothing listens on $1" >&2; exit 1; }
		sleep 0.1
	done
}

# web: a web server on 127.0.0.1:$WEB serving $TMP/www/hello.txt
web() {
	WEB=$(port)
	mkdir -p "$TMP/www"
	echo "hello through ostpd" >"$TMP/www/hello.txt"
	(cd "$TMP/www" && exec python3 -m http.server "$WEB" \
	    --bind 127.0.0.1) >"$TMP/web.log" 2>&1 &
	PIDS="$PIDS $!"
	listening "$WEB"
}

# check WHAT GOT: the example's result, "ok" or why not
check() {
	if [ "$2" = "hello through ostpd" ]; then
		echo "ok: $1"
	else
		echo "FAILED: $1: got '$2'" >&2
		for f in "$TMP"/*.log; do echo "== $f"; tail -n 5 "$f"; done >&2
		exit 1
	fi
}
