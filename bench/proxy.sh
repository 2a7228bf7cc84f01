#!/bin/sh
# Benchmark: ostpd as a SOCKS5 and an HTTP CONNECT proxy against the
# proxies people run today (microsocks, dante, tinyproxy, v2ray), in one
# run, on loopback, with a direct connection as the limit.  Every step
# runs SECS seconds and stops by itself.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-5}
. bench/lib.sh
missing=""
for p in microsocks:microsocks danted:dante-server tinyproxy:tinyproxy v2ray:v2ray; do
	command -v "${p%%:*}" >/dev/null 2>&1 || missing="$missing ${p#*:}"
done
[ -n "$missing" ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1
loadgen_build || exit 1
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
command -v microsocks >/dev/null && { microsocks -i 127.0.0.1 -p $MS >/dev/null 2>&1 & MPID=$!; PIDS="$PIDS $!"; }
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
	danted -f "$OUT/danted.conf" -N 2 >/dev/null 2>&1 & DPID=$!; PIDS="$PIDS $!"
fi
if command -v tinyproxy >/dev/null; then
	cat >"$OUT/tinyproxy.conf" <<T
Port $TP
Listen 127.0.0.1
MaxClients 4096
Timeout 60
LogLevel Critical
T
	tinyproxy -d -c "$OUT/tinyproxy.conf" >/dev/null 2>&1 & TPID=$!; PIDS="$PIDS $!"
fi
if command -v v2ray >/dev/null; then
	cat >"$OUT/v2ray.json" <<V
{"log": {"loglevel": "none"},
 "inbounds": [{"listen": "127.0.0.1", "port": $VS, "protocol": "socks", "settings": {"auth": "noauth"}},
              {"listen": "127.0.0.1", "port": $VH, "protocol": "http"}],
 "outbounds": [{"protocol": "freedom"}]}
V
	v2ray -config "$OUT/v2ray.json" >/dev/null 2>&1 & VPID=$!; PIDS="$PIDS $!"
fi
sleep 1.5

row() { printf '%-26s %10s %10s %10s %10s %10s %10s\n' "$@"; }
padrow() {	# padrow LABEL LAST V...: the values padded to five columns
	_l=$1 _z=$2; shift 2
	while [ $# -lt 5 ]; do set -- "$@" ""; done
	row "$_l" "$1" "$2" "$3" "$4" "$5" "$_z"
}
best() { printf '%s\n' "$@" | grep -v '^-$' | sort -g | tail -n 1; }

# port and process of a subject; KIND is socks5 or http
subject() {
	case $1 in
	direct) port=$SINK pid= ;;
	ostpd) port=$OS pid=$OPID ;;
	microsocks) port=$MS pid=$MPID ;;
	dante) port=$DS pid=$DPID ;;
	tinyproxy) port=$TP pid=$TPID ;;
	v2ray) [ "$KIND" = socks5 ] && port=$VS || port=$VH; pid=$VPID ;;
	esac
}

# measure MODE SUBJECT N: the figure (MB/s, or "conn/s p50 p99"); for
# rate, the CPU microseconds per connection of the subject's processes
# go to $OUT/cpu-SUBJECT (and ostpd's user share to $OUT/user-ostpd)
measure() {
	subject "$2"; _s=$2
	if [ -z "$pid" ] && [ "$2" != direct ]; then echo -; return; fi
	[ "$1" = rate ] && dport=$ECHO || dport=$SINK
	[ -n "$pid" ] && { t0=$(tree_ticks "$pid"); u0=$(tree_ticks "$pid" u); }
	if [ "$2" = direct ]; then
		_o=$($LG "$1" 127.0.0.1 "$dport" "$3" "$SECS" 2>/dev/null)
	else
		_o=$($LG "$1" 127.0.0.1 "$port" "$3" "$SECS" "$KIND" "$dport" 2>/dev/null)
	fi
	if [ "$1" = rate ] && [ -n "$pid" ] && [ -n "$_o" ]; then
		t1=$(tree_ticks "$pid"); u1=$(tree_ticks "$pid" u)
		set -- $_o
		awk -v t=$((t1 - t0)) -v hz="$TCK" -v n="$1" -v s="$SECS" \
		    'BEGIN { if (n > 0) printf "%.0f\n", t / hz * 1e6 / (n * s) }' \
		    >>"$OUT/cpu-$_s"
		[ "$_s" = ostpd ] && awk -v u=$((u1 - u0)) -v t=$((t1 - t0)) \
		    'BEGIN { if (t > 0) printf "%.0f\n", 100 * u / t }' >>"$OUT/user-ostpd"
	fi
	echo "${_o:--}"
}

# table KIND SUBJECTS...: bulk for 1 and 4 streams, then the rate test,
# each the median of ROUNDS rounds in which the subjects take turns
table() {
	KIND=$1; shift
	all="$*"; peers=$(echo "$all" | cut -d' ' -f3-)
	rm -f "$OUT"/cpu-* "$OUT"/user-ostpd
	padrow measure best-ratio $all
	for n in 1 4; do
		for s in $all; do eval "v_$s="; done
		order=$all
		for r in $(seq 1 "$ROUNDS"); do
			for s in $order; do eval "v_$s=\"\$v_$s $(measure bulk $s $n)\""; done
			order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
		done
		line="" b=""
		for s in $all; do eval "m_$s=\$(median \$v_$s)"; eval "line=\"\$line \$m_$s\""; done
		for s in $peers; do eval "b=\"\$b \$m_$s\""; done
		b=$(best $b)
		padrow "bulk MB/s, $n stream(s)" "$(ratio "$m_ostpd" "$b")" $line
		row "  ostpd/direct" "" "$(ratio "$m_ostpd" "$m_direct")"
	done
	for s in $all; do eval "r_$s= p_$s= q_$s="; done
	order=$all
	for r in $(seq 1 "$ROUNDS"); do
		for s in $order; do
			set -- $(measure rate $s 50)
			eval "r_$s=\"\$r_$s ${1:--}\" p_$s=\"\$p_$s ${2:--}\" q_$s=\"\$q_$s ${3:--}\""
		done
		order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
	done
	R="" P="" Q="" C="" b=""
	for s in $all; do
		eval "R=\"\$R \$(median \$r_$s)\" P=\"\$P \$(median \$p_$s)\" Q=\"\$Q \$(median \$q_$s)\""
		if [ "$s" = direct ]; then C="$C -"; else C="$C $(median $(cat "$OUT/cpu-$s" 2>/dev/null))"; fi
	done
	for s in $peers; do eval "b=\"\$b \$(median \$r_$s)\""; done
	set -- $R
	padrow "conn/s" "$(ratio "$2" "$(best $b)")" $R
	padrow "p50 us" "" $P
	padrow "p99 us" "" $Q
	padrow "CPU us per connection" "" $C
	echo "  (ostpd: $(median $(cat "$OUT/user-ostpd" 2>/dev/null))% of it in user space, the rest in the kernel)"
}

echo "proxies, loopback, ${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"
echo
echo "SOCKS5"
table socks5 direct ostpd microsocks dante v2ray
echo
echo "HTTP CONNECT"
table http direct ostpd tinyproxy v2ray

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
