# make install honours DESTDIR, prefix and sysconfdir; the shipped docs
# and scripts are well-formed.
. regress/lib.sh

D=$LOGDIR/destdir
make --no-print-directory -s install DESTDIR="$D" prefix=/opt/ostp sysconfdir=/etc/ostp-test BUILD="$BUILD" \
	>"$LOGDIR/install.out" 2>&1 || fail "make install failed"
[ -x "$D/opt/ostp/sbin/ostpd" ] || fail "ostpd not in DESTDIR/prefix/sbin"
[ -f "$D/opt/ostp/share/man/man8/ostpd.8" ] || fail "man page not installed"
[ -f "$D/opt/ostp/share/man/man5/ostpd.conf.5" ] || fail "ostpd.conf.5 not installed"
[ -f "$D/opt/ostp/share/man/man1/ostp-keygen.1" ] || fail "ostp-keygen.1 not installed"
"$D/opt/ostp/bin/ostp-keygen" -q | grep -qxE '[0-9a-f]{32}' || fail "ostp-keygen not in DESTDIR/prefix/bin or not working"
[ -f "$D/etc/ostp-test/ostpd/ostpd.json.example" ] || fail "example config not in sysconfdir"
"$D/opt/ostp/sbin/ostpd" -V >/dev/null || fail "installed binary does not run"
"$D/opt/ostp/bin/ostpctl" -h | grep -q '^usage: ostpctl' || fail "ostpctl not in DESTDIR/prefix/bin"
[ -f "$D/opt/ostp/share/man/man8/ostpctl.8" ] || fail "ostpctl.8 not installed"
[ -f "$D/opt/ostp/share/bash-completion/completions/ostpctl" ] || fail "ostpctl completion not installed"

mandoc -T lint -W warning man/ostpd.8 man/ostpd.conf.5 man/ostp-keygen.1 man/ostpctl.8 >"$LOGDIR/mandoc.out" 2>&1 || {
	# cross references to pages not installed here are fine
	grep -v -E 'referenced manual not found|STYLE: ' "$LOGDIR/mandoc.out" | grep -q . &&
	    fail "man pages: $(cat "$LOGDIR/mandoc.out")"
}
sh -n contrib/ostpd.init || fail "contrib/ostpd.init does not parse"
bash -n contrib/bash-completion/ostpctl || fail "contrib/bash-completion/ostpctl does not parse"
python3 -c 'import json,sys; json.load(open("contrib/ostpd.json"))' || fail "contrib/ostpd.json is not JSON"
"$OSTPD" -t -C contrib/ostpd.json || fail "contrib/ostpd.json is not a valid configuration"
grep -q '^Type=notify' contrib/ostpd.service || fail "unit is not Type=notify"
finish
