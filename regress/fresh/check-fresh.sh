#!/bin/sh
# make check-fresh: README's commands on a fresh Debian 12.  A minimal
# root (debootstrap minbase from Debian's mirror) gets a clean clone of
# HEAD; inside it, as root in a chroot: what README says a fresh
# machine needs first (apt-get install make), then "make run", whose
# default listener must carry a curl to a local web server, then
# "make check", which must pass.  Nothing else is installed by hand.
# The root is removed at the end (KEEP_FRESH=1 keeps it); the logs and
# the root's base tarball (for make check-container) stay in
# $BUILD/fresh/.  Bounded by the Makefile (timeout FRESH_TIMEOUT).
#
# The chroot shares the host's kernel and network: /dev (with
# /dev/net/tun) and /sys are bind-mounted, /proc and /run are its own;
# the tests make their network namespaces themselves.  Not run by make
# check (15-25 minutes, most of it downloading make deps' packages).
cd "$(dirname "$0")/../.." || exit 1
. regress/fresh/lib.sh

[ "$(id -u)" -eq 0 ] || die "needs root"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing"
ROOT=$FRESH/root
mkdir -p "$FRESH"
rm -f "$FRESH"/*.log "$FRESH/result"

cleanup() {
	[ -d "$ROOT/root" ] && cp -a "$ROOT/root/logs/." "$FRESH/" 2>/dev/null
	[ -n "${KEEP_FRESH:-}" ] || remove_root "$ROOT"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# The default listener of make run, seen from the host's network.
grep -qi ':0438 00000000:0000 0A' /proc/net/tcp &&
    die "port 1080 is busy here; make run's listener needs it"

T0=$(date +%s)
say "debootstrap $SUITE (minbase) from $MIRROR into $ROOT"
make_root "$ROOT" || die "debootstrap failed"
tar -C "$ROOT" -cf "$FRESH/base.tar" . || die "cannot save the base root"
T1=$(date +%s)

HEAD=$(git rev-parse HEAD) || die "not a git checkout"
say "a clean clone of HEAD ($HEAD)"
git clone -q --no-hardlinks "$PWD" "$ROOT/root/ostp" ||
    die "git clone failed"
git -C "$ROOT/root/ostp" checkout -q "$HEAD" || die "cannot check out HEAD"
mkdir -p "$ROOT/root/logs"

cat >"$ROOT/root/fresh.sh" <<'EOF'
# Inside the fresh root.
cd /root/ostp || exit 1
L=/root/logs
say() { echo "$(date -u +%H:%M:%S) $*" | tee -a $L/fresh.log; }
# 127.0.0.1:PORT listening (no ss or curl before make deps)
listens() {
	_h=$(printf '%04X' "$1")
	grep -qi "^ *[0-9]*: 0100007F:$_h 00000000:0000 0A" /proc/net/tcp
}

say "README: a fresh Debian 12 has no make: apt-get install make"
{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends make; } >$L/apt-make.log 2>&1 ||
    { say "FAIL: apt-get install make"; exit 1; }

say "README: make run"
t=$(date +%s)
setsid make run >$L/make-run.log 2>&1 &
RUN=$!
n=0
until listens 1080; do
	if ! kill -0 $RUN 2>/dev/null; then
		say "FAIL: make run ended: $(tail -n 5 $L/make-run.log)"
		exit 1
	fi
	n=$((n + 1))
	[ $n -lt 24000 ] || { say "FAIL: make run: no listener"; exit 1; }
	sleep 0.1
done
say "make run: listening on 127.0.0.1:1080 after $(($(date +%s) - t)) s"
mkdir -p /root/www && echo "fresh machine" >/root/www/index.html
WP=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd /root/www && exec python3 -m http.server "$WP" --bind 127.0.0.1) \
    >$L/web.log 2>&1 &
WEB=$!
n=0
until listens "$WP"; do n=$((n + 1)); [ $n -lt 100 ] || break; sleep 0.1; done
ok=1
for s in socks5h http; do
	got=$(curl -s --max-time 10 -x "$s://127.0.0.1:1080" \
	    "http://127.0.0.1:$WP/index.html")
	if [ "$got" = "fresh machine" ]; then
		say "make run: a curl through $s://127.0.0.1:1080: ok"
	else
		say "FAIL: make run: curl through $s://127.0.0.1:1080: '$got'"
		ok=0
	fi
done
kill $WEB
kill -TERM -$RUN
n=0
while kill -0 $RUN 2>/dev/null && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
kill -KILL -$RUN 2>/dev/null
wait
[ $ok = 1 ] || exit 1

say "README: make check"
t=$(date +%s)
make check >$L/make-check.log 2>&1
rc=$?
say "make check: exit $rc after $(($(date +%s) - t)) s: $(tail -n 1 $L/make-check.log)"
grep -E '^(FAIL|SKIP) ' $L/make-check.log | tee -a $L/fresh.log
[ -d build/regress-logs ] && cp -a build/regress-logs $L/
exit $rc
EOF

say "inside the root: README's commands (logs in $FRESH/)"
in_root "$ROOT" "sh /root/fresh.sh"
rc=$?
# Only a make check that ran to its end counts.
[ $rc -eq 0 ] && ! tail -n 1 "$ROOT/root/logs/make-check.log" 2>/dev/null |
    grep -q ' 0 failed' && rc=1
T2=$(date +%s)
cp -a "$ROOT/root/logs/." "$FRESH/" 2>/dev/null
echo "debootstrap $((T1 - T0)) s, inside $((T2 - T1)) s, total $((T2 - T0)) s" |
    tee "$FRESH/result"
if [ $rc -eq 0 ]; then
	say "check-fresh: ok"
else
	say "check-fresh: FAILED (exit $rc); see $FRESH/fresh.log"
fi
exit $rc
