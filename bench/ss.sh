#!/bin/sh
# Benchmark: Shadowsocks TCP throughput, ostpd client+server against
# shadowsocks-libev's ss-local+ss-server with the same cipher, and each
# ostpd role paired with the other program (the tcp:// forward against a
# direct connection is in run.sh).  Loopback; every step runs SECS
# seconds and stops by itself; a SOCKS5 client (bench/loadgen) drives
# the client side of each pair; medians of ROUNDS interleaved rounds.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-5}
. bench/lib.sh
command -v ss-server >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq shadowsocks-libev >/dev/null 2>&1
loadgen_build || exit 1
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM

SINK=23101
$LG sink $SINK & PIDS="$PIDS $!"
row() { printf '%-30s %10s %10s %10s %10s %10s\n' "$@"; }
bulk() {	# bulk SOCKSPORT N
	_o=$($LG bulk 127.0.0.1 "$1" "$2" "$SECS" socks5 $SINK 2>/dev/null)
	echo "${_o:--}"
}

echo "shadowsocks, loopback, ${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"
for m in aes-128-gcm chacha20-ietf-poly1305; do
	# servers: ostpd on OS, ss-server on LS; clients: ostpd and ss-local
	# to each, as SOCKS5 entries.
	OS=23110 LS=23111 OO=23112 LL=23113 OL=23114 LO=23115
	"$BUILD/ostpd" -L "ss://$m:bench@127.0.0.1:$OS" 2>"$OUT/ss-ostpd-srv.log" & PIDS="$PIDS $!"; P1=$!
	ss-server -s 127.0.0.1 -p $LS -k bench -m $m >/dev/null 2>&1 & PIDS="$PIDS $!"; P2=$!
	"$BUILD/ostpd" -L "socks5://127.0.0.1:$OO" -F "ss://$m:bench@127.0.0.1:$OS" \
	    2>"$OUT/ss-ostpd-cli.log" & PIDS="$PIDS $!"; P3=$!
	"$BUILD/ostpd" -L "socks5://127.0.0.1:$OL" -F "ss://$m:bench@127.0.0.1:$LS" \
	    2>"$OUT/ss-ostpd-cli2.log" & PIDS="$PIDS $!"; P4=$!
	ss-local -s 127.0.0.1 -p $LS -b 127.0.0.1 -l $LL -k bench -m $m >/dev/null 2>&1 & PIDS="$PIDS $!"; P5=$!
	ss-local -s 127.0.0.1 -p $OS -b 127.0.0.1 -l $LO -k bench -m $m >/dev/null 2>&1 & PIDS="$PIDS $!"; P6=$!
	sleep 1.5
	echo
	echo "$m"
	row "bulk MB/s" "ostpd pair" "libev pair" "ratio" "ostpd->libev" "libev->ostpd"
	for n in 1 4; do
		v_OO= v_LL= v_OL= v_LO=
		order="OO LL OL LO"
		for r in $(seq 1 "$ROUNDS"); do
			for s in $order; do
				eval "port=\$$s"
				eval "v_$s=\"\$v_$s $(bulk "$port" $n)\""
			done
			order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
		done
		o=$(median $v_OO); l=$(median $v_LL); ol=$(median $v_OL); lo=$(median $v_LO)
		row "  $n stream(s)" "$o" "$l" "$(ratio "$o" "$l")" "$ol" "$lo"
	done
	kill $P1 $P2 $P3 $P4 $P5 $P6 2>/dev/null
	wait $P1 $P2 $P3 $P4 $P5 $P6 2>/dev/null
	sleep 0.5
done
