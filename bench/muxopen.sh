#!/bin/sh
# Benchmark: what a new stream on an established multiplexed session
# costs (mwss, mtls, h2: ostpd -> ostpd), one connection at a time.
#
# The load tool (loadgen open) connects to a tcp:// forward of the
# client ostpd and writes one byte; it is also the target the path
# leads to, and times when the forwarded connection reaches it (open)
# and when the byte does (first byte).  The client forwards through the
# server with the relay protocol: over a mux transport a new stream on
# the pooled session (made by the warm-up), over "tcp" a new TCP
# connection.  "single" is one ostpd forwarding straight to the target,
# "direct" no forwarder.  A pair's open minus single's is what the
# second hop costs: the stream's open on the client, its SYN and the
# request in one write, the server's accept of the stream and its
# parsing of the request (both dial the target alike).  The first byte
# waits besides for the relay protocol's answer (a round trip).
#
# Loopback; every step runs SECS seconds and stops by itself; medians
# of ROUNDS interleaved rounds.  OLD=/path/to/another/ostpd adds its
# mwss and mtls pairs (omwss, omtls) to the same run.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-4}
. bench/lib.sh
loadgen_build || exit 1
ulimit -n "$(ulimit -Hn)"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM

TGT=23302	# the target: loadgen open listens there while it runs
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$OUT/mkey.pem" -out "$OUT/mcert.pem" -days 2 -subj /CN=bench \
    >/dev/null 2>&1 || exit 1
C="cert=$OUT/mcert.pem&key=$OUT/mkey.pem"

# single: one ostpd; the pairs: client FPORT -> server SPORT over T
"$BUILD/ostpd" -w 1 -L "tcp://127.0.0.1:23310/127.0.0.1:$TGT" \
    2>"$OUT/muxopen-single.log" & PIDS="$PIDS $!"
pair() {	# pair FPORT SPORT TRANSPORT [BINARY]
	_b=${4:-$BUILD/ostpd}
	"$_b" -w 1 -L "relay+$3://127.0.0.1:$2?$C" \
	    2>"$OUT/muxopen-$3${4:+-old}-srv.log" & PIDS="$PIDS $!"
	"$_b" -w 1 -L "tcp://127.0.0.1:$1/127.0.0.1:$TGT" \
	    -F "relay+$3://127.0.0.1:$2" 2>"$OUT/muxopen-$3${4:+-old}-cli.log" &
	PIDS="$PIDS $!"
}
pair 23311 23321 tcp
pair 23312 23322 mwss
pair 23313 23323 mtls
pair 23314 23324 h2
all="direct single tcp mwss mtls h2"
if [ -x "${OLD:-}" ]; then
	pair 23315 23325 mwss "$OLD"
	pair 23316 23326 mtls "$OLD"
	all="$all omwss omtls"
fi
sleep 1.5
port_of() {
	case $1 in direct) echo $TGT ;; single) echo 23310 ;; tcp) echo 23311 ;;
	mwss) echo 23312 ;; mtls) echo 23313 ;; h2) echo 23314 ;;
	omwss) echo 23315 ;; omtls) echo 23316 ;; esac
}
# warm-up: the mux pairs' sessions are made here, not in the figures
for s in $all; do $LG open 127.0.0.1 "$(port_of $s)" 0.5 $TGT >/dev/null 2>&1; done

row() { printf '%-22s %8s %8s %8s %8s %8s %8s %8s %8s\n' "$@"; }
for s in $all; do eval "a_$s= b_$s= c_$s= d_$s="; done
order=$all
for r in $(seq 1 "$ROUNDS"); do
	for s in $order; do
		set -- $($LG open 127.0.0.1 "$(port_of $s)" "$SECS" $TGT 2>/dev/null)
		eval "a_$s=\"\$a_$s ${1:--}\" b_$s=\"\$b_$s ${2:--}\"" \
		    "c_$s=\"\$c_$s ${3:--}\" d_$s=\"\$d_$s ${4:--}\""
	done
	order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
done
echo "a new stream on an established session, one connection at a time," \
    "loopback, ${SECS}s per step, median of $ROUNDS rounds, $(nproc) cores"
echo "(connect to a tcp:// forward and write a byte; tcp/mwss/mtls/h2:"
echo " through a second ostpd with the relay protocol over that transport)"
echo
row "" $all
A="" B="" C="" D="" E=""
for s in $all; do
	eval "A=\"\$A \$(median \$a_$s)\" B=\"\$B \$(median \$b_$s)\"" \
	    "C=\"\$C \$(median \$c_$s)\" D=\"\$D \$(median \$d_$s)\""
done
set -- $A
for v in "$@"; do
	E="$E $(awk -v a="$v" -v b="$2" 'BEGIN { if (a != "-" && b != "-") printf "%d", a - b; else print "-" }')"
done
row "open p50 us" $A
row "open p99 us" $B
row "first byte p50 us" $C
row "first byte p99 us" $D
row "open p50 - single us" $E
