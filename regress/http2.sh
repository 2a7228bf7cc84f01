# gost's http2 proxy (-L http2://, -F http2://): ostpd's client and
# server with each other (bulk byte-exact, a middle hop, credentials
# and a wrong password), nghttpx's HTTP/2 proxy as the hop of ostpd's
# client, HTTP/1.1 CONNECT and plain requests on the same listener,
# non-CONNECT requests on HTTP/2 streams, Gost-Target, probe
# resistance and knock on streams, the idle limit of sessions, the
# "not supported" line for a lone http2 protocol or transport, and
# headless Chromium through an https:// proxy and the http2 listener.
. regress/lib.sh

WEB=$(free_port); E=$(free_port); P=$(free_port); PA=$(free_port)
mkdir -p "$LOGDIR/www"
SUM=$(make_blob "$LOGDIR/www/blob" 5000000)
printf '<html><body><p id="x">http2 page ok</p></body></html>\n' \
    >"$LOGDIR/www/page.html"
start_web web "$LOGDIR/www" "$WEB"
start_echo "$E"
WEB_URL="http://127.0.0.1:$WEB/page.html"

# 0. http2 goes only with http2
for u in "http2+tls://127.0.0.1:1" "http+http2://127.0.0.1:1"; do
	timeout 10 "$OSTPD" -t -L "$u" >"$LOGDIR/bad.out" 2>&1 &&
	    fail "$u was accepted"
	grep -q "not supported: the http2 protocol runs only on the http2 transport" \
	    "$LOGDIR/bad.out" || fail "$u: $(cat "$LOGDIR/bad.out")"
	timeout 10 "$OSTPD" -t -L "socks5://127.0.0.1:1" -F "$u" >"$LOGDIR/bad.out" 2>&1 &&
	    fail "-F $u was accepted"
	grep -q "not supported: the http2 protocol" "$LOGDIR/bad.out" ||
	    fail "-F $u: $(cat "$LOGDIR/bad.out")"
done

start_ostpd srv -D -L "http2://127.0.0.1:$P" \
    -L "http2://u1:pw1@127.0.0.1:$PA"
SRV=$OPID
wait_port "$P" && wait_port "$PA" || fatal "http2 listeners"

# 1. ostpd's client through ostpd's server: byte-exact, bulk, many
# streams on one session
S=$(free_port)
start_ostpd cli -D -L "socks5://127.0.0.1:$S" -F "http2://127.0.0.1:$P"
wait_port "$S" || fatal "client"
curl -s --max-time 30 -x "socks5h://127.0.0.1:$S" \
    "http://127.0.0.1:$WEB/blob" -o "$LOGDIR/blob.1" ||
    fail "curl through http2"
[ "$(sha256sum <"$LOGDIR/blob.1" | cut -d' ' -f1)" = "$SUM" ] ||
    fail "through http2: not byte-exact ($(wc -c <"$LOGDIR/blob.1") bytes)"
$NETTOOL proxyecho "socks5://127.0.0.1:$S" 127.0.0.1 "$E" \
    >"$LOGDIR/pe.out" 2>&1 || fail "echo through http2: $(cat "$LOGDIR/pe.out")"
F=$(free_port)
start_ostpd fwd -D -L "tcp://127.0.0.1:$F/127.0.0.1:$E" -F "http2://127.0.0.1:$P"
wait_port "$F" || fatal "forwarder"
$NETTOOL xfer 127.0.0.1 "$F" 2000000 20 >"$LOGDIR/x.out" 2>&1 ||
    fail "20 tunnels at once: $(cat "$LOGDIR/x.out")"
[ "$(count "$LOGDIR/fwd.log" "a new session")" -eq 1 ] ||
    fail "one session per node: $(count "$LOGDIR/fwd.log" "a new session")"

# 2. credentials: right, missing, wrong; the server serves on
SA=$(free_port); SW=$(free_port); SN=$(free_port)
start_ostpd cliA -D -L "socks5://127.0.0.1:$SA" -F "http2://u1:pw1@127.0.0.1:$PA"
start_ostpd cliW -D -L "socks5://127.0.0.1:$SW" -F "http2://u1:bad@127.0.0.1:$PA"
start_ostpd cliN -D -L "socks5://127.0.0.1:$SN" -F "http2://127.0.0.1:$PA"
wait_port "$SA" && wait_port "$SW" && wait_port "$SN" || fatal "auth clients"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -x "socks5h://127.0.0.1:$SA" "$WEB_URL")" = 200 ] ||
    fail "with the password"
for c in W N; do
	eval "port=\$S$c"
	curl -s -o /dev/null --max-time 10 -x "socks5h://127.0.0.1:$port" \
	    "$WEB_URL" && fail "cli$c: served without the right password"
	wait_log "$LOGDIR/cli$c.log" "authentication failed (407)" ||
	    fail "cli$c: no clear line for the 407"
done
wait_log "$LOGDIR/srv.log" "http2 authentication failed" ||
    fail "the server logged no failed authentication"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -x "socks5h://127.0.0.1:$SA" "$WEB_URL")" = 200 ] ||
    fail "not serving after a wrong password"

# 3. a middle hop: http2 first, then an HTTP proxy reached through it;
# and http2 as the second hop
HP=$(free_port); SM=$(free_port)
start_ostpd hop2 -D -L "http://127.0.0.1:$HP"
wait_port "$HP" || fatal "http hop"
start_ostpd mid -D -L "socks5://127.0.0.1:$SM" -F "http2://127.0.0.1:$P" \
    -F "http://127.0.0.1:$HP"
wait_port "$SM" || fatal "mid"
curl -s --max-time 30 -x "socks5h://127.0.0.1:$SM" \
    "http://127.0.0.1:$WEB/blob" -o "$LOGDIR/blob.3" || fail "curl, middle hop"
[ "$(sha256sum <"$LOGDIR/blob.3" | cut -d' ' -f1)" = "$SUM" ] ||
    fail "middle hop: not byte-exact"
wait_log "$LOGDIR/hop2.log" "to 127.0.0.1:$WEB" ||
    fail "the hop after http2 did not dial the target"
# and http2 after a SOCKS5 hop: its TLS and session run through it
S5=$(free_port); SL=$(free_port)
start_ostpd s5hop -D -L "socks5://127.0.0.1:$S5"
wait_port "$S5" || fatal "socks5 hop"
start_ostpd late -D -L "socks5://127.0.0.1:$SL" -F "socks5://127.0.0.1:$S5" \
    -F "http2://127.0.0.1:$P"
wait_port "$SL" || fatal "late"
curl -s --max-time 30 -x "socks5h://127.0.0.1:$SL" \
    "http://127.0.0.1:$WEB/blob" -o "$LOGDIR/blob.3b" || fail "curl, late hop"
[ "$(sha256sum <"$LOGDIR/blob.3b" | cut -d' ' -f1)" = "$SUM" ] ||
    fail "http2 after socks5: not byte-exact"
wait_log "$LOGDIR/s5hop.log" "to 127.0.0.1:$P" ||
    fail "the socks5 hop did not carry the http2 session"

# 4. HTTP/1.1 on the http2 listener (ALPN http/1.1): CONNECT and
# plain requests; credentials as the HTTP proxy's
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy-insecure \
    -x "https://127.0.0.1:$P" "$WEB_URL")" = 200 ] ||
    fail "HTTP/1.1 plain request on the http2 listener"
curl -s --max-time 30 --proxy-insecure -p -x "https://127.0.0.1:$P" \
    "http://127.0.0.1:$WEB/blob" -o "$LOGDIR/blob.4" ||
    fail "HTTP/1.1 CONNECT on the http2 listener"
[ "$(sha256sum <"$LOGDIR/blob.4" | cut -d' ' -f1)" = "$SUM" ] ||
    fail "HTTP/1.1 CONNECT: not byte-exact"
TW=$(free_port)
mkdir -p "$LOGDIR/tls"
make_cert "$LOGDIR/tls/key.pem" "$LOGDIR/tls/cert.pem" localhost
(cd "$LOGDIR/tls" && exec openssl s_server -quiet -accept "$TW" \
    -key key.pem -cert cert.pem -WWW) >"$LOGDIR/s_server.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$TW" || fatal "TLS web server"
echo "tls target ok" >"$LOGDIR/tls/t.txt"
[ "$(curl -s --max-time 10 --proxy-insecure -k -x "https://127.0.0.1:$P" \
    "https://127.0.0.1:$TW/t.txt")" = "tls target ok" ] ||
    fail "HTTP/1.1 CONNECT to an https target"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy-insecure \
    -x "https://127.0.0.1:$PA" "$WEB_URL")" = 407 ] ||
    fail "HTTP/1.1 without credentials: not 407"
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --proxy-insecure \
    -x "https://u1:pw1@127.0.0.1:$PA" "$WEB_URL")" = 200 ] ||
    fail "HTTP/1.1 with credentials"

# 5. HTTP/2 clients of the listener: curl's h2 proxy tunnel where it
# has one; nghttp's plain requests (absolute :authority) by hand
H2RAW="/usr/bin/python3 regress/tools/h2raw.py"
$H2RAW connect "$P" "127.0.0.1:$E" tls >"$LOGDIR/h2connect.out" 2>&1 ||
    fail "an HTTP/2 CONNECT by hand: $(cat "$LOGDIR/h2connect.out")"
if command -v nghttp >/dev/null; then
	nghttp -v -H ":authority: 127.0.0.1:$WEB" -H ":scheme: http" \
	    "https://127.0.0.1:$P/page.html" >"$LOGDIR/nghttp.out" 2>&1
	grep -q ":status: 200" "$LOGDIR/nghttp.out" &&
	    grep -q "http2 page ok" "$LOGDIR/nghttp.out" ||
	    fail "a plain GET on an HTTP/2 stream: $(grep -E 'status|page' "$LOGDIR/nghttp.out")"
	# a 5 MB answer and a 2 MB request body (a POST to a server that
	# answers the body's digest) through plain requests on streams
	nghttp -H ":authority: 127.0.0.1:$WEB" -H ":scheme: http" \
	    "https://127.0.0.1:$P/blob" >"$LOGDIR/blob.5" 2>"$LOGDIR/blob5.err"
	[ "$(sha256sum <"$LOGDIR/blob.5" | cut -d' ' -f1)" = "$SUM" ] ||
	    fail "a plain GET of 5 MB on a stream: $(wc -c <"$LOGDIR/blob.5") bytes"
	PS=$(free_port)
	python3 -c 'import hashlib, http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        d = b""
        while len(d) < n:
            d += self.rfile.read(n - len(d))
        b = hashlib.sha256(d).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' \
	    "$PS" >"$LOGDIR/post.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$PS" || fatal "POST server"
	PSUM=$(make_blob "$LOGDIR/post.bin" 2000000)
	[ "$(nghttp -d "$LOGDIR/post.bin" -H ":authority: 127.0.0.1:$PS" \
	    -H ":scheme: http" "https://127.0.0.1:$P/up" 2>"$LOGDIR/post.err")" = "$PSUM" ] ||
	    fail "a 2 MB POST on a stream: $(tail -n 2 "$LOGDIR/post.err")"
	nghttp -v -H ":authority: 127.0.0.1:$WEB" -H ":scheme: http" \
	    "https://127.0.0.1:$PA/page.html" >"$LOGDIR/nghttp407.out" 2>&1
	grep -q ":status: 407" "$LOGDIR/nghttp407.out" ||
	    fail "no credentials on HTTP/2: $(grep status "$LOGDIR/nghttp407.out")"
else
	skip_part "nghttp (Debian nghttp2-client) not installed"
fi

# 5b. Gost-Target (gost's encoding) over :authority; probe resistance
# (code:, file:, web:, host:) and knock on HTTP/2 streams; the 5
# minutes idle limit of server sessions (test build: 2 s)
if command -v nghttp >/dev/null; then
	GT=$(python3 -c 'import base64, sys, zlib
n = sys.argv[1].encode()
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=")
print(b(zlib.crc32(n).to_bytes(4, "big") + b(n)).decode())' "127.0.0.1:$WEB")
	nghttp -v -H ":authority: nowhere.invalid:1" -H ":scheme: http" \
	    -H "gost-target: $GT" "https://127.0.0.1:$P/page.html" \
	    >"$LOGDIR/gt.out" 2>&1
	grep -q "http2 page ok" "$LOGDIR/gt.out" ||
	    fail "Gost-Target: $(grep -E 'status' "$LOGDIR/gt.out")"
	echo "<p>decoy page</p>" >"$LOGDIR/decoy.html"
	PC=$(free_port); PF=$(free_port); PW=$(free_port); PH=$(free_port)
	start_ostpd probes -D \
	    -L "http2://u1:pw1@127.0.0.1:$PC?probe_resist=code:404&knock=knock.example" \
	    -L "http2://u1:pw1@127.0.0.1:$PF?probe_resist=file:$LOGDIR/decoy.html" \
	    -L "http2://u1:pw1@127.0.0.1:$PW?probe_resist=web:127.0.0.1:$WEB/page.html" \
	    -L "http2://u1:pw1@127.0.0.1:$PH?probe_resist=host:127.0.0.1:$WEB"
	for p in $PC $PF $PW $PH; do wait_port "$p" || fatal "probe listener $p"; done
	nghttp -v -H ":authority: 127.0.0.1:$WEB" -H ":scheme: http" \
	    "https://127.0.0.1:$PC/page.html" >"$LOGDIR/pcode.out" 2>&1
	grep -q ":status: 404" "$LOGDIR/pcode.out" &&
	    grep -q "server: nginx" "$LOGDIR/pcode.out" ||
	    fail "probe_resist=code:404: $(grep -E 'status|server' "$LOGDIR/pcode.out")"
	nghttp -v -H ":authority: knock.example" -H ":scheme: http" \
	    "https://127.0.0.1:$PC/" >"$LOGDIR/pknock.out" 2>&1
	grep -q ":status: 407" "$LOGDIR/pknock.out" ||
	    fail "knock: $(grep status "$LOGDIR/pknock.out")"
	nghttp -v -H ":authority: 127.0.0.1:$WEB" -H ":scheme: http" \
	    "https://127.0.0.1:$PF/page.html" >"$LOGDIR/pfile.out" 2>&1
	grep -q "decoy page" "$LOGDIR/pfile.out" ||
	    fail "probe_resist=file: $(grep status "$LOGDIR/pfile.out")"
	for p in $PW $PH; do
		nghttp -v -H ":authority: elsewhere.invalid" -H ":scheme: http" \
		    "https://127.0.0.1:$p/page.html" >"$LOGDIR/pweb-$p.out" 2>&1
		grep -q "http2 page ok" "$LOGDIR/pweb-$p.out" ||
		    fail "probe_resist web:/host: on $p: $(grep status "$LOGDIR/pweb-$p.out")"
	done
	nghttp -v -H ":authority: 127.0.0.1:$WEB" -H ":scheme: http" \
	    -H "proxy-authorization: Basic dTE6cHcx" \
	    "https://127.0.0.1:$PW/page.html" >"$LOGDIR/pauth.out" 2>&1
	grep -q "http2 page ok" "$LOGDIR/pauth.out" ||
	    fail "probe listener with credentials: $(grep status "$LOGDIR/pauth.out")"
else
	skip_part "nghttp (Debian nghttp2-client) not installed"
fi
PI=$(free_port)
OSTP_H2_IDLE=2 "$OSTPD_T" -w 1 -D -L "http2://127.0.0.1:$PI" \
    >"$LOGDIR/idle.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PI" || fatal "idle listener"
$H2RAW idle "$PI" 4 tls >"$LOGDIR/idle.out" 2>&1 ||
    fail "idle session: $(cat "$LOGDIR/idle.out")"
$H2RAW connect "$PI" "127.0.0.1:$E" tls >"$LOGDIR/idle2.out" 2>&1 ||
    fail "after an idle session: $(cat "$LOGDIR/idle2.out")"

# 6. nghttpx's HTTP/2 proxy as the hop of ostpd's client: its backend
# is an ostpd HTTP proxy
if command -v nghttpx >/dev/null; then
	NX=$(free_port); NB=$(free_port); SX=$(free_port)
	start_ostpd nxback -D -L "http://127.0.0.1:$NB"
	wait_port "$NB" || fatal "nghttpx backend"
	nghttpx --http2-proxy -f "127.0.0.1,$NX" -b "127.0.0.1,$NB" \
	    --no-ocsp --workers=1 --conf=/dev/null \
	    --errorlog-file="$LOGDIR/nghttpx.err" \
	    "$LOGDIR/tls/key.pem" "$LOGDIR/tls/cert.pem" \
	    >"$LOGDIR/nghttpx.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$NX" || fatal "nghttpx did not start: $(tail -n 3 "$LOGDIR/nghttpx.err")"
	start_ostpd clix -D -L "socks5://127.0.0.1:$SX" -F "http2://127.0.0.1:$NX"
	wait_port "$SX" || fatal "client of nghttpx"
	curl -s --max-time 30 -x "socks5h://127.0.0.1:$SX" \
	    "http://127.0.0.1:$WEB/blob" -o "$LOGDIR/blob.6" ||
	    fail "curl through nghttpx: $(tail -n 3 "$LOGDIR/clix.log")"
	[ "$(sha256sum <"$LOGDIR/blob.6" | cut -d' ' -f1)" = "$SUM" ] ||
	    fail "through nghttpx: not byte-exact ($(wc -c <"$LOGDIR/blob.6") bytes)"
else
	skip_part "nghttpx (Debian nghttp2-proxy) not installed"
fi

# 7. headless Chromium through an https:// proxy and through the
# http2 listener (h2 by ALPN: the page is a plain request on a stream)
CHROME=$(command -v chromium || command -v chromium-browser)
if [ -z "$CHROME" ]; then
	skip_part "chromium not installed"
else
	HT=$(free_port)
	start_ostpd https -D -L "http+tls://127.0.0.1:$HT"
	wait_port "$HT" || fatal "https proxy"
	for pp in "$HT" "$P"; do
		HOME=$LOGDIR timeout 60 "$CHROME" --headless --no-sandbox \
		    --disable-gpu --no-first-run --user-data-dir="$LOGDIR/chr-$pp" \
		    --proxy-server="https://127.0.0.1:$pp" \
		    --proxy-bypass-list="<-loopback>" \
		    --ignore-certificate-errors --dump-dom "$WEB_URL" \
		    >"$LOGDIR/chromium-$pp.out" 2>"$LOGDIR/chromium-$pp.err"
		rc=$?
		if grep -q "http2 page ok" "$LOGDIR/chromium-$pp.out"; then
			:
		elif [ $rc -ne 0 ] && ! grep -q "127.0.0.1" "$LOGDIR/web.log"; then
			skip_part "chromium cannot run here (exit $rc): $(tail -n 2 "$LOGDIR/chromium-$pp.err")"
		else
			fail "chromium through 127.0.0.1:$pp: $(head -c 300 "$LOGDIR/chromium-$pp.out")"
		fi
	done
	grep -q "http2 GET to 127.0.0.1:$WEB" "$LOGDIR/srv.log" ||
	    [ "$SKIPPED" -ne 0 ] || fail "chromium did not use HTTP/2 with the http2 listener"
fi

kill -0 "$SRV" 2>/dev/null || fail "the server died"
finish
