# The Debian package (make deb): dpkg -i installs it and its init script
# starts the default configuration, a proxy on 127.0.0.1:1080, which
# carries a curl to a local web server; systemd-analyze accepts the
# unit; an edited conffile survives a reinstall, an upgrade (to a
# version whose default configuration changed) and dpkg -r; dpkg -r
# stops the daemon; dpkg -P removes /etc/ostpd.  The machine is left as
# it was, also on failure: the package is purged, and the user and the
# directories the package made are removed if they were not there.
. regress/lib.sh

[ "$(id -u)" -eq 0 ] || skip "needs root"
command -v dpkg-buildpackage >/dev/null 2>&1 ||
    skip "dpkg-buildpackage missing (make deps installs debhelper)"
case $(dpkg-query -W -f='${db:Status-Status}' ostpd 2>/dev/null) in
""|not-installed) ;;
*) skip "an ostpd package is installed on this machine: not touching it" ;;
esac
[ -e /etc/ostpd ] && skip "/etc/ostpd exists: not touching it"
listening 1080 && skip "port 1080 is busy (the package's default listener)"

PIDFILE=/run/ostpd.pid
CONF=/etc/ostpd/ostpd.json
had_user=$(getent passwd _ostpd >/dev/null && echo 1)
had_empty=$([ -d /var/empty ] && echo 1)
had_run=$([ -d /run/ostpd ] && echo 1)

# Containers forbid maintainer scripts to start or stop services
# (policy-rc.d exits 101).  While this runs, policy-rc.d is a wrapper
# that allows ostpd and asks the original (kept beside it) about every
# other service; the original is put back at the end.  (A mount
# namespace with another policy-rc.d for dpkg alone would leave the
# daemon started by dpkg -i in that namespace, where start-stop-daemon
# of a later dpkg -r, in another one, may not recognise its binary.)
POLICY=/usr/sbin/policy-rc.d
SAVED=$POLICY.ostp-deb-test
# Another dpkg or apt-get on the machine holds the lock for a while.
dpkg_() {
	_n=0
	while :; do
		dpkg "$@" </dev/null >"$LOGDIR/dpkg.out" 2>&1
		_r=$?
		cat "$LOGDIR/dpkg.out" >>"$LOGDIR/dpkg.log"
		grep -q 'dpkg frontend lock\|lock-frontend' "$LOGDIR/dpkg.out" ||
		    return $_r
		_n=$((_n + 1))
		[ "$_n" -lt 600 ] || return $_r
		sleep 0.5
	done
}

daemon_pid() { cat "$PIDFILE" 2>/dev/null; }
running() { _p=$(daemon_pid) && [ -n "$_p" ] && ! gone "$_p"; }
# serving PORT: a curl through the listener, as SOCKS5 and as HTTP.
serving() {
	for _s in socks5h http; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		    -x "$_s://127.0.0.1:$1" "$WEB_URL/index.html")" = 200 ] ||
		    return 1
	done
}

deb_cleanup() {
	_st=$(dpkg-query -W -f='${db:Status-Status}' ostpd 2>/dev/null)
	if [ -n "$_st" ] && [ "$_st" != not-installed ]; then
		[ -x /etc/init.d/ostpd ] && /etc/init.d/ostpd stop >/dev/null 2>&1
		dpkg_ -P ostpd || echo "cleanup: dpkg -P ostpd failed"
	fi
	# A daemon the package could not stop.
	if running; then
		kill "$(daemon_pid)"
		wait_until 5 gone "$(daemon_pid)" || kill -9 "$(daemon_pid)"
		rm -f "$PIDFILE"
	fi
	[ -n "$had_user" ] || userdel _ostpd 2>/dev/null
	[ -n "$had_empty" ] || rmdir /var/empty 2>/dev/null
	[ -n "$had_run" ] || rmdir /run/ostpd 2>/dev/null
	[ -e "$SAVED" ] && mv -f "$SAVED" "$POLICY"
}
EXTRA_CLEANUP=deb_cleanup
if [ -x "$POLICY" ]; then
	# after a run that was killed, the saved one is the original
	[ -e "$SAVED" ] || cp -p "$POLICY" "$SAVED" || fatal "cannot save $POLICY"
	cat >"$POLICY.new" <<EOF
#!/bin/sh
# regress/deb.sh is running: ostpd may start and stop.
[ "\$1" = ostpd ] && exit 0
exec $SAVED "\$@"
EOF
	chmod 755 "$POLICY.new" && mv -f "$POLICY.new" "$POLICY" ||
	    fatal "cannot replace $POLICY"
fi

# The package: built by make deb unless one newer than every tracked
# file is there.
make --no-print-directory -s deb >"$LOGDIR/make-deb.log" 2>&1 ||
    fatal "make deb failed: $(tail -5 "$LOGDIR/make-deb.log")"
DEB=$(ls "$BUILD"/deb/ostpd_*.deb 2>/dev/null | grep -v dbgsym | head -n 1)
[ -f "$DEB" ] || fatal "no package in $BUILD/deb"
VERSION=$(dpkg-deb -f "$DEB" Version)

WEB_PORT=$(free_port)
mkdir -p "$LOGDIR/www"
echo "through the package" >"$LOGDIR/www/index.html"
start_web web "$LOGDIR/www" "$WEB_PORT"
WEB_URL=http://127.0.0.1:$WEB_PORT

# 1. Installation: the maintainer scripts make the user and start the
# daemon through the init script.
dpkg_ -i "$DEB" || fatal "dpkg -i failed: $(tail -5 "$LOGDIR/dpkg.out")"
for f in /usr/sbin/ostpd /usr/bin/ostp-keygen /usr/bin/ostpctl \
    /usr/share/man/man8/ostpctl.8.gz \
    /usr/share/bash-completion/completions/ostpctl /etc/init.d/ostpd \
    /lib/systemd/system/ostpd.service /usr/lib/sysusers.d/ostpd.conf \
    /usr/lib/tmpfiles.d/ostpd.conf /usr/share/man/man8/ostpd.8.gz \
    /usr/share/man/man5/ostpd.conf.5.gz /usr/share/man/man1/ostp-keygen.1.gz \
    /usr/share/bash-completion/completions/ostpd "$CONF"; do
	[ -e "$f" ] || fail "$f not installed"
done
dpkg-query -W -f='${Conffiles}\n' ostpd | grep -q " $CONF " ||
    fail "$CONF is not a conffile"
getent passwd _ostpd >/dev/null || fail "no user _ostpd after installation"
[ -d /var/empty ] || fail "no /var/empty after installation"
/usr/sbin/ostpd -t -C "$CONF" >/dev/null || fail "$CONF is not valid"
wait_until 5 running || fail "dpkg -i did not start the daemon"
wait_port 1080 || fail "the default listener is not open"
serving 1080 || fail "no curl through the default listener"

# Bash completion, as bash-completion loads it.
BC=/usr/share/bash-completion/bash_completion
complete_() {
	bash -c '. "$0"; . /usr/share/bash-completion/completions/ostpd
	COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}; _ostpd; printf "%s\n" "${COMPREPLY[@]}"' \
	    "$BC" "$@"
}
if [ -f "$BC" ]; then
	complete_ ostpd -L socks5+w | grep -qx 'socks5+ws://' ||
	    fail "completion: no scheme after -L"
	complete_ ostpd -t -w a | grep -qx auto || fail "completion: -w"
	complete_ ostpd -b -C /etc/ostpd/ | grep -qx "$CONF" ||
	    fail "completion: no file after -C"
	complete_ ostpd -I l | grep -qx lo || fail "completion: no interface"
	[ "$(complete_ ostpd -D - | wc -l)" = 14 ] || fail "completion: options"
else
	skip_part "bash-completion not installed"
fi

# ostpctl in /usr/bin, for the desktop user's sysproxy too: root asks
# the packaged daemon; another user is refused the control socket's
# commands, and may run sysproxy as itself.
[ -e /usr/sbin/ostpctl ] && fail "ostpctl also in /usr/sbin"
[ "$(command -v ostpctl)" = /usr/bin/ostpctl ] ||
    fail "ostpctl is not found in PATH as /usr/bin/ostpctl"
wait_until 5 test -S /run/ostpd/ostpd.sock || fail "no control socket"
ostpctl status >"$LOGDIR/ctl.out" 2>&1 ||
    fail "ostpctl status: $(cat "$LOGDIR/ctl.out")"
grep -q "^ostpd [0-9.]*, pid $(daemon_pid)" "$LOGDIR/ctl.out" ||
    fail "ostpctl status: $(head -1 "$LOGDIR/ctl.out")"
if command -v setpriv >/dev/null; then
	DH=$(mktemp -d /tmp/ostp-deb-home.XXXXXX) || fatal "mktemp"
	chown nobody:nogroup "$DH"
	asnobody() {
		env -i PATH=/usr/bin:/bin HOME="$DH" setpriv --reuid=nobody \
		    --regid=nogroup --clear-groups "$@"
	}
	asnobody ostpctl status >"$LOGDIR/ctl-nobody.out" 2>&1 &&
	    fail "nobody got a status"
	grep -q "permission denied" "$LOGDIR/ctl-nobody.out" ||
	    fail "nobody: $(cat "$LOGDIR/ctl-nobody.out")"
	asnobody ostpctl stop >/dev/null 2>&1 && fail "nobody stopped the daemon"
	running || fail "the daemon stopped after nobody's ostpctl stop"
	asnobody ostpctl sysproxy status >"$LOGDIR/sysproxy.out" 2>&1 ||
	    fail "sysproxy status as nobody: $(cat "$LOGDIR/sysproxy.out")"
	rm -rf "$DH"
else
	skip_part "setpriv (util-linux) not installed"
fi

# The workers run as _ostpd in their chroot, as README.privsep says.
if running; then
	w=$(pgrep -P "$(daemon_pid)" | head -n 1)
	[ -n "$w" ] || fail "the monitor has no worker"
	[ -n "$w" ] && [ "$(stat -c %U "/proc/$w")" != _ostpd ] &&
	    fail "the worker does not run as _ostpd"
	[ -n "$w" ] && [ "$(readlink "/proc/$w/root")" != /var/empty ] &&
	    fail "the worker is not chrooted to /var/empty"
fi

# 2. The init script: stop, start (as service(8) does), status, reload.
/etc/init.d/ostpd stop >"$LOGDIR/init.out" 2>&1 ||
    fail "init script stop: $(cat "$LOGDIR/init.out")"
running && fail "still running after the init script's stop"
listening 1080 && fail "port 1080 still open after stop"
/etc/init.d/ostpd status >/dev/null 2>&1 && fail "status 0 while stopped"
service ostpd start >"$LOGDIR/init.out" 2>&1 ||
    fail "service ostpd start: $(cat "$LOGDIR/init.out")"
wait_port 1080 || fail "not listening after service ostpd start"
serving 1080 || fail "no curl after service ostpd start"
/etc/init.d/ostpd status >/dev/null 2>&1 || fail "status not 0 while running"
p1=$(daemon_pid)
/etc/init.d/ostpd reload >"$LOGDIR/init.out" 2>&1 ||
    fail "init script reload: $(cat "$LOGDIR/init.out")"
[ "$(daemon_pid)" = "$p1" ] || fail "reload replaced the monitor"
serving 1080 || fail "no curl after reload"

# 3. systemd-analyze verify (no systemd as PID 1 needed).
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify /lib/systemd/system/ostpd.service \
	    >"$LOGDIR/verify.out" 2>&1 ||
	    fail "systemd-analyze verify: $(cat "$LOGDIR/verify.out")"
	# It warns without failing about some mistakes; none is expected.
	grep -q ostpd.service "$LOGDIR/verify.out" &&
	    fail "systemd-analyze verify: $(cat "$LOGDIR/verify.out")"
else
	skip_part "systemd-analyze not installed (package systemd)"
fi

# 4. An edited conffile: another port; kept by a reinstall of the same
# version.
P2=$(free_port)
sed -i "s/127\\.0\\.0\\.1:1080/127.0.0.1:$P2/" "$CONF"
grep -q ":$P2" "$CONF" || fatal "could not edit $CONF"
/etc/init.d/ostpd restart >"$LOGDIR/init.out" 2>&1 ||
    fail "init script restart: $(cat "$LOGDIR/init.out")"
wait_port "$P2" || fail "the edited configuration is not in use"
dpkg_ -i "$DEB" || fail "reinstall failed: $(tail -5 "$LOGDIR/dpkg.out")"
grep -q ":$P2" "$CONF" || fail "a reinstall replaced the edited $CONF"
wait_port "$P2" && serving "$P2" || fail "not serving after a reinstall"

# 5. An upgrade to a version whose default configuration changed: the
# package as built, repacked with a higher version and another default
# (dpkg decides what to do with a conffile from its checksums alone;
# DEBIAN/md5sums does not list conffiles).
# The edited file stays, the new default lands beside it, and the
# daemon runs again, as the new binary.
UP=$LOGDIR/up
dpkg-deb -R "$DEB" "$UP" || fatal "dpkg-deb -R failed"
sed -i "s/^Version: .*/Version: $VERSION+debtest1/" "$UP/DEBIAN/control"
sed -i 's/"level": "info"/"level": "verbose"/' "$UP$CONF"
dpkg-deb --root-owner-group -b "$UP" "$LOGDIR/ostpd-up.deb" \
    >/dev/null || fatal "dpkg-deb -b failed"
p1=$(daemon_pid)
dpkg_ --force-confdef --force-confold -i "$LOGDIR/ostpd-up.deb" ||
    fail "upgrade failed: $(tail -5 "$LOGDIR/dpkg.out")"
[ "$(dpkg-query -W -f='${Version}' ostpd)" = "$VERSION+debtest1" ] ||
    fail "not upgraded"
grep -q ":$P2" "$CONF" || fail "the upgrade replaced the edited $CONF"
grep -q '"verbose"' "$CONF.dpkg-dist" 2>/dev/null ||
    fail "the upgrade did not leave the new default as $CONF.dpkg-dist"
wait_until 5 running && [ "$(daemon_pid)" != "$p1" ] ||
    fail "the daemon was not restarted by the upgrade"
wait_port "$P2" && serving "$P2" || fail "not serving after the upgrade"
rm -f "$CONF.dpkg-dist"

# 6. dpkg -r stops the daemon, removes the programs, keeps the
# configuration; installing the same version again then finds the
# edited file.
p1=$(daemon_pid)
dpkg_ -r ostpd || fail "dpkg -r failed: $(tail -5 "$LOGDIR/dpkg.out")"
[ -n "$p1" ] && ! wait_gone "$p1" && fail "dpkg -r did not stop the daemon"
listening "$P2" && fail "port $P2 still open after dpkg -r"
[ -e /usr/sbin/ostpd ] && fail "/usr/sbin/ostpd left after dpkg -r"
[ -e /usr/bin/ostpctl ] && fail "/usr/bin/ostpctl left after dpkg -r"
grep -q ":$P2" "$CONF" 2>/dev/null || fail "dpkg -r removed the edited $CONF"
dpkg_ -i "$LOGDIR/ostpd-up.deb" ||
    fail "install after remove failed: $(tail -5 "$LOGDIR/dpkg.out")"
grep -q ":$P2" "$CONF" || fail "install after remove replaced $CONF"
wait_port "$P2" && serving "$P2" || fail "not serving after install again"

# 7. dpkg -P: everything of the package's goes, /etc/ostpd included.
dpkg_ -r ostpd || fail "dpkg -r failed"
dpkg_ -P ostpd || fail "dpkg -P failed: $(tail -5 "$LOGDIR/dpkg.out")"
[ -e /etc/ostpd ] && fail "/etc/ostpd left after dpkg -P: $(ls -A /etc/ostpd)"
[ -e /etc/default/ostpd ] && fail "/etc/default/ostpd left after dpkg -P"
ls /etc/rc?.d/*ostpd >/dev/null 2>&1 && fail "rc.d links left after dpkg -P"
[ -e /etc/systemd/system/multi-user.target.wants/ostpd.service ] &&
    fail "the unit is still enabled after dpkg -P"
running && fail "a daemon is running after dpkg -P"
finish
