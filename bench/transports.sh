#!/bin/sh
# Benchmark: SOCKS5 chains between two ostpd over each transport (tcp,
# tls, wss, mwss), next to v2ray's VMess over TLS and over
# WebSocket+TLS (its common deployments), in one run on loopback.  The
# load tool speaks SOCKS5 to the client side of each pair; the server
# side connects to loadgen's sink (bulk) or echo (rate).  Every step
# runs SECS seconds and stops by itself.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-5}
. bench/lib.sh
command -v v2ray >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq v2ray >/dev/null 2>&1
loadgen_build || exit 1
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM

SINK=23101 ECHO=23102
$LG sink $SINK & PIDS="$PIDS $!"
$LG echo $ECHO & PIDS="$PIDS $!"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$OUT/tkey.pem" -out "$OUT/tcert.pem" -days 2 -subj /CN=bench \
    >/dev/null 2>&1 || exit 1

# pair NAME CLIENTPORT SERVERPORT TRANSPORT: two ostpd, one worker each
pair() {
	_t=$4
	"$BUILD/ostpd" -w 1 -L "socks5+$_t://127.0.0.1:$3?cert=$OUT/tcert.pem&key=$OUT/tkey.pem" \
	    2>"$OUT/$1-srv.log" &
	eval "SP_$1=$!"; PIDS="$PIDS $!"
	# notls: the plain pair is a plain relay (no gost TLS method)
	"$BUILD/ostpd" -w 1 -L "socks5://127.0.0.1:$2" -F "socks5+$_t://127.0.0.1:$3?notls=true" \
	    2>"$OUT/$1-cli.log" &
	eval "CP_$1=$!"; PIDS="$PIDS $!"
}
pair tcp 23110 23111 tcp
pair tls 23112 23113 tls
pair wss 23114 23115 wss
pair mwss 23116 23117 mwss

# v2ray: socks in -> vmess out (tls, ws+tls) -> vmess in -> freedom
ID=b831381d-6324-4d53-ad4f-8cda48b30811
v2pair() {	# v2pair NAME CLIENTPORT SERVERPORT NETWORK
	_ss="\"streamSettings\": {\"network\": \"$4\", \"security\": \"tls\","
	[ "$4" = ws ] && _ss="$_ss \"wsSettings\": {\"path\": \"/ws\"},"
	cat >"$OUT/v2-$1-srv.json" <<V
{"log": {"loglevel": "none"},
 "inbounds": [{"listen": "127.0.0.1", "port": $3, "protocol": "vmess",
   "settings": {"clients": [{"id": "$ID", "alterId": 0}]},
   $_ss "tlsSettings": {"certificates": [{"certificateFile": "$OUT/tcert.pem", "keyFile": "$OUT/tkey.pem"}]}}}],
 "outbounds": [{"protocol": "freedom"}]}
V
	cat >"$OUT/v2-$1-cli.json" <<V
{"log": {"loglevel": "none"},
 "inbounds": [{"listen": "127.0.0.1", "port": $2, "protocol": "socks", "settings": {"auth": "noauth"}}],
 "outbounds": [{"protocol": "vmess",
   "settings": {"vnext": [{"address": "127.0.0.1", "port": $3, "users": [{"id": "$ID", "alterId": 0, "security": "aes-128-gcm"}]}]},
   $_ss "tlsSettings": {"allowInsecure": true, "serverName": "bench"}}}]}
V
	v2ray -config "$OUT/v2-$1-srv.json" >"$OUT/v2-$1-srv.log" 2>&1 &
	eval "SP_$1=$!"; PIDS="$PIDS $!"
	v2ray -config "$OUT/v2-$1-cli.json" >"$OUT/v2-$1-cli.log" 2>&1 &
	eval "CP_$1=$!"; PIDS="$PIDS $!"
}
v2tls=0
if command -v v2ray >/dev/null 2>&1; then
	v2pair v2tls 23120 23121 tcp
	v2pair v2wss 23122 23123 ws
	v2tls=1
fi
sleep 2

row() { printf '%-24s %9s %9s %9s %9s %9s %9s\n' "$@"; }
port_of() {
	case $1 in tcp) echo 23110 ;; tls) echo 23112 ;; wss) echo 23114 ;;
	mwss) echo 23116 ;; v2tls) echo 23120 ;; v2wss) echo 23122 ;; esac
}
# measure MODE SUBJECT N: bulk MB/s or "conn/s p50 p99"
measure() {
	eval "_c=\$CP_$2 _s=\$SP_$2"
	[ -z "$_c" ] && { echo -; return; }
	[ "$1" = rate ] && dport=$ECHO || dport=$SINK
	_o=$($LG "$1" 127.0.0.1 "$(port_of "$2")" "$3" "$SECS" socks5 "$dport" 2>/dev/null)
	echo "${_o:--}"
}

all="tcp tls wss mwss"
[ $v2tls = 1 ] && all="$all v2tls v2wss"
echo "SOCKS5 through a pair of proxies over each transport, loopback," \
    "${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"
echo "(tcp/tls/wss/mwss: ostpd -> ostpd; v2tls/v2wss: v2ray VMess over TLS,"
echo " over WebSocket+TLS)"
echo
row "" $all
for n in 1 4; do
	for s in $all; do eval "v_$s="; done
	order=$all
	for r in $(seq 1 "$ROUNDS"); do
		for s in $order; do eval "v_$s=\"\$v_$s $(measure bulk $s $n)\""; done
		order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
	done
	line=""
	for s in $all; do eval "m_$s=\$(median \$v_$s)"; eval "line=\"\$line \$m_$s\""; done
	row "bulk MB/s, $n stream(s)" $line
	eval "echo \"  tls/tcp $(ratio "$m_tls" "$m_tcp"), tls/v2tls $(ratio "$m_tls" "${m_v2tls:--}")," \
	    "wss/v2wss $(ratio "$m_wss" "${m_v2wss:--}")\""
done
for s in $all; do eval "r_$s= p_$s="; done
order=$all
for r in $(seq 1 "$ROUNDS"); do
	for s in $order; do
		set -- $(measure rate $s 32)
		eval "r_$s=\"\$r_$s ${1:--}\" p_$s=\"\$p_$s ${2:--}\""
	done
	order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
done
R="" P=""
for s in $all; do
	eval "R=\"\$R \$(median \$r_$s)\" P=\"\$P \$(median \$p_$s)\""
done
row "conn/s (32 in flight)" $R
row "p50 us" $P
