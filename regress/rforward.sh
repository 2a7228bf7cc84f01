# Remote forwarding: rtcp:// and rudp:// open their port on the chain's
# last hop (an ostpd SOCKS5 server: BIND and gost's UDP-over-TCP with a
# bind address), carry concurrent connections and datagrams to local
# targets, and come back by themselves when the hop is restarted.
. regress/lib.sh

E=$(free_port); UE=$(free_port); H=$(free_port); RT=$(free_port); RU=$(free_port)
start_echo "$E"
start_udpecho "$UE"
start_ostpd hop -D -L "socks5://127.0.0.1:$H"
HOPPID=$OPID
wait_port "$H" || fatal "hop"
start_ostpd rf -D -L "rtcp://:$RT/127.0.0.1:$E" -L "rudp://:$RU/127.0.0.1:$UE" \
    -F "socks5://127.0.0.1:$H"
wait_port "$RT" || fatal "the rtcp port did not open on the hop"
wait_log "$LOGDIR/rf.log" "rudp://:$RU.*port $RU open on the hop" || fatal "rudp"

$NETTOOL xfer 127.0.0.1 "$RT" 200000 8 >"$LOGDIR/x1.out" 2>&1 ||
    fail "rtcp: $(cat "$LOGDIR/x1.out")"
n=$($NETTOOL udpcheck 127.0.0.1 "$RU" 10)
[ "$n" = 10 ] || fail "rudp: $n of 10 round trips"

# the hop restarts: both come back
kill "$HOPPID"
wait_gone "$HOPPID" || fatal "the hop did not exit"
start_ostpd hop2 -D -L "socks5://127.0.0.1:$H"
wait_log "$LOGDIR/rf.log" "trying again" 5 || fail "no retry after the hop went away"
wait_count "$LOGDIR/rf.log" "rtcp://:$RT.*open on the hop" 2 20 &&
    wait_count "$LOGDIR/rf.log" "rudp://:$RU.*open on the hop" 2 20 ||
    fail "rtcp and rudp not opened again on the restarted hop"
wait_port "$RT" || fail "rtcp did not come back"
$NETTOOL xfer 127.0.0.1 "$RT" 100000 4 >"$LOGDIR/x2.out" 2>&1 ||
    fail "rtcp after the restart: $(cat "$LOGDIR/x2.out")"
n=$($NETTOOL udpcheck 127.0.0.1 "$RU" 5)
[ "$n" = 5 ] || fail "rudp after the restart: $n of 5"

# gost's MBIND: one smux session carries every peer
H2=$(free_port); RM=$(free_port)
start_ostpd hopm -D -L "socks5://127.0.0.1:$H2"
wait_port "$H2" || fatal "mbind hop"
start_ostpd rfm -D -L "rtcp://:$RM/127.0.0.1:$E" -F "socks5://127.0.0.1:$H2?mbind=true"
wait_port "$RM" || fatal "the mbind port did not open"
$NETTOOL xfer 127.0.0.1 "$RM" 1000000 8 >"$LOGDIR/xm.out" 2>&1 ||
    fail "rtcp over MBIND: $(cat "$LOGDIR/xm.out")"
grep -q "mbind: listening on port $RM" "$LOGDIR/hopm.log" || fail "the hop did not serve MBIND"
# peers are taken to the target from this side (gost: the local side
# dials), never through the hop; the hop only sees the binds
! grep -q "socks5 to 127.0.0.1:$E" "$LOGDIR/hop.log" "$LOGDIR/hopm.log" ||
    fail "the target was dialed through the hop"
grep -q "socks5 inside TLS" "$LOGDIR/hop.log" ||
    fail "the SOCKS5 connector did not use gost's TLS method for BIND"
grep -q "socks5 inside TLS" "$LOGDIR/hopm.log" ||
    fail "the SOCKS5 connector did not use gost's TLS method for MBIND"
[ "$(grep -c "open on the hop" "$LOGDIR/rfm.log")" -eq 1 ] ||
    fail "MBIND opened the port more than once"

# relay's BIND (gost v3): smux streams that open with a relay response
H3=$(free_port); RR=$(free_port)
start_ostpd hopr -D -L "relay://127.0.0.1:$H3"
HRPID=$OPID
wait_port "$H3" || fatal "relay hop"
start_ostpd rfr -D -L "rtcp://:$RR/127.0.0.1:$E" -F "relay://127.0.0.1:$H3"
wait_port "$RR" || fatal "the relay-bound port did not open"
$NETTOOL xfer 127.0.0.1 "$RR" 500000 8 >"$LOGDIR/xr.out" 2>&1 ||
    fail "rtcp over a relay hop: $(cat "$LOGDIR/xr.out")"
grep -q "bind: listening on port $RR" "$LOGDIR/hopr.log" || fail "the relay hop did not bind"
kill "$HRPID"
wait_gone "$HRPID" || fatal "the relay hop did not exit"
start_ostpd hopr2 -D -L "relay://127.0.0.1:$H3"
wait_count "$LOGDIR/rfr.log" "open on the hop" 2 20 ||
    fail "not opened again on the restarted relay hop"
wait_port "$RR" || fail "rtcp over relay did not come back"
$NETTOOL xfer 127.0.0.1 "$RR" 100000 2 >"$LOGDIR/xr2.out" 2>&1 ||
    fail "rtcp over relay after the restart: $(cat "$LOGDIR/xr2.out")"

# A hop with four workers: each BIND may reach any of them, and finds
# the port the last one left with the monitor (no worker owns it).
H4=$(free_port); R4=$(free_port)
printf '{"workers": 4, "inbounds": ["socks5://127.0.0.1:%s"]}\n' "$H4" \
    >"$LOGDIR/hop4.json"
CONFIG_WORKERS=1; start_ostpd hop4 -D -C "$LOGDIR/hop4.json"; CONFIG_WORKERS=
wait_port "$H4" || fatal "four-worker hop"
start_ostpd rf4 -D -L "rtcp://:$R4/127.0.0.1:$E" -F "socks5://127.0.0.1:$H4"
wait_port "$R4" || fatal "rtcp through the four-worker hop"
for i in $(seq 1 12); do
	$NETTOOL xfer 127.0.0.1 "$R4" 10000 1 >>"$LOGDIR/x4.out" 2>&1 ||
	    fail "rtcp through four workers, connection $i"
done
! grep -q "trying again" "$LOGDIR/rf4.log" ||
    fail "a BIND through the four-worker hop failed: $(grep "trying again" "$LOGDIR/rf4.log" | head -n 1)"

# gost's rtcp naming one of the hop's own addresses: the hop listens
# on that address and port (before, it took the address for RFC 1928's
# expected peer and listened on a random port)
RS=$(free_port)
start_ostpd rfs -D -L "rtcp://127.0.0.1:$RS/127.0.0.1:$E" -F "socks5://127.0.0.1:$H4"
wait_port "$RS" || fatal "rtcp on 127.0.0.1:$RS"
ss -ltn "sport = :$RS" | grep -q "127.0.0.1:$RS" ||
    fail "the forwarded port is not on 127.0.0.1"
for i in 1 2 3; do
	$NETTOOL xfer 127.0.0.1 "$RS" 10000 1 >>"$LOGDIR/xs.out" 2>&1 ||
	    fail "rtcp://127.0.0.1:port through an ostpd hop, connection $i"
done

"$OSTPD" -t -L "rtcp://:9000/127.0.0.1:22" >"$LOGDIR/nochain.out" 2>&1 &&
    fail "rtcp without a chain was accepted"
grep -q "remote forwarding needs a chain" "$LOGDIR/nochain.out" ||
    fail "no clear error for rtcp without a chain"

finish
