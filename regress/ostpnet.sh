# OSTP over real kernel devices: a client namespace, a router namespace
# (forwarding, loss and reordering, NAT) and a server namespace (ostpd
# server and a web server), joined by veth pairs.
#   loss:    5% loss and reordering both ways on the router; curl of
#            3 MB through the ostpd client's proxy is byte-exact, twice
#            on one session, and at once when the loss is gone; so is
#            ostptool.py's fetch (an independent client).
#   roaming: the router masquerades the client; mid-download the
#            mapping changes (new port range, conntrack entry deleted),
#            so the server sees the client at a new source port; the
#            download completes byte-exact and the server logs "moved".
#   desync:  ttl_desync with a fixed TTL of 1: the router counts exactly
#            ttl_desync_count decoys with TTL 1 before the handshake, the
#            server none; with ttl_desync_auto the hop probe finds the
#            one router (logged) and the decoys die there too; curl
#            through both tunnels is byte-exact.
#   uot move: over UDP-over-TCP, mid-download the router resets the
#            client's TCP connection (REJECT with tcp-reset on its
#            port), later silently drops the next one: each time the
#            client moves the session to a new TCP connection (§2.10,
#            no new handshake: one session in the server's log), the
#            download completes byte-exact.
#   restart: the server ostpd is killed and started again on the same
#            port; the client's next curls succeed once it reconnects.
. regress/lib.sh

command -v tc >/dev/null || skip "no tc"
command -v iptables >/dev/null || skip "no iptables"

CN=ostpn-c$$; RN=ostpn-r$$; SN=ostpn-s$$
ns_line "$CN" "$RN" "$SN" 10.91.1 10.91.2
VC=cc$$; VRC=cm$$; VRS=mw$$; VS=wm$$
# One datagram per packet on the wire: ostpd sends with UDP GSO, and a
# GSO packet crosses the router whole, so the router's loss and
# reordering would hit batches of datagrams instead of datagrams.
ip -n "$CN" link set "$VC" gso_max_segs 1 2>/dev/null &&
    ip -n "$SN" link set "$VS" gso_max_segs 1 2>/dev/null ||
	log "no gso_max_segs: loss and reordering hit GSO batches"
ip netns exec "$CN" ping -c 1 -W 2 10.91.2.2 >/dev/null 2>&1 ||
	fatal "no route from the client to the server namespace"

TOOL="/usr/bin/python3 $PWD/regress/tools/ostptool.py"
W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 3000000)
want2=$(make_blob "$W/big" 20000000)
H=8080; S=5443; P=1080
KEY=0123456789abcdef0123456789abcdef
start_web web "$W" "$H" 10.91.2.2 "$SN"

# in NS NAME ARGS...: ostpd in a namespace, one worker (NW), debug log
in_ns() {
	_ns=$1; _name=$2; shift 2
	ip netns exec "$_ns" "$OSTPD" -w "${NW:-1}" -D "$@" \
	    >>"$LOGDIR/$_name.log" 2>&1 &
	OPID=$!
	PIDS="$PIDS $OPID"
}
in_ns "$SN" srv -L "ostp://$KEY@10.91.2.2:$S?local_access=true"
SPID=$OPID
wait_log "$LOGDIR/srv.log" "running" 5 || fatal "ostpd server"
# new_client: a fresh ostpd client (the previous one stopped), so that
# each part starts with a new session; its proxy on 127.0.0.1:$P
CPID=; P=1079
new_client() {
	_q=${1:-}
	if [ -n "$CPID" ]; then
		kill "$CPID"
		wait_gone "$CPID" || fatal "ostpd client still running"
	fi
	P=$((P + 1))
	in_ns "$CN" cli -L "auto://127.0.0.1:$P" \
	    -F "ostp://$KEY@10.91.2.2:${SP:-$S}$_q"
	CPID=$OPID
	wait_port "$P" 127.0.0.1 "$CN" || fatal "ostpd client"
}
new_client

# get FILE OUT SECONDS [CURL OPTIONS]: FILE through the client's proxy
# into OUT (in the client namespace); the sha256 of OUT
get() {
	_f=$1; _o=$2; _t=$3; shift 3
	rm -f "$_o"
	ip netns exec "$CN" curl -sS --max-time "$_t" "$@" \
	    --socks5-hostname "127.0.0.1:$P" "http://10.91.2.2:$H/$_f" \
	    -o "$_o" 2>>"$LOGDIR/curl.err"
	[ -f "$_o" ] && sha256sum <"$_o" | cut -d' ' -f1
}
[ "$(get blob "$LOGDIR/out0" 30)" = "$want" ] ||
	fatal "curl through the tunnel without impairment"

# --- loss and reordering ---------------------------------------------------
# netem where the kernel has it; otherwise the same loss from iptables'
# statistic match, and reordering from a random tenth of the packets
# classified into a slow HTB class (they wait behind each other while
# the rest pass).
IMPAIR=
if ip netns exec "$RN" tc qdisc add dev "$VRC" root netem loss 5% \
    delay 5ms 2ms reorder 10% 2>/dev/null; then
	ip netns exec "$RN" tc qdisc add dev "$VRS" root netem loss 5% \
	    delay 5ms 2ms reorder 10% && IMPAIR=netem
else
	ok=1
	for d in "$VRC" "$VRS"; do
		ip netns exec "$RN" sh -e -c "
		    tc qdisc add dev $d root handle 1: htb default 10
		    tc class add dev $d parent 1: classid 1:10 htb rate 1gbit
		    tc class add dev $d parent 1: classid 1:20 htb rate 20mbit \
			ceil 20mbit
		    iptables -t mangle -A POSTROUTING -o $d -p udp \
			-m statistic --mode random --probability 0.1 \
			-j CLASSIFY --set-class 1:20
		    iptables -A FORWARD -o $d -p udp \
			-m statistic --mode random --probability 0.05 -j DROP
		" 2>>"$LOGDIR/impair.err" || ok=0
	done
	[ "$ok" = 1 ] && IMPAIR="iptables statistic loss, HTB reordering"
fi
if [ -n "$IMPAIR" ]; then
	log "loss part: $IMPAIR"
	t0=$(date +%s)
	[ "$(get blob "$LOGDIR/out1" 120)" = "$want" ] ||
		fail "3 MB through 5% loss and reordering ($IMPAIR)"
	log "loss: 3 MB in $(( $(date +%s) - t0 ))s"
	# the same session, still lossy: a second request is served too.
	# (It fails about every other run, a daemon bug: the server's srtt
	# grows to seconds on this ~1 ms path, it NACKs the one missing
	# client nonce rto/2 apart, so each client datagram lost at the
	# router holds everything behind it, the next Connect included,
	# back ~2 s, and a few in a row outlast the 5 s connect timeout.)
	t0=$(date +%s)
	[ "$(get blob "$LOGDIR/out1b" 60)" = "$want" ] ||
		fail "a second 3 MB on the same session through the loss" \
		    "(session stalled: see the srtt in srv.log)"
	log "loss: again in $(( $(date +%s) - t0 ))s"
	# the independent client (regress/tools/ostptool.py) through the
	# same loss: its ARQ against the server's
	t0=$(date +%s)
	got=$(OSTP_SERVER=10.91.2.2 timeout 120 ip netns exec "$CN" $TOOL \
	    fetch "$S" "$KEY" 10.91.2.2 "$H" /blob 2>>"$LOGDIR/tool.log")
	[ "$got" = "$want" ] ||
		fail "ostptool.py fetch through the loss: '$got'"
	log "loss: ostptool.py fetch in $(( $(date +%s) - t0 ))s"
	ip netns exec "$RN" iptables -L FORWARD -v -n >"$LOGDIR/loss.stats" \
	    2>&1
	for d in "$VRC" "$VRS"; do
		ip netns exec "$RN" tc -s qdisc show dev "$d" \
		    >>"$LOGDIR/loss.stats" 2>&1
		ip netns exec "$RN" tc qdisc del dev "$d" root 2>/dev/null
	done
	ip netns exec "$RN" iptables -F FORWARD
	ip netns exec "$RN" iptables -t mangle -F POSTROUTING
	# and once the loss is gone, at once
	[ "$(get blob "$LOGDIR/out1c" 10)" = "$want" ] ||
		fail "the session that went through the loss does not serve" \
		    "within 10 s once the loss is gone"
else
	skip_part "loss: neither tc netem nor an HTB/iptables fallback here"
fi

# --- roaming behind NAT ------------------------------------------------------
new_client
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
_grown() { [ "$(size "$1")" -ge "$2" ]; }
moves() { count "$LOGDIR/srv.log" "moved"; }
if ! command -v conntrack >/dev/null; then
	skip_part "roaming: no conntrack(8) (package conntrack)"
elif ! ip netns exec "$RN" iptables -t nat -A POSTROUTING -o "$VRS" \
    -p udp -j MASQUERADE --to-ports 20000-20099 2>>"$LOGDIR/nat.err"; then
	skip_part "roaming: no MASQUERADE here"
else
	# the client's flow was tracked before the rule: make it new
	ip netns exec "$RN" conntrack -D -p udp -s 10.91.1.2 \
	    >/dev/null 2>&1
	# 40 Mbit/s towards the client: the transfer is still in the
	# tunnel, not in the client's buffers, when the mapping changes
	ip netns exec "$RN" tc qdisc add dev "$VRC" root tbf rate 40mbit \
	    burst 64kb latency 400ms 2>>"$LOGDIR/nat.err" ||
		log "roaming: no tbf, the mapping may change too late"
	m0=$(moves)
	(get big "$LOGDIR/out2" 120 >"$LOGDIR/out2.sum") &
	GP=$!
	wait_until 30 _grown "$LOGDIR/out2" 3000000 ||
		fail "roaming: the download did not start"
	ip netns exec "$RN" iptables -t nat -R POSTROUTING 1 -o "$VRS" \
	    -p udp -j MASQUERADE --to-ports 30000-30099
	ip netns exec "$RN" conntrack -D -p udp -s 10.91.1.2 \
	    >>"$LOGDIR/conntrack.out" 2>&1 ||
		fail "roaming: no conntrack entry of the client to delete"
	at=$(size "$LOGDIR/out2")
	wait "$GP"
	ip netns exec "$RN" conntrack -L -p udp >>"$LOGDIR/conntrack.out" \
	    2>&1
	log "roaming: mapping changed at $at of 20000000 bytes"
	[ "$at" -lt 20000000 ] ||
		fail "roaming: the download ended before the mapping changed"
	[ "$(cat "$LOGDIR/out2.sum")" = "$want2" ] ||
		fail "roaming: the download across the new mapping"
	grep -q "src=10.91.1.2 .*dport=300[0-9][0-9]" \
	    "$LOGDIR/conntrack.out" ||
		fail "roaming: the new mapping's port not in conntrack"
	[ "$(moves)" -gt "$m0" ] ||
		fail "roaming: the server did not log that the session moved"
	ip netns exec "$RN" iptables -t nat -F POSTROUTING
	ip netns exec "$RN" tc qdisc del dev "$VRC" root 2>/dev/null
fi

# --- TTL-desync decoys (§2.12) -----------------------------------------------
# The router's raw table counts UDP to the server's port arriving with
# TTL 1 (they die there); the server's counts what arrives below TTL 2
# (a decoy of TTL 1 never does; the probe's TTL 2 would, as 1).
ipt_count() {	# NS CHAIN-RULE...: the packets of the rule's counter
	_n=$1; shift
	ip netns exec "$_n" iptables -t raw -nvxL PREROUTING |
	    awk -v p="$*" '$0 ~ p { print $1; exit }'
}
ip netns exec "$RN" iptables -t raw -A PREROUTING -p udp --dport "$S" \
    -m ttl --ttl-eq 1 -m comment --comment decoy1
ip netns exec "$SN" iptables -t raw -A PREROUTING -p udp --dport "$S" \
    -m ttl --ttl-lt 2 -m comment --comment low
new_client "?ttl_desync=1&ttl_desync_auto=0&ttl_desync_ttl=1&ttl_desync_count=3"
[ "$(get blob "$LOGDIR/out5" 30)" = "$want" ] ||
	fail "desync: curl through a tunnel with TTL decoys"
r=$(ipt_count "$RN" decoy1); s=$(ipt_count "$SN" low)
log "desync: the router saw $r decoys with TTL 1, the server $s"
[ "$r" = 3 ] || fail "desync: the router saw $r decoys of TTL 1, not 3"
[ "$s" = 0 ] || fail "desync: $s decoys reached the server"
ip netns exec "$RN" iptables -t raw -Z PREROUTING
ip netns exec "$SN" iptables -t raw -Z PREROUTING
new_client "?ttl_desync=true"
[ "$(get blob "$LOGDIR/out5" 30)" = "$want" ] ||
	fail "desync: curl through a tunnel with calibrated TTL decoys"
grep -q "ttl_desync: 1 router before the server; decoys with TTL 1" \
    "$LOGDIR/cli.log" || fail "desync: the hop probe did not find the router"
r=$(ipt_count "$RN" decoy1); s=$(ipt_count "$SN" low)
log "desync auto: the router saw $r datagrams with TTL 1, the server $s"
# the probe of TTL 1 and the 2 decoys die at the router; the probe of
# TTL 2 reaches the server with TTL 1 (the server drops it: junk)
[ "$r" = 3 ] || fail "desync auto: the router saw $r of TTL 1, not 3"
[ "$s" = 1 ] || fail "desync auto: the server saw $s below TTL 2, not 1"
ip netns exec "$RN" iptables -t raw -F PREROUTING
ip netns exec "$SN" iptables -t raw -F PREROUTING

# --- UoT path moves (§2.10) ---------------------------------------------------
new_client "?type=uot"
[ "$(get blob "$LOGDIR/out6" 30)" = "$want" ] || fail "uot: curl through UoT"
tcpport() {	# the client's TCP source port to the server (port $1)
	ip netns exec "$CN" ss -Htn state established dst "10.91.2.2:${1:-$S}" |
	    awk '{ split($3, a, ":"); print a[2]; exit }'
}
sessions() { count "$LOGDIR/srv.log" "session .* for key"; }
s0=$(sessions)
ip netns exec "$RN" tc qdisc add dev "$VRC" root tbf rate 40mbit \
    burst 64kb latency 400ms 2>>"$LOGDIR/uot.err" ||
	log "uot: no tbf, the download may end before the cuts"
(get big "$LOGDIR/out7" 120 >"$LOGDIR/out7.sum") &
GP=$!
wait_until 30 _grown "$LOGDIR/out7" 2000000 ||
	fail "uot: the download did not start"
p1=$(tcpport)
ip netns exec "$RN" iptables -I FORWARD -p tcp -s 10.91.1.2 --sport "$p1" \
    -j REJECT --reject-with tcp-reset
wait_log "$LOGDIR/cli.log" "the TCP carrier failed; moving to a new TCP" 10 ||
	fail "uot: the client did not move after a reset"
at1=$(size "$LOGDIR/out7")
wait_until 20 _grown "$LOGDIR/out7" $((at1 + 2000000)) ||
	fail "uot: the download did not go on after the reset"
p2=$(tcpport)
ip netns exec "$RN" iptables -I FORWARD -p tcp -s 10.91.1.2 --sport "$p2" \
    -j DROP
wait_log "$LOGDIR/cli.log" "the path stalled; moving to a new TCP" 20 ||
	fail "uot: the client did not move after a silent drop"
at2=$(size "$LOGDIR/out7")
wait "$GP"
log "uot: reset at $at1 (port $p1), dropped at $at2 (port $p2) of 20000000"
[ "$(cat "$LOGDIR/out7.sum")" = "$want2" ] ||
	fail "uot: the download across two path moves"
[ "$(sessions)" = "$s0" ] ||
	fail "uot: the server made a new session ($(sessions) vs $s0)"
ip netns exec "$RN" iptables -F FORWARD
ip netns exec "$RN" tc qdisc del dev "$VRC" root 2>/dev/null

# --- UoT moves with two server workers ---------------------------------------
# Every TCP connection of one client address reaches the same worker
# (the port's TCP group is steered by the source address, mon_sock.c),
# so each reset is a move the session's own worker answers: four in a
# row, no new session (by the kernel's 4-tuple hash alone, each new
# connection would reach the other worker half of the time).
S2=5444
NW=2 in_ns "$SN" srv2 -L "ostp://$KEY@10.91.2.2:$S2?local_access=true"
wait_log "$LOGDIR/srv2.log" "running" 5 || fatal "ostpd server, two workers"
SP=$S2
new_client "?type=uot"
[ "$(get blob "$LOGDIR/out8" 30)" = "$want" ] ||
	fail "two workers: curl through UoT"
s2=$(count "$LOGDIR/srv2.log" "session .* for key")
m2=$(count "$LOGDIR/cli.log" "the TCP carrier failed; moving to a new TCP")
for i in 1 2 3 4; do
	p=$(tcpport "$S2")
	ip netns exec "$RN" iptables -I FORWARD -p tcp -s 10.91.1.2 \
	    --sport "$p" -j REJECT --reject-with tcp-reset
	[ "$(get blob "$LOGDIR/out8" 30)" = "$want" ] ||
		fail "two workers: curl after reset $i"
	wait_count "$LOGDIR/cli.log" \
	    "the TCP carrier failed; moving to a new TCP" $((m2 + i)) 10 ||
		fail "two workers: no move after reset $i"
done
[ "$(count "$LOGDIR/srv2.log" "session .* for key")" = "$s2" ] ||
	fail "two workers: a move reached another worker (new sessions:" \
	    "$(count "$LOGDIR/srv2.log" "session .* for key") vs $s2)"
ip netns exec "$RN" iptables -F FORWARD
SP=

# --- server restart ---------------------------------------------------------
new_client
[ "$(get blob "$LOGDIR/out3" 30)" = "$want" ] ||
	fail "restart: no transfer before the restart"
kill "$SPID"
wait_gone "$SPID" || fatal "server still running after SIGTERM"
in_ns "$SN" srv -L "ostp://$KEY@10.91.2.2:$S?local_access=true"
SPID=$OPID
wait_count "$LOGDIR/srv.log" "running" 2 5 || fatal "ostpd server restart"
# The client must notice the dead session by itself: spec §5 says 25 s
# without an authenticated datagram start a reconnect (then a new
# handshake, 5 s apart); 30 s allowed, tried for 45 s to tell how long.
t0=$(date +%s); ok=0; n=0
while [ $(( $(date +%s) - t0 )) -lt 45 ]; do
	n=$((n + 1))
	if [ "$(get blob "$LOGDIR/out3" 5)" = "$want" ]; then
		ok=1
		break
	fi
done
dt=$(( $(date +%s) - t0 ))
log "restart: served again after ${dt}s ($n attempts)"
if [ "$ok" = 0 ]; then
	fail "restart: the client did not reconnect within 45 s"
elif [ "$dt" -gt 30 ]; then
	fail "restart: the client reconnected only after ${dt}s" \
	    "(spec §5: a reconnect after 25 s of silence)"
fi

finish
