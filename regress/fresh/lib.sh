# Shared by check-fresh.sh and container.sh: a minimal Debian 12 root
# made with debootstrap from Debian's mirror, and commands run inside it
# in mount and PID namespaces of their own, so that every mount and
# every process is gone when they end, however they end.

: "${BUILD:=build}"
FRESH=$PWD/$BUILD/fresh
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

say() { echo "$(date -u +%H:%M:%S) $*"; }
die() { say "FAIL: $*"; exit 1; }

# mounted_under DIR: something is mounted at or below DIR (then it must
# not be removed: a bind mount of /dev below it would be emptied too).
mounted_under() {
	findmnt -rn -o TARGET | grep -q "^$1\(/\|\$\)"
}

# remove_root DIR
remove_root() {
	[ -d "$1" ] || return 0
	if mounted_under "$1"; then
		say "not removing $1: still mounted: $(findmnt -rn -o TARGET |
		    grep "^$1" | tr '\n' ' ')"
		return 1
	fi
	rm -rf "$1"
}

# make_root DIR: debootstrap's minbase (essential packages, apt) of
# Debian 12.  A real installation also has /etc/hosts, which
# debootstrap does not write, with the machine's name on 127.0.1.1 as
# the installer puts it; the root shares this machine's name.  (Without
# it python's http.server, which looks its host's name up when it
# starts, waits for DNS in the tests' namespaces that have a default
# route.)
make_root() {
	remove_root "$1" || return 1
	mkdir -p "$1"
	debootstrap --variant=minbase "$SUITE" "$1" "$MIRROR" \
	    >"$FRESH/debootstrap-$(basename "$1").log" 2>&1 || {
		tail -5 "$FRESH/debootstrap-$(basename "$1").log"
		return 1
	}
	[ -s "$1/etc/hosts" ] || printf '%s\n' \
	    '127.0.0.1	localhost' \
	    "127.0.1.1	$(hostname)" \
	    '::1		localhost ip6-localhost ip6-loopback' \
	    >"$1/etc/hosts"
	# As in Debian's container images: maintainer scripts do not start
	# services in a root that is not running its own init.  Without
	# it, make deps would start squid, dante, unbound ... on the host's
	# network, from inside the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
	chmod 755 "$1/usr/sbin/policy-rc.d"
}

# in_root DIR COMMAND: COMMAND (a shell command line) as root inside
# DIR, with /proc, /sys, /dev (and /dev/pts, /dev/shm, /dev/net/tun
# under it) and a fresh /run.  The mounts live in a private mount
# namespace and the processes in a PID namespace: when COMMAND ends,
# or this is killed, the kernel ends every process it left and drops
# every mount.
in_root() {
	unshare --mount --propagation private --pid --fork --kill-child \
	    sh -c '
	r=$0
	# / a mount point, as on a real machine: ip netns exec and unshare
	# --propagation change the propagation of /, which only a mount has.
	mount --bind "$r" "$r" &&
	mount -t proc proc "$r/proc" &&
	mount --rbind /sys "$r/sys" &&
	mount --rbind /dev "$r/dev" &&
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$r/run" || exit 1
	# the root has no init: the few /run entries it would make
	mkdir -p "$r/run/lock" "$r/run/user"
	exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    LANG=C.UTF-8 /bin/sh -c "$1"' "$1" "$2"
}
