# OSTP configuration front ends (spec/ostp.md §4, §6): a server's keys=
# file, the native ostp inbound and outbound, OSTP 0.4 server and client
# files.  -t accepts every form and refuses mistakes with one line; a
# client with the second key of a three-key file fetches a page through a
# server started from each form, and a 0.4 client file drives the
# client side against a URL-configured server.
. regress/lib.sh

# a configuration -t must refuse with one line containing TEXT
refuses() {	# refuses NAME TEXT ARGS...
	_n=$1; _t=$2; shift 2
	_out=$("$OSTPD" -t "$@" 2>&1 >/dev/null); _rc=$?
	if [ $_rc -eq 0 ]; then
		fail "$_n: -t accepted it"
	elif [ "$(printf '%s\n' "$_out" | wc -l)" -ne 1 ]; then
		fail "$_n: not one line: $_out"
	elif ! printf '%s' "$_out" | grep -qF -- "$_t"; then
		fail "$_n: \"$_out\" lacks \"$_t\""
	fi
}
accepts() {	# accepts NAME ARGS...
	_n=$1; shift
	"$OSTPD" -T "$@" >"$LOGDIR/$_n.t" 2>"$LOGDIR/$_n.err" ||
		fail "$_n: -t refused it: $(cat "$LOGDIR/$_n.err")"
	# the printed configuration is what a worker gets: it must round-trip
	"$OSTPD" -T -C "$LOGDIR/$_n.t" >"$LOGDIR/$_n.t2" 2>&1 &&
	    cmp -s "$LOGDIR/$_n.t" "$LOGDIR/$_n.t2" ||
		fail "$_n: the printed configuration does not round-trip"
}

K1=alice-0123456789abcdef
K2='bob-0123456789/+=%&?#:@x'	# URL-unfriendly on purpose
K3=carol-0123456789abcdef
KU=root-0123456789abcdef
KEYS=$LOGDIR/keys.txt
cat >"$KEYS" <<EOK
# three users
$K1 name=alice limit=10G

$K2 name=bob
$K3
EOK
printf '["%s", {"access_key": "%s", "name": "bob", "limit_bytes": 1048576}]\n' \
    "$K1" "$K3" >"$LOGDIR/keys.json"
# the client's share link: the key percent-encoded
K2URL=$(printf '%s' "$K2" | sed 's/%/%25/g; s|/|%2F|g; s/+/%2B/g; s/=/%3D/g;
    s/&/%26/g; s/?/%3F/g; s/#/%23/g; s/:/%3A/g; s/@/%40/g')

# -t: good configurations of every form
accepts url-keys -L "ostp://$KU@:50000?keys=$KEYS&name=root"
grep -q '"file_keys"' "$LOGDIR/url-keys.t" &&
    grep -q '"name": "bob"' "$LOGDIR/url-keys.t" ||
	fail "the printed configuration lacks the file's keys"
accepts url-keysonly -L "ostp://:50000?keys=$KEYS"
accepts url-keysjson -L "ostp://:50000?keys=$LOGDIR/keys.json"
(cd "$LOGDIR" && "$OSTPD" -T -L "ostp://:50000?keys=keys.txt") |
    grep -q "keys=$LOGDIR/keys.txt" ||
	fail "a relative keys= path is not made absolute"
accepts url-client -L auto://127.0.0.1:1080 \
    -F "ostp://$K2URL@127.0.0.1:50000?type=udp&mux=2&mtu=1200"
cat >"$LOGDIR/native.json" <<EOF2
{"inbounds": [{"type": "ostp", "tag": "srv", "listen": "127.0.0.1:50000",
  "access_keys": ["$KU", {"access_key": "k2x", "name": "x",
  "limit_bytes": 1000000}], "keys_file": "$KEYS", "mtu": 1350,
  "max_sessions": 1024, "max_sessions_key": 32, "max_flows": 4096,
  "local_access": false}]}
EOF2
accepts native-in -C "$LOGDIR/native.json"
cat >"$LOGDIR/native-out.json" <<EOF2
{"inbounds": [{"type": "local_proxy", "listen": "127.0.0.1:1080"}],
 "outbounds": [{"type": "ostp", "tag": "tunnel", "server": "127.0.0.1:50000",
  "access_key": "$K1", "transport": {"mode": "udp"},
  "mux": {"enabled": true, "sessions": 2}, "mtu": 1140},
  {"type": "direct", "tag": "direct"}],
 "routing": {"default_outbound": "tunnel"}}
EOF2
accepts native-out -C "$LOGDIR/native-out.json"
cat >"$LOGDIR/native-turn.json" <<EOF2
{"inbounds": [{"type": "local_proxy", "listen": "127.0.0.1:1080"}],
 "outbounds": [{"type": "ostp", "tag": "tunnel", "server": "127.0.0.1:50000",
  "access_key": "$K1", "stun": "127.0.0.1:3478",
  "turn": {"server": "127.0.0.1:3479", "username": "u", "password": "p w"}}],
 "routing": {"default_outbound": "tunnel"}}
EOF2
accepts native-turn -C "$LOGDIR/native-turn.json"
grep -q 'turn=127.0.0.1:3479' "$LOGDIR/native-turn.t" &&
    grep -q 'stun=127.0.0.1:3478' "$LOGDIR/native-turn.t" ||
	fail "native turn/stun: not in the printed configuration"
printf '{"outbounds": [{"type": "ostp", "tag": "o", "server": "h:1", "access_key": "k", "turn": "127.0.0.1:1"}], "inbounds": ["socks5://:1"]}' \
    >"$LOGDIR/badturn.json"
refuses native-turn-bad 'turn must be an object with "server" (ip:port)' \
    -C "$LOGDIR/badturn.json"
refuses url-turn-user 'turn= needs turn_user=' -L auto://127.0.0.1:1080 \
    -F "ostp://$K1@127.0.0.1:50000?turn=127.0.0.1:3478"
cat >"$LOGDIR/srv04.json" <<EOF2
{
  // an OSTP 0.4 server file
  "mode": "server",
  "listen": ["127.0.0.1:50000", "127.0.0.1:50001"],
  "access_keys": ["$K1", {"access_key": "$K2", "name": "bob"},
                  {"access_key": "$K3", "name": "carol", "limit_bytes": 5}],
  "debug": false, "domain": "vpn.example.org",
  "api": {"enabled": false}, "tls": {"enabled": false},
  "transport": {"mode": "udp"}, "local_access": true
}
EOF2
accepts srv04 -C "$LOGDIR/srv04.json"
cat >"$LOGDIR/cli04.json" <<EOF2
{
  "mode": "client", // 0.4's flat client file
  "server": "127.0.0.1:50000", "access_key": "$K2", "mtu": 1140,
  "socks5_bind": "127.0.0.1:1088",
  "tun": {"enable": false}, "debug": true,
  "exclude": {"domains": [".lan"], "ips": ["10.0.0.0/8"], "processes": []},
  "mux": {"enabled": true, "sessions": 2},
  "transport": {"mode": "udp", "tcp_fragmentation": false, "junk_pc": [2, 5]}
}
EOF2
accepts cli04 -C "$LOGDIR/cli04.json"
grep -q '"ip_cidr"' "$LOGDIR/cli04.t" &&
    grep -q '"default_outbound": "ostp"' "$LOGDIR/cli04.t" ||
	fail "0.4 client: exclusions or the default outbound are missing"

# -t: mistakes, each with its one line
printf 'k1\nk\001x\n' >"$LOGDIR/ctl.txt"
refuses ctl "ctl.txt:2: the key has a control character" \
    -L "ostp://:50000?keys=$LOGDIR/ctl.txt"
printf 'k1\n# c\nk1 name=b\n' >"$LOGDIR/dupk.txt"
refuses dupkey "dupk.txt:3: the key is given twice (first on line 1)" \
    -L "ostp://:50000?keys=$LOGDIR/dupk.txt"
printf 'k1 name=a\nk2 name=a\n' >"$LOGDIR/dupn.txt"
refuses dupname "dupn.txt:2: the name \"a\" is given twice" \
    -L "ostp://:50000?keys=$LOGDIR/dupn.txt"
printf 'k1 limit=5X\n' >"$LOGDIR/lim.txt"
refuses limit "lim.txt:1: bad limit \"5X\"" \
    -L "ostp://:50000?keys=$LOGDIR/lim.txt"
refuses urldup "an access key is given twice (the second time in $KEYS)" \
    -L "ostp://$K1@:50000?keys=$KEYS"
refuses nokeyfile "keys file $LOGDIR/none.txt" \
    -L "ostp://:50000?keys=$LOGDIR/none.txt"
refuses nokey "OSTP needs an access key" -L "ostp://:50000"
printf '{"inbounds": [{"type": "ostp", "listen": ":1", "access_keys": ["k"], "users": []}]}' \
    >"$LOGDIR/b1.json"
refuses native-unknown 'inbounds[0]: unknown key "users"' -C "$LOGDIR/b1.json"
printf '{"inbounds": [{"type": "ostp", "listen": ":1", "access_keys": ["k", "k"]}]}' \
    >"$LOGDIR/b2.json"
refuses native-dup "an access key is given twice" -C "$LOGDIR/b2.json"
printf '{"outbounds": [{"type": "ostp", "tag": "o", "server": "h:1", "access_key": "k", "transport": {"mode": "dns"}}], "inbounds": ["socks5://:1"]}' \
    >"$LOGDIR/b3.json"
refuses native-dns 'transport.mode must be "udp", "uot" or "tcp"' \
    -C "$LOGDIR/b3.json"
printf '{"outbounds": [{"type": "ostp", "tag": "o", "server": "h:1", "access_key": "k", "transport": {"junk_pc": [1, 2]}}], "inbounds": ["socks5://:1"]}' \
    >"$LOGDIR/b3a.json"
refuses native-transport 'outbounds[0].transport: tcp_fragmentation, frag_chunk, frag_sleep, junk_pc and junk_ps need mode "uot" without tls or ws_path' \
    -C "$LOGDIR/b3a.json"
printf '{"outbounds": [{"type": "ostp", "tag": "o", "server": "h:1", "access_key": "k", "transport": {"mode": "uot", "junk_pc": [3, 2]}}], "inbounds": ["socks5://:1"]}' \
    >"$LOGDIR/b3b.json"
refuses native-junk 'outbounds[0].transport.junk_pc must be [min, max] from 0 to 64' \
    -C "$LOGDIR/b3b.json"
printf '{"outbounds": [{"type": "ostp", "tag": "o", "server": "h:1", "access_key": "k", "transport": {"mode": "uot", "tcp_fragmentation": true, "frag_chunk": 4, "junk_ps": [200, 300]}}], "inbounds": ["socks5://:1"]}' \
    >"$LOGDIR/b3c.json"
accepts native-frag -C "$LOGDIR/b3c.json"
grep -q 'tcp_fragmentation=1' "$LOGDIR/native-frag.t" &&
    grep -q 'junk_ps=200-300' "$LOGDIR/native-frag.t" ||
	fail "native fragmentation knobs not in the printed configuration"
printf '{"mode": "server", "listen": ":1", "access_keys": ["k"], "api": {"enabled": true}}' \
    >"$LOGDIR/b4.json"
refuses srv04-api "api (the REST API and panel) is not supported" \
    -C "$LOGDIR/b4.json"
printf '{"mode": "server", "listen": ":1", "access_keys": ["k"], "tls": {"enabled": true}}' \
    >"$LOGDIR/b5.json"
refuses srv04-tls "tls needs cert_path and key_path" -C "$LOGDIR/b5.json"
printf '{"mode": "server", "listen": ":1", "access_keys": ["k"], "tls": {"enabled": true, "cert": "acme"}}' \
    >"$LOGDIR/b5a.json"
refuses srv04-acme 'tls.cert "acme" is not supported in this build' \
    -C "$LOGDIR/b5a.json"
printf '{"mode": "server", "listen": ":1", "access_keys": ["k"], "tls": {"enabled": true, "frontend": "nginx"}}' \
    >"$LOGDIR/b5b.json"
refuses srv04-nginx 'tls.frontend "nginx" is not supported in this build' \
    -C "$LOGDIR/b5b.json"
printf '{"mode": "server", "listen": ":1", "access_keys": ["k"], "bind_ip": "1.2.3.4"}' \
    >"$LOGDIR/b6.json"
refuses srv04-bindip "bind_ip (the egress source address) is not supported" \
    -C "$LOGDIR/b6.json"
printf '{"mode": "server", "listen": ":1"}' >"$LOGDIR/b7.json"
refuses srv04-nokeys "a server needs access_keys" -C "$LOGDIR/b7.json"
printf '{"mode": "client", "server": "h:1", "access_key": "k", "tun": {"enable": true}}' \
    >"$LOGDIR/b8.json"
accepts cli04-tun -C "$LOGDIR/b8.json"
grep -q '"url": "tun://?capture=true&name=ostp0&net=172.19.0.1/30&mtu=1140&auto_route=true"' \
    "$LOGDIR/cli04-tun.t" || fail "cli04-tun: no capture inbound"
printf '{"mode": "client", "server": "h:1", "access_key": "k", "tun": {"enable": true, "dns": 5}}' \
    >"$LOGDIR/b8b.json"
refuses cli04-tundns "tun.dns must be an address string" -C "$LOGDIR/b8b.json"
# TTL-desync decoys (§2.12): 0.4's transport keys, the native outbound's,
# the URL's; UDP only
printf '{"mode": "client", "server": "127.0.0.1:1", "access_key": "k", "transport": {"ttl_desync": true, "ttl_desync_ttl": 5, "ttl_desync_count": 3, "ttl_desync_auto": false}}' \
    >"$LOGDIR/b9.json"
accepts cli04-desync -C "$LOGDIR/b9.json"
grep -q 'ttl_desync=1&ttl_desync_ttl=5&ttl_desync_count=3&ttl_desync_auto=0' \
    "$LOGDIR/cli04-desync.t" || fail "cli04-desync: not in the printed configuration"
printf '{"mode": "client", "server": "127.0.0.1:1", "access_key": "k", "transport": {"mode": "uot", "ttl_desync": true}}' \
    >"$LOGDIR/b9u.json"
accepts cli04-desync-uot -C "$LOGDIR/b9u.json"
grep -q 'ttl_desync' "$LOGDIR/cli04-desync-uot.t" &&
	fail "cli04-desync-uot: a 0.4 file's UoT tunnel got decoys"
printf '{"outbounds": [{"type": "ostp", "tag": "o", "server": "127.0.0.1:1", "access_key": "k", "transport": {"ttl_desync": true}}], "inbounds": ["socks5://127.0.0.1:1"]}' \
    >"$LOGDIR/b9n.json"
accepts native-desync -C "$LOGDIR/b9n.json"
printf '{"outbounds": [{"type": "ostp", "tag": "o", "server": "127.0.0.1:1", "access_key": "k", "transport": {"mode": "uot", "ttl_desync": true}}], "inbounds": ["socks5://127.0.0.1:1"]}' \
    >"$LOGDIR/b9nu.json"
refuses native-desync-uot 'ttl_desync needs mode "udp"' -C "$LOGDIR/b9nu.json"
printf '{"outbounds": [{"type": "ostp", "tag": "o", "server": "127.0.0.1:1", "access_key": "k", "transport": {"ttl_desync_ttl": 3}}], "inbounds": ["socks5://127.0.0.1:1"]}' \
    >"$LOGDIR/b9nt.json"
refuses native-desync-ttl 'need ttl_desync true' -C "$LOGDIR/b9nt.json"
refuses url-desync-ttl 'ttl_desync_ttl= needs ttl_desync=true' \
    -L auto://127.0.0.1:1080 -F "ostp://k@127.0.0.1:1?ttl_desync_ttl=3"
refuses url-desync-uot 'ttl_desync= needs the UDP carrier' \
    -L auto://127.0.0.1:1080 -F "ostp://k@127.0.0.1:1?type=uot&ttl_desync=1"
refuses url-desync-range 'ttl_desync_ttl' -L auto://127.0.0.1:1080 \
    -F "ostp://k@127.0.0.1:1?ttl_desync=1&ttl_desync_ttl=0"
refuses url-desync-bool 'ttl_desync=maybe: give true or false' \
    -L auto://127.0.0.1:1080 -F "ostp://k@127.0.0.1:1?ttl_desync=maybe"
printf '{"mode": "client", "server": "h:1", "access_key": "k", "exclude": {"processes": ["firefox"]}}' \
    >"$LOGDIR/b10.json"
refuses cli04-proc "exclude.processes is not supported" -C "$LOGDIR/b10.json"
printf '{"mode": "client", "server": "h:1", "access_key": "k", "socks": 1}' \
    >"$LOGDIR/b11.json"
refuses cli04-unknown 'unknown key "socks"' -C "$LOGDIR/b11.json"
printf '{"mode": "relay", "listen": ":1"}' >"$LOGDIR/b12.json"
refuses relay04 'mode "relay" is not supported in this build' \
    -C "$LOGDIR/b12.json"

# live: the second key of the file through servers of each form
W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 300000)
H=$(free_port)
start_web http "$W" "$H"

get() {	# get PROXYPORT
	curl -sS --max-time 20 --socks5-hostname "127.0.0.1:$1" \
	    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1
}

through() {	# through NAME SERVERPORT: a URL client with K2 fetches
	_c=$(free_port)
	start_ostpd "cli-$1" -D -L "auto://127.0.0.1:$_c" \
	    -F "ostp://$K2URL@127.0.0.1:$2"
	wait_port "$_c" || { fail "$1: the client does not listen"; return; }
	[ "$(get "$_c")" = "$want" ] || fail "$1: a page with key 2"
	wait_log "$LOGDIR/srv-$1.log" "for key bob" 5 ||
		fail "$1: the session is not bob's"
}

S=$(free_port)
cp "$KEYS" "$LOGDIR/keys-live.txt"
start_ostpd srv-url -D -L "ostp://:$S?keys=$LOGDIR/keys-live.txt&local_access=true"
SRVURL=$OPID
wait_log "$LOGDIR/srv-url.log" "ostp" 5
through url "$S"

# SIGHUP reads the keys file again: a fourth key works, a broken file
# keeps the running keys
K4=dave-0123456789abcdef
echo "$K4 name=dave" >>"$LOGDIR/keys-live.txt"
kill -HUP "$SRVURL"
wait_log "$LOGDIR/srv-url.log" 'configuration reloaded (generation 2)' 5 ||
	fail "the server did not reload"
C4=$(free_port)
start_ostpd cli-k4 -D -L "auto://127.0.0.1:$C4" -F "ostp://$K4@127.0.0.1:$S"
wait_port "$C4" || fatal "client with key 4"
[ "$(get "$C4")" = "$want" ] || fail "a page with a key added by SIGHUP"
wait_log "$LOGDIR/srv-url.log" "for key dave" 5 ||
	fail "the session is not dave's"
echo "$K1 name=again" >>"$LOGDIR/keys-live.txt"
kill -HUP "$SRVURL"
wait_log "$LOGDIR/srv-url.log" "keys-live.txt:7: the key is given twice (first on line 2)" 5 ||
	fail "a broken keys file on SIGHUP was not reported"
[ "$(get "$C4")" = "$want" ] || fail "not serving after a broken keys file"

# without SIGHUP: the worker looks at the keys file every 5 s; a key
# added works, a key removed ends its sessions
S5=$(free_port); C5=$(free_port); C6=$(free_port)
K5=erin-0123456789abcdef
echo "$K2 name=bob" >"$LOGDIR/keys-watch.txt"
start_ostpd srv-watch -D -L "ostp://:$S5?keys=$LOGDIR/keys-watch.txt&local_access=true"
start_ostpd cli-k5 -D -L "auto://127.0.0.1:$C5" \
    -F "ostp://$K5@127.0.0.1:$S5?timeout=2s"
start_ostpd cli-bob -D -L "auto://127.0.0.1:$C6" -F "ostp://$K2URL@127.0.0.1:$S5"
wait_port "$C5" && wait_port "$C6" || fatal "watch clients"
[ "$(get "$C6")" = "$want" ] || fail "watch: a page with bob's key"
echo "$K5 name=erin" >>"$LOGDIR/keys-watch.txt"
ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(get "$C5" 2>/dev/null)" = "$want" ] && { ok=1; break; }
done
[ $ok = 1 ] || fail "watch: a key added to the file was not taken live"
wait_log "$LOGDIR/srv-watch.log" "for key erin" 5 ||
	fail "watch: the session is not erin's"
echo "$K5 name=erin" >"$LOGDIR/keys-watch.txt"
wait_log "$LOGDIR/srv-watch.log" "key bob removed" 15 ||
	fail "watch: a key removed from the file kept its sessions"
[ "$(get "$C5")" = "$want" ] || fail "watch: erin not served after bob left"

S=$(free_port)
cat >"$LOGDIR/native-live.json" <<EOF2
{"inbounds": [{"type": "ostp", "listen": "127.0.0.1:$S",
  "access_keys": ["$KU"], "keys_file": "$KEYS", "local_access": true}]}
EOF2
start_ostpd srv-native -D -C "$LOGDIR/native-live.json"
wait_log "$LOGDIR/srv-native.log" "ostp" 5
through native "$S"

S=$(free_port)
sed "s/127.0.0.1:50000\", \"127.0.0.1:50001/127.0.0.1:$S/" \
    "$LOGDIR/srv04.json" >"$LOGDIR/srv04-live.json"
start_ostpd srv-04 -D -C "$LOGDIR/srv04-live.json"
wait_log "$LOGDIR/srv-04.log" "ostp" 5
through 04 "$S"

# a 0.4 client file against a URL-configured server
S=$(free_port); C=$(free_port)
start_ostpd srv-url2 -D -L "ostp://:$S?keys=$KEYS&local_access=true"
sed "s/127.0.0.1:50000/127.0.0.1:$S/; s/127.0.0.1:1088/127.0.0.1:$C/" \
    "$LOGDIR/cli04.json" >"$LOGDIR/cli04-live.json"
start_ostpd cli-04 -C "$LOGDIR/cli04-live.json"
wait_port "$C" || fatal "the 0.4 client does not listen"
[ "$(get "$C")" = "$want" ] || fail "0.4 client: a page through SOCKS5"
[ "$(curl -sS --max-time 20 -x "http://127.0.0.1:$C" \
    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1)" = "$want" ] ||
	fail "0.4 client: a page through the HTTP proxy"
wait_log "$LOGDIR/srv-url2.log" "for key bob" 5 ||
	fail "0.4 client: the session is not bob's"

# 0.4 files over TLS: the server's built-in frontend with its own
# certificate and secret path, the client's UoT inside TLS on https_listen
make_cert "$LOGDIR/key.pem" "$LOGDIR/cert.pem" localhost
S=$(free_port); T=$(free_port); C=$(free_port)
cat >"$LOGDIR/srv04-tls.json" <<EOF2
{"mode": "server", "listen": "127.0.0.1:$S", "local_access": true,
 "access_keys": ["$K1", {"access_key": "$K2", "name": "bob"}],
 "tls": {"enabled": true, "frontend": "builtin", "cert": "manual",
  "cert_path": "$LOGDIR/cert.pem", "key_path": "$LOGDIR/key.pem",
  "ws_path": "/tunnel-path-0123", "https_listen": ["127.0.0.1:$T"]}}
EOF2
cat >"$LOGDIR/cli04-tls.json" <<EOF2
{"mode": "client", "server": "127.0.0.1:$T", "access_key": "$K2",
 "socks5_bind": "127.0.0.1:$C",
 "transport": {"mode": "uot", "tls": true, "tls_sni": "localhost",
  "tls_insecure": true, "ws_path": "/tunnel-path-0123",
  "tcp_fragmentation": false, "junk_pc": [2, 5]}}
EOF2
start_ostpd srv-04tls -D -C "$LOGDIR/srv04-tls.json"
wait_port "$T" || fatal "the 0.4 TLS server does not listen on https_listen"
start_ostpd cli-04tls -D -C "$LOGDIR/cli04-tls.json"
wait_port "$C" || fatal "the 0.4 TLS client does not listen"
[ "$(get "$C")" = "$want" ] || fail "0.4 files: a page over UoT in TLS"
wait_log "$LOGDIR/srv-04tls.log" "for key bob" 5 ||
	fail "0.4 files over TLS: the session is not bob's"

# 0.4 fallback {enabled, target, listen}: listen is one more TCP address
# of the server: a plain HTTP request there gets the target's page, a
# UoT client is served there all the same
S=$(free_port); F=$(free_port); C=$(free_port)
cat >"$LOGDIR/srv04-fb.json" <<EOF2
{"mode": "server", "listen": "127.0.0.1:$S", "local_access": true,
 "access_keys": ["$K1"],
 "fallback": {"enabled": true, "target": "127.0.0.1:$H",
  "listen": "127.0.0.1:$F"}}
EOF2
start_ostpd srv-04fb -D -C "$LOGDIR/srv04-fb.json"
wait_port "$F" || fatal "the 0.4 server does not listen on fallback.listen"
[ "$(curl -sS --max-time 10 "http://127.0.0.1:$F/blob" |
    sha256sum | cut -d' ' -f1)" = "$want" ] ||
	fail "fallback.listen: a plain request did not reach the target"
start_ostpd cli-04fb -D -L "auto://127.0.0.1:$C" \
    -F "ostp://$K1@127.0.0.1:$F?type=uot"
wait_port "$C" || fatal "the UoT client for fallback.listen"
[ "$(get "$C")" = "$want" ] || fail "fallback.listen: UoT served there"
printf '{"mode": "server", "listen": "127.0.0.1:1", "access_keys": ["k"], "fallback": {"enabled": true, "target": "127.0.0.1:2", "listen": 80}}' \
    >"$LOGDIR/b13.json"
refuses srv04-fblisten 'fallback.listen must be an address' \
    -C "$LOGDIR/b13.json"

finish
