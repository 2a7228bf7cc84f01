#!/bin/sh
# Benchmark: a chain whose hop is named against the same chain given by
# address, same run.  Two ostpd clients, each a SOCKS5 listener with a
# chain of one SOCKS5 hop (a third ostpd; notls=true, so that no TLS
# handshake of gost's 0x80 method hides the resolver's cost): one names
# the hop "hop.test" (answered by a local unbound, then from the resolver's
# cache), the other gives 127.0.0.1.  SOCKS5 connect + 64-byte echo +
# close through each, 8 connections in flight; conn/s and p50, medians
# of ROUNDS interleaved rounds, and the ratio named/address.
#
# Loopback only; each step runs SECS seconds and stops by itself.
cd "$(dirname "$0")/.." || exit 1
SECS=${SECS:-4}
CONC=${CONC:-8}
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench}
OSTPD=$PWD/$BUILD/ostpd
. bench/lib.sh
mkdir -p "$OUT"
command -v unbound >/dev/null || { echo "unbound missing (make deps)"; exit 1; }
loadgen_build || exit 1
ulimit -n "$(ulimit -Hn)"
PIDS=""
D=$(mktemp -d)
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$D"' EXIT INT TERM

ECHO=23302 DNS=23303 HOP=23304 PN=23305 PA=23306
cat >"$D/unbound.conf" <<E
server:
    interface: 127.0.0.1@$DNS
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$D"
    pidfile: "$D/unbound.pid"
    use-syslog: no
    do-not-query-localhost: yes
    access-control: 127.0.0.0/8 allow
    local-zone: "test." static
    local-data: "hop.test. 3600 IN A 127.0.0.1"
remote-control:
    control-enable: no
E
unbound -d -c "$D/unbound.conf" >"$D/unbound.out" 2>&1 & PIDS="$PIDS $!"
$LG echo $ECHO & PIDS="$PIDS $!"
"$OSTPD" -w 1 -L "socks5://127.0.0.1:$HOP" >"$D/hop.log" 2>&1 & PIDS="$PIDS $!"
"$OSTPD" -w 1 -L "socks5://127.0.0.1:$PN?dns=127.0.0.1:$DNS" \
    -F "socks5://hop.test:$HOP?notls=true" >"$D/named.log" 2>&1 & NAMED=$!
"$OSTPD" -w 1 -L "socks5://127.0.0.1:$PA?dns=127.0.0.1:$DNS" \
    -F "socks5://127.0.0.1:$HOP?notls=true" >"$D/addr.log" 2>&1 & ADDR=$!
PIDS="$PIDS $NAMED $ADDR"
for p in $PN $PA; do
	i=0
	until $LG rate 127.0.0.1 $p 1 1 socks5 $ECHO >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 50 ] && { echo "no listener on $p"; exit 1; }
		sleep 0.1
	done
done

rn= pn= ra= pa=
for r in $(seq 1 "$ROUNDS"); do
	for s in named addr; do
		[ $s = named ] && port=$PN || port=$PA
		set -- $($LG rate 127.0.0.1 $port "$CONC" "$SECS" socks5 $ECHO 2>/dev/null)
		if [ $s = named ]; then rn="$rn ${1:--}"; pn="$pn ${2:--}"
		else ra="$ra ${1:--}"; pa="$pa ${2:--}"; fi
	done
done
RN=$(median $rn) RA=$(median $ra) PNm=$(median $pn) PAm=$(median $pa)
printf '%-28s %10s %10s\n' "chain hop given as" "conn/s" "p50 us"
printf '%-28s %10s %10s\n' "name (hop.test, cached)" "$RN" "$PNm"
printf '%-28s %10s %10s\n' "address (127.0.0.1)" "$RA" "$PAm"
echo "named/address conn/s: $(ratio "$RN" "$RA")"
