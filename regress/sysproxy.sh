# ostpctl sysproxy, run as an unprivileged desktop user with a home of
# its own: GNOME's settings (gsettings, keyfile backend: no dconf, no
# D-Bus) and KDE's kioslaverc are pointed at the proxy and put back as
# they were; the proxy serves a PAC file naming itself; "on -w" puts the
# settings back when the daemon stops.  KDE's file is written through
# kwriteconfig5 (libkf5config-bin) and, on a desktop without it, by
# ostpctl itself; either way KConfig (kreadconfig5) must read the proxy
# from it, and the user's own values after "off".
. regress/lib.sh
command -v gsettings >/dev/null || skip "gsettings (libglib2.0-bin) not installed"
gsettings list-schemas 2>/dev/null | grep -qx org.gnome.system.proxy ||
	skip "schema org.gnome.system.proxy (gsettings-desktop-schemas) not installed"
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"

CTLBIN=$PWD/$BUILD/ostpctl
# the desktop user's home: not under the clone, which may sit in a home
# only root may enter (/root on a fresh Debian)
H=$(mktemp -d /tmp/ostp-sysproxy.XXXXXX) || fatal "mktemp"
EXTRA_CLEANUP="rm -rf '$H'"
chmod 755 "$H"
# a copy the desktop user may run wherever the clone is
cp "$CTLBIN" "$H/ostpctl" && chmod 755 "$H/ostpctl" || fatal "cp"
CTLBIN=$H/ostpctl
mkdir -p "$H/.config"
chown -R nobody:nogroup "$H"
# as the desktop user: its own home, GNOME's keyfile backend
user() {
	env -i PATH="${UPATH:-$PATH}" HOME="$H" XDG_CONFIG_HOME="$H/.config" \
	    XDG_STATE_HOME="$H/.local/state" GSETTINGS_BACKEND=keyfile \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
gs() { user gsettings get "$@"; }
kde() { grep -x -- "$1" "$H/.config/kioslaverc" >/dev/null; }
# kread KEY VALUE: what KDE reads for KEY of [Proxy Settings] ("" absent)
command -v kreadconfig5 >/dev/null ||
	skip "kreadconfig5 (libkf5config-bin) not installed"
kread() {
	_kv=$(UPATH= user kreadconfig5 --file kioslaverc \
	    --group "Proxy Settings" --key "$1")
	[ "$_kv" = "$2" ] || fail "KDE reads $1=\"$_kv\", want \"$2\" ($3)"
}

P=$(free_port); W=$(free_port)
mkdir -p "$LOGDIR/www"
echo hello >"$LOGDIR/www/index.html"
start_web web "$LOGDIR/www" "$W"
start_ostpd sysproxy -S "$LOGDIR/ctl.sock" -L "auto://127.0.0.1:$P"
wait_port "$P" || fatal "no listener"

# the settings before: a proxy of the user's own
user gsettings set org.gnome.system.proxy mode "'manual'"
user gsettings set org.gnome.system.proxy.http host "'old.example'"
user gsettings set org.gnome.system.proxy.http port 3128
user sh -c "printf '[Proxy Settings]\nProxyType=0\nhttpProxy=http://old.example 3128\nNoProxyFor=localhost\n\n[Other]\nx=1\n' >'$H/.config/kioslaverc'"
cp "$H/.config/kioslaverc" "$LOGDIR/kioslaverc.before"

user "$CTLBIN" sysproxy on "socks5://127.0.0.1:$P" >"$LOGDIR/on.out" 2>&1 ||
	fail "on: $(cat "$LOGDIR/on.out")"
[ "$(gs org.gnome.system.proxy mode)" = "'manual'" ] || fail "gnome mode"
[ "$(gs org.gnome.system.proxy.socks host)" = "'127.0.0.1'" ] ||
	fail "gnome socks host: $(gs org.gnome.system.proxy.socks host)"
[ "$(gs org.gnome.system.proxy.socks port)" = "$P" ] || fail "gnome socks port"
[ "$(gs org.gnome.system.proxy.http host)" = "''" ] || fail "gnome http host kept"
kde "ProxyType=1" || fail "kde ProxyType"
kde "socksProxy=socks://127.0.0.1 $P" || fail "kde socksProxy"
kde "httpProxy=.*" && fail "kde httpProxy kept"
kde "NoProxyFor=localhost" || fail "kde: another key lost"
kde "x=1" || fail "kde: another group lost"
kread ProxyType 1 "on"
kread socksProxy "socks://127.0.0.1 $P" "on"
kread httpProxy "" "on"
kread NoProxyFor localhost "on"
S=$H/.local/state/ostpctl/sysproxy
[ "$(stat -c %a "$S")" = 600 ] || fail "saved file mode"
[ "$(stat -c %U "$S")" = nobody ] || fail "saved file owner"
cp "$S" "$LOGDIR/saved"

# a second "on" keeps the first one's saved values
user "$CTLBIN" sysproxy on "http://127.0.0.1:$P" >/dev/null 2>&1 || fail "on http"
cmp -s "$S" "$LOGDIR/saved" || fail "second on changed the saved values"
[ "$(gs org.gnome.system.proxy.https port)" = "$P" ] || fail "gnome https port"
kde "httpsProxy=http://127.0.0.1 $P" || fail "kde httpsProxy"

user "$CTLBIN" sysproxy off >"$LOGDIR/off.out" 2>&1 || fail "off: $(cat "$LOGDIR/off.out")"
[ "$(gs org.gnome.system.proxy.http host)" = "'old.example'" ] ||
	fail "gnome http host not restored"
[ "$(gs org.gnome.system.proxy.http port)" = 3128 ] || fail "gnome http port not restored"
[ "$(gs org.gnome.system.proxy.socks host)" = "''" ] || fail "gnome socks host not restored"
[ "$(gs org.gnome.system.proxy mode)" = "'manual'" ] || fail "gnome mode not restored"
kde "ProxyType=0" || fail "kde ProxyType not restored"
kde "httpProxy=http://old.example 3128" || fail "kde httpProxy not restored"
kde "socksProxy=.*" && fail "kde socksProxy left"
kde "httpsProxy=.*" && fail "kde httpsProxy left"
[ -e "$S" ] && fail "saved file left"
kread ProxyType 0 "off"
kread httpProxy "http://old.example 3128" "off"
kread socksProxy "" "off"
kread httpsProxy "" "off"
user "$CTLBIN" sysproxy off >"$LOGDIR/off2.out" 2>&1 && fail "a second off succeeded"
grep -q "nothing to restore" "$LOGDIR/off2.out" || fail "off2: $(cat "$LOGDIR/off2.out")"

# the PAC file of the auto listener names it, for HTTP and SOCKS5
curl -s "http://127.0.0.1:$P/proxy.pac" >"$LOGDIR/proxy.pac" || fail "no PAC file"
grep -q "return \"PROXY 127.0.0.1:$P; SOCKS5 127.0.0.1:$P\";" "$LOGDIR/proxy.pac" ||
	fail "PAC: $(cat "$LOGDIR/proxy.pac")"
grep -q "^function FindProxyForURL(url, host) {" "$LOGDIR/proxy.pac" || fail "PAC function"
# and the proxy still serves
assert_serving "http://127.0.0.1:$P" "http://127.0.0.1:$W/index.html"
user "$CTLBIN" sysproxy on "http://127.0.0.1:$P/proxy.pac" >/dev/null 2>&1 || fail "on PAC"
[ "$(gs org.gnome.system.proxy mode)" = "'auto'" ] || fail "gnome mode auto"
[ "$(gs org.gnome.system.proxy autoconfig-url)" = "'http://127.0.0.1:$P/proxy.pac'" ] ||
	fail "gnome autoconfig-url"
kde "ProxyType=2" || fail "kde ProxyType 2"
kde "Proxy Config Script=http://127.0.0.1:$P/proxy.pac" || fail "kde PAC URL"
user "$CTLBIN" sysproxy off >/dev/null 2>&1 || fail "off after PAC"
# the same lines (a key put back may move within its group)
sort "$LOGDIR/kioslaverc.before" >"$LOGDIR/k1"
sort "$H/.config/kioslaverc" >"$LOGDIR/k2"
cmp -s "$LOGDIR/k1" "$LOGDIR/k2" ||
	fail "kioslaverc differs after on and off: $(diff "$LOGDIR/k1" "$LOGDIR/k2")"

# a desktop without kwriteconfig5: ostpctl edits kioslaverc itself (the
# file as KConfig last wrote it), and KDE reads the proxy, then the
# user's values again
mkdir -p "$H/bin"
for t in gsettings setpriv sh; do
	ln -sf "$(command -v $t)" "$H/bin/$t" || fatal "no $t"
done
UPATH=$H/bin user "$CTLBIN" sysproxy on "http://127.0.0.1:$P" \
    >"$LOGDIR/on-file.out" 2>&1 || fail "on (file): $(cat "$LOGDIR/on-file.out")"
kread ProxyType 1 "on, by ostpctl"
kread httpProxy "http://127.0.0.1 $P" "on, by ostpctl"
kread httpsProxy "http://127.0.0.1 $P" "on, by ostpctl"
kread NoProxyFor localhost "on, by ostpctl"
UPATH=$H/bin user "$CTLBIN" sysproxy off >"$LOGDIR/off-file.out" 2>&1 ||
	fail "off (file): $(cat "$LOGDIR/off-file.out")"
kread ProxyType 0 "off, by ostpctl"
kread httpProxy "http://old.example 3128" "off, by ostpctl"
kread httpsProxy "" "off, by ostpctl"
[ "$(UPATH= user kreadconfig5 --file kioslaverc --group Other --key x)" = 1 ] ||
	fail "KDE: another group lost (file)"

# bad arguments: one line
user "$CTLBIN" sysproxy on "ftp://x:1" >"$LOGDIR/bad.out" 2>&1 && fail "ftp:// accepted"
[ "$(wc -l <"$LOGDIR/bad.out")" = 1 ] || fail "bad URL: $(cat "$LOGDIR/bad.out")"

# on -w: back to the user's settings when the daemon stops
user "$CTLBIN" sysproxy on -w "socks5://127.0.0.1:$P" >"$LOGDIR/watch.out" 2>&1 &
WPID=$!
PIDS="$PIDS $WPID"
_set() { [ "$(gs org.gnome.system.proxy.socks port)" = "$P" ]; }
wait_until 5 _set || fail "on -w did not set the proxy"
kill "$OPID"
wait_gone "$OPID" || fail "daemon did not stop"
wait_gone "$WPID" 15 || fail "on -w did not end when the proxy stopped"
[ "$(gs org.gnome.system.proxy.http host)" = "'old.example'" ] ||
	fail "on -w: gnome not restored"
kde "httpProxy=http://old.example 3128" || fail "on -w: kde not restored"
kread ProxyType 0 "after the daemon stopped"
kread socksProxy "" "after the daemon stopped"
grep -q "stopped answering" "$LOGDIR/watch.out" || fail "watch: $(cat "$LOGDIR/watch.out")"
finish
