#!/bin/sh
# Benchmark: one TCP stream through an OSTP tunnel (ostpd client's local
# SOCKS5 proxy -> ostpd server -> sink) next to the Shadowsocks pairs
# people run for the same job, chacha20-ietf-poly1305 everywhere:
# ostpd's own, shadowsocks-libev's (ss-local + ss-server) and v2ray's;
# OSTP on every carrier (udp, uot, uot inside TLS) and at the default
# server mtu and a jumbo one; the CPU both OSTP ends spend per GB;
# handshakes per second one server accepts with one and with two
# workers (bench/loadgen is no OSTP client, so a C helper does them:
# bench/ostphs.c); memory per idle session.  Loopback only; every step
# runs SECS seconds and stops by itself; medians of ROUNDS interleaved
# rounds.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-5}
. bench/lib.sh
for p in ss-server:shadowsocks-libev v2ray:v2ray; do
	command -v "${p%%:*}" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq "${p#*:}" >/dev/null 2>&1
done
loadgen_build || exit 1
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM
K=0123456789abcdef0123456789abcdef
M=chacha20-ietf-poly1305
T=$OUT/ostp-tls
mkdir -p "$T"
[ -f "$T/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes \
    -keyout "$T/key.pem" -out "$T/cert.pem" -days 30 -subj "/CN=bench.test" \
    >/dev/null 2>&1
chmod 644 "$T/key.pem"

SINK=23301
$LG sink $SINK & PIDS="$PIDS $!"
O=23310 OU=23311 OT=23312 OJ=23313 SO=23314 SL=23315 SV=23316
CO=23320 CU=23321 CT=23322 CJ=23323 CSO=23324 CSL=23325 CSV=23326
"$BUILD/ostpd" -L "ostp://$K@127.0.0.1:$O?local_access=true&cert=$T/cert.pem&key=$T/key.pem" \
    2>"$OUT/ostp-srv.log" & PIDS="$PIDS $!"; PSRV=$!
"$BUILD/ostpd" -L "ostp://$K@127.0.0.1:$OJ?local_access=true&mtu=16000&tcp=false" \
    2>"$OUT/ostp-srvj.log" & PIDS="$PIDS $!"; PSRVJ=$!
"$BUILD/ostpd" -L "socks5://127.0.0.1:$CO" -F "ostp://$K@127.0.0.1:$O?mtu=1350" \
    2>"$OUT/ostp-cli.log" & PIDS="$PIDS $!"; PCLI=$!
"$BUILD/ostpd" -L "socks5://127.0.0.1:$CU" -F "ostp://$K@127.0.0.1:$O?type=uot&mtu=1350" \
    2>/dev/null & PIDS="$PIDS $!"
"$BUILD/ostpd" -L "socks5://127.0.0.1:$CT" \
    -F "ostp://$K@127.0.0.1:$O?tls=1&insecure=1&sni=bench.test&mtu=1350" \
    2>/dev/null & PIDS="$PIDS $!"
"$BUILD/ostpd" -L "socks5://127.0.0.1:$CJ" -F "ostp://$K@127.0.0.1:$OJ?mtu=16000" \
    2>/dev/null & PIDS="$PIDS $!"
"$BUILD/ostpd" -L "ss://$M:bench@127.0.0.1:$SO" 2>/dev/null & PIDS="$PIDS $!"
"$BUILD/ostpd" -L "socks5://127.0.0.1:$CSO" -F "ss://$M:bench@127.0.0.1:$SO" \
    2>/dev/null & PIDS="$PIDS $!"
ss-server -s 127.0.0.1 -p $SL -k bench -m $M >/dev/null 2>&1 & PIDS="$PIDS $!"
ss-local -s 127.0.0.1 -p $SL -b 127.0.0.1 -l $CSL -k bench -m $M \
    >/dev/null 2>&1 & PIDS="$PIDS $!"
have_v2=0
if command -v v2ray >/dev/null 2>&1; then
	have_v2=1
	cat >"$OUT/v2ray-ss.json" <<V
{"log": {"loglevel": "none"},
 "inbounds": [{"listen": "127.0.0.1", "port": $SV, "protocol": "shadowsocks",
   "settings": {"method": "$M", "password": "bench", "network": "tcp"}},
  {"listen": "127.0.0.1", "port": $CSV, "protocol": "socks", "tag": "in"}],
 "outbounds": [{"protocol": "freedom", "tag": "direct"},
  {"protocol": "shadowsocks", "tag": "ss", "settings": {"servers": [
   {"address": "127.0.0.1", "port": $SV, "method": "$M", "password": "bench"}]}}],
 "routing": {"rules": [{"type": "field", "inboundTag": ["in"], "outboundTag": "ss"}]}}
V
	v2ray -config "$OUT/v2ray-ss.json" >/dev/null 2>&1 & PIDS="$PIDS $!"
fi
sleep 2

bulk() {	# bulk SOCKSPORT
	_o=$($LG bulk 127.0.0.1 "$1" 1 "$SECS" socks5 $SINK 2>/dev/null)
	echo "${_o:--}"
}
row() { printf '%-34s %10s %10s\n' "$@"; }

echo "OSTP tunnel, loopback, 1 TCP stream, ${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"
echo
subjects="CO CU CT CJ CSO CSL"
[ $have_v2 = 1 ] && subjects="$subjects CSV"
for s in $subjects; do eval "v_$s="; done
order=$subjects
for r in $(seq 1 "$ROUNDS"); do
	for s in $order; do
		eval "port=\$$s"
		eval "v_$s=\"\$v_$s $(bulk "$port")\""
	done
	order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
done
for s in $subjects; do eval "m_$s=\$(median \$v_$s)"; done
row "MB/s" "value" "vs libev"
row "ostp udp, mtu 1350" "$m_CO" "$(ratio "$m_CO" "$m_CSL")"
row "ostp uot, mtu 1350" "$m_CU" "$(ratio "$m_CU" "$m_CSL")"
row "ostp uot+tls, mtu 1350" "$m_CT" "$(ratio "$m_CT" "$m_CSL")"
row "ostp udp, mtu 16000" "$m_CJ" "$(ratio "$m_CJ" "$m_CSL")"
row "ss pair, ostpd" "$m_CSO" "$(ratio "$m_CSO" "$m_CSL")"
row "ss pair, shadowsocks-libev" "$m_CSL" "1.00"
[ $have_v2 = 1 ] && row "ss pair, v2ray" "$m_CSV" "$(ratio "$m_CSV" "$m_CSL")"
echo
row "ostp udp / ostpd ss pair" "$(ratio "$m_CO" "$m_CSO")" ""

# CPU per GB, both OSTP ends (udp carrier, mtu 1350)
t0=$(($(tree_ticks $PSRV) + $(tree_ticks $PCLI)))
o=$(bulk $CO)
t1=$(($(tree_ticks $PSRV) + $(tree_ticks $PCLI)))
awk -v t=$((t1 - t0)) -v hz="$TCK" -v mb="$o" -v s="$SECS" 'BEGIN {
	if (mb > 0) printf "%-34s %10.2f\n", "CPU s per GB, both ends (udp)", t / hz / (mb * s / 1000) }'

# memory per idle session, then handshakes per second with one and two
# server workers (bench/ostphs.c pays for the client's side before and
# after its clock; the caps are above what a run makes, so that no
# handshake also pays for dropping an older session)
cc -O2 -Wall -D_GNU_SOURCE -I. -Icommon -Idaemon -o "$OUT/ostphs" bench/ostphs.c \
    daemon/proto/ostp.c -lcrypto $(grep -q 'define HAVE_SODIUM 1' config.h &&
    echo -lsodium) || exit 1
HS1=23330 HS2=23331
HSN=${HSN:-$((SECS * 16000))}
for w in 1 2; do
	eval "port=\$HS$w"
	"$BUILD/ostpd" -w $w -L "ostp://$K@127.0.0.1:$port?max_sessions=200000&max_sessions_key=200000&handshake_rate=1000000&tcp=false" \
	    2>"$OUT/ostp-hs$w.log" & PIDS="$PIDS $!"; eval "PHS$w=\$!"
done
sleep 1
W=$(pgrep -P $PHS1 | head -1)
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$W/status")
"$OUT/ostphs" 127.0.0.1 $HS1 "$K" 10000 "$SECS" >/dev/null
rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$W/status")
hs1=$("$OUT/ostphs" 127.0.0.1 $HS1 "$K" "$HSN" "$SECS")
hs2=$("$OUT/ostphs" 127.0.0.1 $HS2 "$K" "$HSN" "$SECS")
row "handshakes/s, 1 server worker" "${hs1:--}" ""
row "handshakes/s, 2 server workers" "${hs2:--}" ""
awk -v a="$rss0" -v b="$rss1" 'BEGIN { printf "%-34s %10.1f\n", "KiB per idle session (RSS)", (b - a) / 10000 }'
