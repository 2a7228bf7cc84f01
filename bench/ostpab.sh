#!/bin/sh
# A/B of two ostpd binaries on one OSTP bulk transfer over loopback:
# one TCP stream from loadgen through each binary's pair (client's
# SOCKS5 entry -> OSTP over UDP, mtu 1350 -> server -> sink), the two
# pairs taking turns for ROUNDS rounds (which one goes first alternates),
# so that the machine's drift weighs on both alike.  Prints, for every
# transfer, MB/s and the CPU seconds per GB of each OSTP end and of
# both.  Loopback only; every step runs SECS seconds.
#
# usage: sh bench/ostpab.sh OSTPD_A OSTPD_B
cd "$(dirname "$0")/.." || exit 1
[ $# = 2 ] || { echo "usage: $0 OSTPD_A OSTPD_B" >&2; exit 1; }
SECS=${SECS:-3}
. bench/lib.sh
loadgen_build || exit 1
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT INT TERM
K=0123456789abcdef0123456789abcdef
SINK=23501
$LG sink $SINK & PIDS="$PIDS $!"
i=0
for b in A B; do
	[ $b = A ] && bin=$1 || bin=$2
	o=$((23510 + i)); c=$((23520 + i)); i=$((i + 1))
	"$bin" -L "ostp://$K@127.0.0.1:$o?local_access=true&tcp=false" \
	    2>"$OUT/ab-srv-$b.log" & PIDS="$PIDS $!"; eval "SRV_$b=$!"
	"$bin" -L "socks5://127.0.0.1:$c" -F "ostp://$K@127.0.0.1:$o?mtu=1350" \
	    2>"$OUT/ab-cli-$b.log" & PIDS="$PIDS $!"; eval "CLI_$b=$!"
	eval "PORT_$b=$c"
done
sleep 2

# one transfer through pair $1: MB/s, CPU s/GB client, server, both
run() {
	eval "s=\$SRV_$1 c=\$CLI_$1 port=\$PORT_$1"
	s0=$(tree_ticks "$s"); c0=$(tree_ticks "$c")
	mb=$($LG bulk 127.0.0.1 "$port" 1 "$SECS" socks5 $SINK 2>/dev/null)
	s1=$(tree_ticks "$s"); c1=$(tree_ticks "$c")
	awk -v b="$1" -v mb="${mb:-0}" -v secs="$SECS" -v hz="$TCK" \
	    -v c=$((c1 - c0)) -v s=$((s1 - s0)) 'BEGIN {
		gb = mb * secs / 1000
		if (gb <= 0) { printf "%s %8s\n", b, "-"; exit }
		printf "%s %8.1f %8.2f %8.2f %8.2f\n", b, mb,
		    c / hz / gb, s / hz / gb, (c + s) / hz / gb }'
}

echo "A: $1"
echo "B: $2"
echo "1 TCP stream, OSTP udp mtu 1350, loopback, ${SECS}s per step, $(nproc) cores"
printf '%-7s %-2s %8s %8s %8s %8s\n' "" "" "MB/s" "cli s/GB" "srv s/GB" \
    "sum s/GB"
order="A B"
for r in $(seq 1 "$ROUNDS"); do
	for b in $order; do
		printf 'round %s ' "$r"
		run "$b"
	done
	order="$(echo $order | cut -d' ' -f2-) ${order%% *}"
done
