# contrib/docker/compose.yaml: every service's command line is one that
# ostpd accepts as written (-t), and that works: each runs here with
# its listeners moved to free loopback ports, its targets and upstreams
# to local servers and its service names to 127.0.0.1, and carries a
# request (curl, dig, an echo; Shadowsocks and relay through a second
# ostpd as their client; chained through the shadowsocks service).
. regress/lib.sh

[ "$(id -u)" -eq 0 ] || skip "needs root"
COMPOSE=contrib/docker/compose.yaml
[ -f "$COMPOSE" ] || fatal "$COMPOSE missing"

# The services and their commands (JSON lists in the file), one
# argument a line in $LOGDIR/NAME.orig, and rewritten for this test in
# $LOGDIR/NAME.args.  Every port number in any URL gets one free port,
# the same in every service (chained's -F reaches shadowsocks's
# listener); $LOGDIR/ports maps them.
python3 - "$COMPOSE" "$LOGDIR" <<'EOF' || fatal "cannot read $COMPOSE"
import json, random, re, socket, sys
path, out = sys.argv[1], sys.argv[2]
services, name, cmd, in_services = {}, None, None, False
for line in open(path):
    if re.match(r"^services:\s*$", line):
        in_services = True
        continue
    if not in_services:
        continue
    m = re.match(r"^  ([A-Za-z0-9_-]+):\s*$", line)
    if m:
        name = m.group(1)
        continue
    m = re.match(r"^    command:\s*(.*)$", line)
    if m:
        cmd = m.group(1)
    elif cmd is not None:
        cmd += line.strip()
    if cmd is not None and cmd.rstrip().endswith("]"):
        services[name] = json.loads(cmd)
        cmd = None
lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
span = (10000, lo) if lo > 12000 else (hi + 1, 65536)
ports = {}
def port(p):
    while p not in ports:
        q = random.randrange(*span)
        if q in ports.values():
            continue
        s = socket.socket(); u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", q)); u.bind(("127.0.0.1", q))
        except OSError:
            continue
        finally:
            s.close(); u.close()
        ports[p] = q
    return str(ports[p])
for name, args in services.items():
    new = []
    for a in args:
        if "://" in a:
            a = re.sub(r"(://|@)(:\d)", r"\g<1>127.0.0.1\2", a)
            a = re.sub(r"(192\.0\.2\.10|1\.1\.1\.1|9\.9\.9\.9|@[a-z][a-z0-9-]*)(?=:\d)",
                       lambda m: "@127.0.0.1" if m.group(1)[0] == "@" else "127.0.0.1", a)
            a = re.sub(r"(?<=:)(\d+)(?=$|[/,?-])", lambda m: port(int(m.group(1))), a)
        new.append(a)
    open("%s/%s.orig" % (out, name), "w").write("\n".join(args) + "\n")
    open("%s/%s.args" % (out, name), "w").write("\n".join(new) + "\n")
with open(out + "/ports", "w") as f:
    for p, q in sorted(ports.items()):
        f.write("%d %d\n" % (p, q))
with open(out + "/services", "w") as f:
    f.write(" ".join(services) + "\n")
EOF

P() { awk -v p="$1" '$1 == p { print $2 }' "$LOGDIR/ports"; }
# args FILE: the lines of FILE as "$@" of run_svc's caller
run_svc() {
	_svc=$1; shift
	set --
	while IFS= read -r _a; do set -- "$@" "$_a"; done <"$LOGDIR/$_svc.args"
	start_ostpd "$_svc" "$@"
}

want="http socks5 auto shadowsocks relay tcp-forward dns sni chained multi-listener"
have=$(cat "$LOGDIR/services")
for s in $want; do
	case " $have " in *" $s "*) ;; *) fail "no service $s in $COMPOSE" ;; esac
done
for s in $have; do
	set --
	while IFS= read -r a; do set -- "$@" "$a"; done <"$LOGDIR/$s.orig"
	"$OSTPD" -t "$@" >"$LOGDIR/$s.t" 2>&1 ||
	    fail "$s: ostpd -t $*: $(tail -n 3 "$LOGDIR/$s.t")"
done

WP=$(free_port)
mkdir -p "$LOGDIR/www" && echo compose >"$LOGDIR/www/index.html"
start_web web "$LOGDIR/www" "$WP"
WEB_URL=http://127.0.0.1:$WP/index.html
start_echo "$(P 22)"
$NETTOOL dns 127.0.0.1 "$(P 53)" >"$LOGDIR/dns-upstream.log" 2>&1 &
PIDS="$PIDS $!"

# curl_via URL: fetched through the proxy URL
curl_via() {
	[ "$(curl -s --max-time 10 -x "$1" "$WEB_URL")" = compose ] ||
	    fail "${svc:-?}: no curl through $1"
}
# ss_client SVC METHOD PORT: a second ostpd as the client of a
# Shadowsocks listener, and a curl through it
ss_client() {
	_c=$(free_port)
	start_ostpd "$1-client" -L "socks5://127.0.0.1:$_c" \
	    -F "$2@127.0.0.1:$3"
	wait_port "$_c" || fail "$1: client did not start"
	curl_via "socks5h://127.0.0.1:$_c"
}

svc=http; run_svc http
wait_port "$(P 8080)" || fail "http: no listener"
curl_via "http://127.0.0.1:$(P 8080)"

svc=socks5; run_svc socks5
wait_port "$(P 1080)" || fail "socks5: no listener"
curl_via "socks5h://127.0.0.1:$(P 1080)"

svc=auto; run_svc auto
wait_port "$(P 1081)" || fail "auto: no listener"
for s in http socks5h socks4; do curl_via "$s://127.0.0.1:$(P 1081)"; done

svc=shadowsocks; run_svc shadowsocks
SS_PID=$OPID
wait_port "$(P 8338)" || fail "shadowsocks: no listener"
ss -lun "sport = :$(P 8338)" | grep -q ":$(P 8338)" ||
    fail "shadowsocks: no UDP (ssu) listener"
ss_client shadowsocks ss://chacha20-ietf-poly1305:change-this-password \
    "$(P 8338)"

svc=relay; run_svc relay
wait_port "$(P 8420)" || fail "relay: no listener"
ss_client relay relay://relay:change-this-password "$(P 8420)"

svc=tcp-forward; run_svc tcp-forward
wait_port "$(P 2222)" || fail "tcp-forward: no listener"
$NETTOOL xfer 127.0.0.1 "$(P 2222)" 10000 2 >/dev/null 2>&1 ||
    fail "tcp-forward: no echo through it"

svc=dns; run_svc dns
wait_port "$(P 5353)" || fail "dns: no TCP listener"
for t in +notcp +tcp; do
	a=$(dig $t +time=5 +tries=1 +short @127.0.0.1 -p "$(P 5353)" \
	    compose.test A 2>&1)
	[ "$a" = 127.0.0.1 ] || fail "dns ($t): '$a'"
done

# Both SNI listeners read a request without TLS as HTTP, by its Host:
# sent here to the web server (host= sets the port dialed).
svc=sni
sed -i "s|^\\(sni://.*\\)\$|\\1?host=:$WP|" "$LOGDIR/sni.args"
run_svc sni
for p in 443 80; do
	wait_port "$(P $p)" || fail "sni: no listener for $p"
	[ "$(curl -s --max-time 10 -H 'Host: 127.0.0.1' \
	    "http://127.0.0.1:$(P $p)/index.html")" = compose ] ||
	    fail "sni: no request through the listener for $p"
done

svc=chained; run_svc chained
wait_port "$(P 1082)" || fail "chained: no listener"
curl_via "socks5h://127.0.0.1:$(P 1082)"
curl_via "http://127.0.0.1:$(P 1082)"
# through the shadowsocks service, which can only be shown by its absence
kill "$SS_PID"
wait_gone "$SS_PID" || fail "shadowsocks did not stop"
[ "$(curl -s --max-time 10 -x "socks5h://127.0.0.1:$(P 1082)" \
    "$WEB_URL")" = compose ] && fail "chained: served without shadowsocks"

svc=multi-listener; run_svc multi-listener
for p in 3128 1083 8339; do
	wait_port "$(P $p)" || fail "multi-listener: no listener for $p"
done
curl_via "http://127.0.0.1:$(P 3128)"
curl_via "socks5h://127.0.0.1:$(P 1083)"
ss_client multi-listener ss://aes-256-gcm:change-this-password "$(P 8339)"
finish
