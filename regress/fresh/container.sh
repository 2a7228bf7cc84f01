#!/bin/sh
# make check-container: a container image made without a registry.  A
# minimal Debian 12 root (the base check-fresh saved, else debootstrap
# minbase from Debian's mirror) gets the package make deb built, with
# its libraries from the mirror, and is imported into podman with ostpd
# as its entry point.  The test runs it with the host's network, a
# SOCKS5/HTTP listener on a loopback port, and proxies a curl to a local
# web server through it.  The image, the container and the root are
# removed at the end (KEEP_IMAGE=1 keeps the image, as localhost/ostpd).
# Then contrib/docker/Dockerfile is built with podman build, the same
# minimal root standing in for debian:12-slim (tagged locally, never
# pulled; RUN steps in chroot isolation), and its image is run and
# checked the same way.  Containers run with runc where it is installed
# (make check-container installs it); where no runtime can start one,
# an image is checked by running its entry point in a chroot of its
# file system instead, and the output says so.
cd "$(dirname "$0")/../.." || exit 1
. regress/fresh/lib.sh

[ "$(id -u)" -eq 0 ] || die "needs root"
command -v podman >/dev/null 2>&1 || die "podman missing"
IMG=$FRESH/image
TAG=localhost/ostpd:check-$$
NAME=ostpd-check-$$
DTAG=localhost/ostpd:dockerfile-$$
SLIM=
WEB=
mkdir -p "$FRESH"

cleanup() {
	podman rm -f -t 5 "$NAME" >/dev/null 2>&1
	if [ -n "${KEEP_IMAGE:-}" ]; then
		podman tag "$TAG" localhost/ostpd:latest >/dev/null 2>&1 &&
		    say "kept as localhost/ostpd:latest"
	fi
	podman rmi -f "$TAG" "$DTAG" >/dev/null 2>&1
	# only the stand-in this script tagged, never a real debian image
	[ -n "$SLIM" ] && podman rmi -f "$SLIM" >/dev/null 2>&1
	[ -n "$WEB" ] && kill "$WEB" 2>/dev/null
	remove_root "$IMG"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

DEB=$(ls "$BUILD"/deb/ostpd_*.deb 2>/dev/null | grep -v dbgsym | head -n 1)
[ -f "$DEB" ] || die "no package in $BUILD/deb (make deb)"

T0=$(date +%s)
if [ -f "$FRESH/base.tar" ]; then
	say "root: $FRESH/base.tar (check-fresh's debootstrap)"
	remove_root "$IMG" || exit 1
	mkdir -p "$IMG" && tar -C "$IMG" -xf "$FRESH/base.tar" ||
	    die "cannot unpack the base root"
else
	say "root: debootstrap $SUITE (minbase) from $MIRROR"
	make_root "$IMG" || die "debootstrap failed"
	tar -C "$IMG" -cf "$FRESH/base.tar" . || die "cannot save the root"
fi

say "installing $(basename "$DEB") and its libraries"
cp "$DEB" "$IMG/tmp/ostpd.deb"
# systemd-sysusers for the package's _ostpd: the standalone one.
in_root "$IMG" 'apt-get update && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends \
    systemd-standalone-sysusers /tmp/ostpd.deb &&
    apt-get clean && rm -rf /var/lib/apt/lists/* /tmp/ostpd.deb' \
    >"$FRESH/image-apt.log" 2>&1 ||
    die "installing the package failed: $(tail -n 5 "$FRESH/image-apt.log")"
# What only a chroot needed; the user the package made must be there.
rm -f "$IMG/usr/sbin/policy-rc.d"
grep -q '^_ostpd:' "$IMG/etc/passwd" || die "no _ostpd in the image"

say "podman import as $TAG"
tar -C "$IMG" -cf - . | podman import \
    --change 'ENTRYPOINT ["/usr/sbin/ostpd"]' \
    --change 'CMD ["-L", "auto://:1080"]' \
    --change 'EXPOSE 1080' - "$TAG" >"$FRESH/image-import.log" 2>&1 ||
    die "podman import failed: $(tail -n 3 "$FRESH/image-import.log")"
remove_root "$IMG"
say "image: $(podman image inspect -f '{{.Size}}' "$TAG") bytes"

free_port() {
	python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listens() { ss -ltn "sport = :$1" | grep -q LISTEN; }
wait_listen() {
	_n=0
	until listens "$1"; do
		_n=$((_n + 1)); [ $_n -lt 200 ] || return 1; sleep 0.05
	done
}

WP=$(free_port)
mkdir -p "$FRESH/www" && echo "from the container" >"$FRESH/www/index.html"
(cd "$FRESH/www" && exec python3 -m http.server "$WP" --bind 127.0.0.1) \
    >"$FRESH/image-web.log" 2>&1 &
WEB=$!
wait_listen "$WP" || die "web server did not start"

# The OCI runtime: runc where it is installed, with the container's
# limits given explicitly (this sandbox refuses crun's cgroup setup and
# any runtime's setrlimit that would raise a limit), else podman's own.
RUNTIME=
LIMITS=
if command -v runc >/dev/null 2>&1; then
	RUNTIME="--runtime runc"
	LIMITS="--ulimit nofile=8192:8192 --ulimit nproc=4096:4096"
fi

# check_image TAG: the image's entry point with another command, a
# listener on a free loopback port of the host's network, carries a
# curl as SOCKS5 and as HTTP; its monitor has a worker; it stops.
# ostpd keeps CAP_NET_ADMIN and CAP_NET_RAW where it has them
# (contrib/README.privsep); podman does not grant them by default.
check_image() {
	_pp=$(free_port)
	say "podman $RUNTIME run --network=host $LIMITS $1" \
	    "-L auto://127.0.0.1:$_pp"
	if ! podman $RUNTIME run -d --name "$NAME" --network=host $LIMITS \
	    --cap-add NET_ADMIN --cap-add NET_RAW \
	    "$1" -L "auto://127.0.0.1:$_pp" >"$FRESH/image-run.log" 2>&1; then
		if grep -q 'OCI' "$FRESH/image-run.log"; then
			say "podman cannot start containers here:" \
			    "$(tail -n 1 "$FRESH/image-run.log")"
			chroot_image "$1" "$_pp"
			return
		fi
		say "FAIL: podman run: $(tail -n 3 "$FRESH/image-run.log")"
		return 1
	fi
	_r=0
	if ! wait_listen "$_pp"; then
		say "FAIL: no listener: $(podman logs "$NAME" 2>&1 | tail -n 5)"
		_r=1
	fi
	curl_both "$_pp" || _r=1
	_m=$(podman inspect -f '{{.State.Pid}}' "$NAME" 2>/dev/null)
	if [ $_r = 0 ] && ! ps -o pid= --ppid "$_m" | grep -q .; then
		say "FAIL: the monitor in the container has no worker"
		_r=1
	fi
	podman logs "$NAME" >>"$FRESH/image-ostpd.log" 2>&1
	podman stop -t 10 "$NAME" >/dev/null 2>&1 ||
	    { say "FAIL: podman stop"; _r=1; }
	podman rm -f "$NAME" >/dev/null 2>&1
	return $_r
}

# curl_both PORT: a page through the proxy on PORT, as SOCKS5 and HTTP
curl_both() {
	for _s in socks5h http; do
		_got=$(curl -s --max-time 10 -x "$_s://127.0.0.1:$1" \
		    "http://127.0.0.1:$WP/index.html")
		if [ "$_got" = "from the container" ]; then
			say "curl through $_s://127.0.0.1:$1 (the image): ok"
		else
			say "FAIL: curl through $_s://127.0.0.1:$1: '$_got'"
			return 1
		fi
	done
}

# chroot_image TAG PORT: where no OCI runtime can start a container (a
# gVisor sandbox refuses crun's setrlimit and cgroups), the image's own
# file system, as podman mounts it for a container made from it, runs
# its entry point in a chroot with the host's network: the image's
# contents and entry point are checked, not the runtime.
chroot_image() {
	_ep=$(podman image inspect -f '{{join .Config.Entrypoint " "}}' "$1")
	[ "$_ep" = /usr/sbin/ostpd ] ||
	    { say "FAIL: entry point '$_ep'"; return 1; }
	# the container podman run made but could not start
	podman rm -f "$NAME" >/dev/null 2>&1
	podman create --name "$NAME" "$1" >/dev/null 2>&1 &&
	    _dir=$(podman mount "$NAME" 2>/dev/null) && [ -d "$_dir" ] ||
	    { say "FAIL: podman create/mount"; return 1; }
	say "chroot $_dir (the image): $_ep -D -L auto://127.0.0.1:$2"
	# its own process group, ended as one: unshare passes it on
	setsid sh -c '. regress/fresh/lib.sh; in_root "$0" "$1"' "$_dir" \
	    "exec $_ep -D -L auto://127.0.0.1:$2" \
	    >>"$FRESH/image-ostpd.log" 2>&1 &
	_bg=$!
	_r=0
	if ! wait_listen "$2"; then
		say "FAIL: no listener: $(tail -n 3 "$FRESH/image-ostpd.log")"
		_r=1
	fi
	[ $_r = 0 ] && { curl_both "$2" || _r=1; }
	kill -TERM -"$_bg" 2>/dev/null
	wait "$_bg" 2>/dev/null
	podman umount "$NAME" >/dev/null 2>&1
	podman rm -f "$NAME" >/dev/null 2>&1
	return $_r
}

rc=0
check_image "$TAG" || rc=1

# contrib/docker/Dockerfile, by podman build.  Its base debian:12-slim
# is the minimal root, tagged here unless such an image is already
# present; nothing is pulled.
SLIMTAG=docker.io/library/debian:12-slim
if ! podman image exists "$SLIMTAG"; then
	podman import "$FRESH/base.tar" "$SLIMTAG" >/dev/null 2>&1 ||
	    die "cannot tag the root as $SLIMTAG"
	SLIM=$SLIMTAG
fi
say "podman build -f contrib/docker/Dockerfile (FROM $SLIMTAG: the root)"
# the build stage's image is left untagged: removed with the others
before=$(podman images -q -a --filter dangling=true | sort)
if podman build --pull=never --isolation chroot -f contrib/docker/Dockerfile -t "$DTAG" . \
    >"$FRESH/dockerfile-build.log" 2>&1; then
	say "image: $(podman image inspect -f '{{.Size}}' "$DTAG") bytes"
	check_image "$DTAG" || rc=1
else
	say "FAIL: podman build: $(tail -n 5 "$FRESH/dockerfile-build.log")"
	rc=1
fi
for i in $(podman images -q -a --filter dangling=true | sort); do
	echo "$before" | grep -qx "$i" || podman rmi -f "$i" >/dev/null 2>&1
done
say "check-container: $([ $rc -eq 0 ] && echo ok || echo FAILED)" \
    "($(($(date +%s) - T0)) s)"
exit $rc
