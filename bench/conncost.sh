#!/bin/sh
# Benchmark: what one connection costs.
#
# 1. One connection at a time (concurrency 1): connect to the proxy,
#    SOCKS5 (or HTTP CONNECT) to an echo server, 64-byte echo, close;
#    p50 and p99 latency and CPU per connection of ostpd's auto listener
#    against microsocks (SOCKS5) and tinyproxy (CONNECT).
# 2. Shadowsocks, CPU per connection: an ostpd ss client+server pair
#    against shadowsocks-libev's ss-local+ss-server, same cipher, the
#    same echo test with 32 connections in flight; CPU microseconds of
#    all processes of the pair per connection, and conn/s.
#
# Loopback only; every step runs SECS seconds and stops by itself;
# medians of ROUNDS interleaved rounds.  PARTS="1 2" chooses the parts;
# OLD=/path/to/another/ostpd adds its figures (old*) to the same run.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-4}
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
PARTS=${PARTS:-1 2}
. bench/lib.sh
mkdir -p "$OUT"
missing=""
for p in microsocks:microsocks tinyproxy:tinyproxy ss-server:shadowsocks-libev; do
	command -v "${p%%:*}" >/dev/null 2>&1 || missing="$missing ${p#*:}"
done
[ -n "$missing" ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1
loadgen_build || exit 1
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM

ECHO=23202
$LG echo $ECHO & PIDS="$PIDS $!"
row() { printf '%-24s %9s %9s %9s %9s %9s %9s %9s\n' "$@"; }

# rate SUBJECT PORT KIND CONC PIDS...: "conn/s p50 p99 cpu-us", the CPU
# being that of the PIDS (and their children) per connection
rate() {
	_port=$2 _kind=$3 _n=$4; shift 4
	_t0=0; for _p in "$@"; do _t0=$((_t0 + $(tree_ticks "$_p"))); done
	if [ "$_kind" = direct ]; then
		_o=$($LG rate 127.0.0.1 "$ECHO" "$_n" "$SECS" 2>/dev/null)
	else
		_o=$($LG rate 127.0.0.1 "$_port" "$_n" "$SECS" "$_kind" $ECHO 2>/dev/null)
	fi
	_t1=0; for _p in "$@"; do _t1=$((_t1 + $(tree_ticks "$_p"))); done
	set -- $_o
	[ -z "$1" ] && { echo "- - - -"; return; }
	_c=$(awk -v t=$((_t1 - _t0)) -v hz="$TCK" -v n="$1" -v s="$SECS" \
	    'BEGIN { if (n > 0) printf "%.0f\n", t / hz * 1e6 / (n * s); else print "-" }')
	[ "$_kind" = direct ] && _c=-
	echo "$1 $2 $3 $_c"
}

# table CONC SUBJECTS...: each subject is NAME:PORT:KIND:PIDVAR; prints
# conn/s, p50, p99 and CPU per connection, medians of ROUNDS rounds
table() {
	_conc=$1; shift
	all="$*"
	for s in $all; do eval "r_${s%%:*}= p_${s%%:*}= q_${s%%:*}= c_${s%%:*}="; done
	order=$all
	for r in $(seq 1 "$ROUNDS"); do
		for s in $order; do
			IFS=: read -r _nm _pt _kd _pv <<E
$s
E
			eval "_pids=\"\$$_pv\""
			set -- $(rate "$_nm" "$_pt" "$_kd" "$_conc" $_pids)
			eval "r_$_nm=\"\$r_$_nm $1\" p_$_nm=\"\$p_$_nm $2\"" \
			    "q_$_nm=\"\$q_$_nm $3\" c_$_nm=\"\$c_$_nm $4\""
		done
		order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
	done
	H="" R="" P="" Q="" C=""
	for s in $all; do
		_nm=${s%%:*}
		H="$H $_nm"
		eval "R=\"\$R \$(median \$r_$_nm)\" P=\"\$P \$(median \$p_$_nm)\"" \
		    "Q=\"\$Q \$(median \$q_$_nm)\" C=\"\$C \$(median \$c_$_nm)\""
	done
	row "" $H
	row "conn/s" $R
	row "p50 us" $P
	row "p99 us" $Q
	row "CPU us per connection" $C
	echo $P >"$OUT/conncost-p50"
	echo $C >"$OUT/conncost-cpu"
	echo $R >"$OUT/conncost-rate"
}

echo "connection cost, loopback, ${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"

case " $PARTS " in *" 1 "*)
OS=23210 MS=23211 TP=23212
"$BUILD/ostpd" -w 1 -L "auto://127.0.0.1:$OS" 2>"$OUT/conncost-ostpd.log" &
OPID=$!; PIDS="$PIDS $OPID"
MPID= TPID= XPID= XS=
if [ -x "${OLD:-}" ]; then
	"$OLD" -w 1 -L "auto://127.0.0.1:23213" 2>"$OUT/conncost-old.log" &
	XPID=$!; PIDS="$PIDS $XPID"
	XS="oldsocks:23213:socks5:XPID oldhttp:23213:http:XPID"
fi
command -v microsocks >/dev/null && { microsocks -i 127.0.0.1 -p $MS >/dev/null 2>&1 & MPID=$!; PIDS="$PIDS $!"; }
if command -v tinyproxy >/dev/null; then
	cat >"$OUT/conncost-tinyproxy.conf" <<T
Port $TP
Listen 127.0.0.1
MaxClients 4096
Timeout 60
LogLevel Critical
T
	tinyproxy -d -c "$OUT/conncost-tinyproxy.conf" >/dev/null 2>&1 & TPID=$!; PIDS="$PIDS $!"
fi
sleep 1.5
NONE=
echo
echo "1. one connection at a time: connect, handshake, 64-byte echo, close"
table 1 direct:0:direct:NONE osocks:$OS:socks5:OPID \
    microsocks:$MS:socks5:MPID ohttp:$OS:http:OPID tinyproxy:$TP:http:TPID $XS
set -- $(cat "$OUT/conncost-p50")
b=$(printf '%s\n' "$3" "$5" | grep -v '^-$' | sort -g | head -n 1)
echo "  p50 osocks/best peer $(ratio "$2" "$b"), ohttp/best peer $(ratio "$4" "$b")," \
    "osocks/microsocks $(ratio "$2" "$3"), ohttp/tinyproxy $(ratio "$4" "$5")"
[ -n "$XS" ] && echo "  p50 osocks/oldsocks $(ratio "$2" "$6"), ohttp/oldhttp $(ratio "$4" "$7")"
kill $OPID $MPID $TPID $XPID 2>/dev/null
wait $OPID $MPID $TPID $XPID 2>/dev/null
;; esac

case " $PARTS " in *" 2 "*)
echo
echo "2. Shadowsocks pair (client+server), 32 connections in flight;"
echo "   CPU us per connection of both processes of the pair"
for m in aes-256-gcm chacha20-ietf-poly1305; do
	OS=23220 LS=23221 OC=23222 LC=23223
	"$BUILD/ostpd" -w 1 -L "ss://$m:bench@127.0.0.1:$OS" 2>"$OUT/conncost-sss.log" &
	P1=$!; PIDS="$PIDS $P1"
	"$BUILD/ostpd" -w 1 -L "socks5://127.0.0.1:$OC" -F "ss://$m:bench@127.0.0.1:$OS" \
	    2>"$OUT/conncost-ssc.log" & P2=$!; PIDS="$PIDS $P2"
	ss-server -s 127.0.0.1 -p $LS -k bench -m $m >/dev/null 2>&1 & P3=$!; PIDS="$PIDS $P3"
	ss-local -s 127.0.0.1 -p $LS -b 127.0.0.1 -l $LC -k bench -m $m >/dev/null 2>&1 &
	P4=$!; PIDS="$PIDS $P4"
	OPAIR="$P1 $P2" LPAIR="$P3 $P4" XPAIR= XS= P5= P6=
	if [ -x "${OLD:-}" ]; then
		"$OLD" -w 1 -L "ss://$m:bench@127.0.0.1:23224" 2>"$OUT/conncost-osss.log" &
		P5=$!; PIDS="$PIDS $P5"
		"$OLD" -w 1 -L "socks5://127.0.0.1:23225" -F "ss://$m:bench@127.0.0.1:23224" \
		    2>"$OUT/conncost-ossc.log" & P6=$!; PIDS="$PIDS $P6"
		XPAIR="$P5 $P6" XS="old:23225:socks5:XPAIR"
	fi
	sleep 1.5
	echo
	echo "$m"
	table 32 ostpd:$OC:socks5:OPAIR libev:$LC:socks5:LPAIR $XS
	set -- $(cat "$OUT/conncost-cpu")
	echo "  CPU per connection ostpd/libev $(ratio "$1" "$2")${3:+, old/libev $(ratio "$3" "$2")};" \
	    "conn/s ostpd/libev $(ratio "$(head -n 1 "$OUT/conncost-rate" | cut -d' ' -f1)" \
	    "$(head -n 1 "$OUT/conncost-rate" | cut -d' ' -f2)")"
	kill $P1 $P2 $P3 $P4 $P5 $P6 2>/dev/null
	wait $P1 $P2 $P3 $P4 $P5 $P6 2>/dev/null
done
;; esac
