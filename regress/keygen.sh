# ostp-keygen: keys are 32 lowercase hex characters and differ between
# runs; the printed server, JSON and client lines carry the key; the
# share link percent-encodes (a path with '/' and spaces, a name, an
# odd -k key), brackets an IPv6 host and says uot when TLS or a path
# asks for it; every bad option exits 1 with one line on stderr.
. regress/lib.sh

KG=$PWD/$BUILD/ostp-keygen
[ -x "$KG" ] || fatal "$KG is not built"

k1=$("$KG" -q) || fail "-q failed"
k2=$("$KG" -q) || fail "-q failed"
echo "$k1" | grep -qxE '[0-9a-f]{32}' || fail "not 32 lowercase hex: $k1"
echo "$k2" | grep -qxE '[0-9a-f]{32}' || fail "not 32 lowercase hex: $k2"
[ "$k1" != "$k2" ] || fail "two runs gave the same key $k1"

# the default output: every line carries the generated key
"$KG" >"$LOGDIR/default.out" 2>"$LOGDIR/default.err" || fail "no options: exit $?"
[ -s "$LOGDIR/default.err" ] && fail "no options: stderr: $(cat "$LOGDIR/default.err")"
k=$(sed -n '2p' "$LOGDIR/default.out")
echo "$k" | grep -qxE '[0-9a-f]{32}' || fail "default: no key on line 2: $k"
for l in "ostpd -L ostp://$k@:50000" \
    "{\"type\": \"ostp\", \"listen\": \":50000\", \"access_keys\": [\"$k\"]}" \
    "ostpd -L auto://127.0.0.1:1088 -F 'ostp://$k@SERVER-ADDRESS:50000?type=udp'" \
    "ostp://$k@SERVER-ADDRESS:50000?type=udp"; do
	grep -qxF "$l" "$LOGDIR/default.out" || fail "default: no line: $l"
done
grep -q 'replace SERVER-ADDRESS' "$LOGDIR/default.out" ||
    fail "default: the placeholder is not explained"
# the JSON inbound is JSON
grep '^{' "$LOGDIR/default.out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["type"] == "ostp" and d["listen"] == ":50000"' ||
    fail "the inbound line is not the JSON it should be"

K=0123456789abcdef0123456789abcdef
link() { "$KG" "$@" | tail -n 1; }
want="ostp://$K@[2001:db8::1]:443?type=uot&tls=1&sni=cdn.example&path=%2Fmy%20secret%2Fws&name=My%20Box"
got=$(link -k "$K" -H 2001:db8::1 -p 443 -T -s cdn.example -w '/my secret/ws' -n 'My Box')
[ "$got" = "$want" ] || fail "link: $got, want $want"
# and a URL parser reads back what was given
python3 -c 'import sys, urllib.parse as u
r = u.urlsplit(sys.argv[1]); q = u.parse_qs(r.query)
assert r.scheme == "ostp" and r.hostname == "2001:db8::1" and r.port == 443
assert u.unquote(r.username) == sys.argv[2]
assert q["path"] == ["/my secret/ws"] and q["name"] == ["My Box"], q
assert q["type"] == ["uot"] and q["tls"] == ["1"] and q["sni"] == ["cdn.example"]
' "$got" "$K" 2>"$LOGDIR/urlparse.err" || fail "link does not parse back: $(cat "$LOGDIR/urlparse.err")"
got=$(link -k "$K" -H '[2001:db8::1]' -t uot)
[ "$got" = "ostp://$K@[2001:db8::1]:50000?type=uot" ] || fail "bracketed -H: $got"
got=$(link -k "$K" -H 192.0.2.1 -w /p)
[ "$got" = "ostp://$K@192.0.2.1:50000?type=uot&path=%2Fp" ] || fail "-w implies uot: $got"
# a key with URL and JSON specials is encoded, never cut
"$KG" -k 'a b:c/d"e%f' -H h.example >"$LOGDIR/odd.out" || fail "odd key: exit $?"
grep -qxF 'ostp://a%20b%3Ac%2Fd%22e%25f@h.example:50000?type=udp' "$LOGDIR/odd.out" ||
    fail "odd key link: $(tail -n 1 "$LOGDIR/odd.out")"
grep -qF '"access_keys": ["a b:c/d\"e%f"]' "$LOGDIR/odd.out" ||
    fail "odd key JSON: $(grep access_keys "$LOGDIR/odd.out")"
# the client line's -F is the link without the name
grep -qxF "ostpd -L auto://127.0.0.1:1088 -F 'ostp://$K@h.example:50000?type=udp'" \
    <<E || fail "client line: $("$KG" -k "$K" -H h.example -n N | grep -- -F)"
$("$KG" -k "$K" -H h.example -n N)
E

# bad options: exit 1, exactly one line on stderr, nothing on stdout
bad() {
	"$KG" "$@" >"$LOGDIR/bad.out" 2>"$LOGDIR/bad.err"
	_rc=$?
	[ "$_rc" -eq 1 ] || fail "ostp-keygen $*: exit $_rc, want 1"
	[ "$(wc -l <"$LOGDIR/bad.err")" -eq 1 ] ||
	    fail "ostp-keygen $*: stderr: $(cat "$LOGDIR/bad.err")"
	[ -s "$LOGDIR/bad.out" ] && fail "ostp-keygen $*: wrote to stdout"
	grep -q '^ostp-keygen: ' "$LOGDIR/bad.err" ||
	    fail "ostp-keygen $*: $(cat "$LOGDIR/bad.err")"
}
bad -x
bad -p
bad -p 0
bad -p 65536
bad -p 12ab
bad -t tcp
bad -k ''
bad -k 'a@b'
bad -k "$(printf 'a\tb')"
bad -k "$(head -c 513 /dev/zero | tr '\0' a)"
bad -H 'host.example:443'
bad -H 'bad host'
bad -H '[not:v6]'
bad -w nopath
bad -t udp -T
bad -t udp -w /p
bad -s sni.example
bad extra
"$KG" -k "$(head -c 512 /dev/zero | tr '\0' a)" -q >/dev/null || fail "a 512-byte key was refused"
finish
