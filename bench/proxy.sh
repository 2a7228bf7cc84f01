#!/bin/sh
# Benchmark: ostpd as a SOCKS5 and an HTTP CONNECT proxy against the
# proxies people run today (microsocks, dante, tinyproxy, v2ray), in one
# run, on loopback, with a direct connection as the limit.  Every step
# runs SECS seconds and stops by itself.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-5}
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
mkdir -p "$OUT"
missing=""
for p in microsocks:microsocks danted:dante-server tinyproxy:tinyproxy v2ray:v2ray; do
	command -v "${p%%:*}" >/dev/null 2>&1 || missing="$missing ${p#*:}"
done
[ -n "$missing" ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1
cc -O2 -Wall -o "$OUT/loadgen" bench/loadgen.c || exit 1
LG=$OUT/loadgen
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM

SINK=23001 ECHO=23002 OS=23010 MS=23011 DS=23012 TP=23013 VS=23014 VH=23015
$LG sink $SINK & PIDS="$PIDS $!"
$LG echo $ECHO & PIDS="$PIDS $!"
# WORKERS=auto (or N): ostpd with that many workers (SO_REUSEPORT)
echo "{\"workers\": \"${WORKERS:-1}\", \"inbounds\": [\"127.0.0.1:$OS\"]}" |
	sed 's/"\([0-9][0-9]*\)"/\1/' >"$OUT/ostpd-proxy.json"
"$BUILD/ostpd" -C "$OUT/ostpd-proxy.json" 2>"$OUT/ostpd-proxy.log" & OPID=$!; PIDS="$PIDS $OPID"
command -v microsocks >/dev/null && { microsocks -i 127.0.0.1 -p $MS >/dev/null 2>&1 & PIDS="$PIDS $!"; }
if command -v danted >/dev/null; then
	cat >"$OUT/danted.conf" <<D
logoutput: $OUT/danted.log
internal: 127.0.0.1 port = $DS
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
D
	danted -f "$OUT/danted.conf" -N 2 >/dev/null 2>&1 & PIDS="$PIDS $!"
fi
if command -v tinyproxy >/dev/null; then
	cat >"$OUT/tinyproxy.conf" <<T
Port $TP
Listen 127.0.0.1
MaxClients 4096
Timeout 60
LogLevel Critical
T
	tinyproxy -d -c "$OUT/tinyproxy.conf" >/dev/null 2>&1 & PIDS="$PIDS $!"
fi
if command -v v2ray >/dev/null; then
	cat >"$OUT/v2ray.json" <<V
{"log": {"loglevel": "none"},
 "inbounds": [{"listen": "127.0.0.1", "port": $VS, "protocol": "socks", "settings": {"auth": "noauth"}},
              {"listen": "127.0.0.1", "port": $VH, "protocol": "http"}],
 "outbounds": [{"protocol": "freedom"}]}
V
	v2ray -config "$OUT/v2ray.json" >/dev/null 2>&1 & PIDS="$PIDS $!"
fi
sleep 1.5

row() { printf '%-26s %10s %10s %10s %10s %10s %10s\n' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
best() { printf '%s\n' "$@" | grep -v '^-$' | sort -g | tail -n 1; }
run() {	# run MODE PORT KIND TPORT N: prints the figure or "-"
	_o=$($LG "$1" 127.0.0.1 "$2" "$5" "$SECS" "$3" "$4" 2>/dev/null) || { echo -; return; }
	echo "${_o:--}"
}

echo "proxies, loopback, ${SECS}s per step, $(nproc) cores"
echo
echo "SOCKS5"
row measure direct ostpd microsocks dante v2ray best-ratio
for n in 1 4; do
	d=$($LG bulk 127.0.0.1 $SINK $n $SECS)
	o=$(run bulk $OS socks5 $SINK $n); m=$(run bulk $MS socks5 $SINK $n)
	da=$(run bulk $DS socks5 $SINK $n); v=$(run bulk $VS socks5 $SINK $n)
	b=$(best "$m" "$da" "$v")
	row "bulk MB/s, $n stream(s)" "$d" "$o" "$m" "$da" "$v" "$(ratio "$o" "$b")"
	row "  ostpd/direct" "" "$(ratio "$o" "$d")"
done
set -- $($LG rate 127.0.0.1 $ECHO 50 $SECS); d=$1 dp=$2 d9=$3; drate=$1
set -- $(run rate $OS socks5 $ECHO 50); o=$1 op=$2 o9=$3
set -- $(run rate $MS socks5 $ECHO 50); m=$1 mp=$2 m9=$3
set -- $(run rate $DS socks5 $ECHO 50); da=$1 dap=$2 da9=$3
set -- $(run rate $VS socks5 $ECHO 50); v=$1 vp=$2 v9=$3
row "conn/s" "$d" "$o" "$m" "$da" "$v" "$(ratio "$o" "$(best "$m" "$da" "$v")")"
row "p50 us" "$dp" "$op" "$mp" "$dap" "$vp"
row "p99 us" "$d9" "$o9" "$m9" "$da9" "$v9"
echo
echo "HTTP CONNECT"
row measure direct ostpd tinyproxy v2ray "" best-ratio
for n in 1 4; do
	d=$($LG bulk 127.0.0.1 $SINK $n $SECS)
	o=$(run bulk $OS http $SINK $n); t=$(run bulk $TP http $SINK $n)
	v=$(run bulk $VH http $SINK $n)
	row "bulk MB/s, $n stream(s)" "$d" "$o" "$t" "$v" "" "$(ratio "$o" "$(best "$t" "$v")")"
	row "  ostpd/direct" "" "$(ratio "$o" "$d")"
done
set -- $(run rate $OS http $ECHO 50); o=$1 op=$2 o9=$3
set -- $(run rate $TP http $ECHO 50); t=$1 tp=$2 t9=$3
set -- $(run rate $VH http $ECHO 50); v=$1 vp=$2 v9=$3
row "conn/s" "$drate" "$o" "$t" "$v" "" "$(ratio "$o" "$(best "$t" "$v")")"
row "p50 us" "" "$op" "$tp" "$vp"
row "p99 us" "" "$o9" "$t9" "$v9"

# Memory: 10,000 idle relayed SOCKS5 connections through ostpd.
W=$(pgrep -P $OPID | head -n 1)
[ "${WORKERS:-1}" = 1 ] || echo "(idle RSS below is one worker of ${WORKERS})"
rss0=$(awk '/VmRSS/ {print $2}' /proc/$W/status)
$LG idle 127.0.0.1 $OS 10000 3 socks5 $ECHO >"$OUT/idle-proxy.out" &
IPID=$!; PIDS="$PIDS $IPID"
for i in $(seq 1 600); do [ -s "$OUT/idle-proxy.out" ] && break; sleep 0.1; done
sleep 1
rss1=$(awk '/VmRSS/ {print $2}' /proc/$W/status)
n=$(head -n 1 "$OUT/idle-proxy.out")
wait $IPID
echo
echo "idle: $n SOCKS5 connections, worker RSS $rss0 -> $rss1 KiB:" \
	"$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { if (n > 0) printf "%.2f KiB per connection", (b - a) / n }')"
