# Shadowsocks: ostpd as server and as client hop against shadowsocks-libev
# (ss-local, ss-server) and v2ray for every AEAD cipher; an independent
# client (regress/tools/sstool.py) for what real clients never send:
# replayed salts, corrupted chunks, probers' random bytes.
. regress/lib.sh

SSTOOL="/usr/bin/python3 $PWD/regress/tools/sstool.py"
W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 3000000)
H=$(free_port); E=$(free_port); UE=$(free_port)
start_udpecho "$UE"
start_web http "$W" "$H"
start_echo "$E"

get() {	# get SOCKSPORT
	curl -sS --max-time 20 --socks5-hostname "127.0.0.1:$1" \
	    "http://localhost:$H/blob" | sha256sum | cut -d' ' -f1
}

for m in aes-128-gcm aes-256-gcm chacha20-ietf-poly1305; do
	S=$(free_port); L=$(free_port); S2=$(free_port); C=$(free_port)
	U=$(free_port)
	# ss-local -> ostpd server (TCP and UDP on one port, as ss-server)
	start_ostpd "srv-$m" -D -L "ss://$m:secret-$m@127.0.0.1:$S" \
	    -L "ssu://$m:secret-$m@127.0.0.1:$S"
	wait_port "$S" || fatal "ostpd ss server ($m)"
	ss-local -u -s 127.0.0.1 -p "$S" -b 127.0.0.1 -l "$L" -k "secret-$m" \
	    -m "$m" >"$LOGDIR/ss-local-$m.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$L" || fatal "ss-local ($m)"
	[ "$(get "$L")" = "$want" ] || fail "ss-local -> ostpd ($m)"
	n=$($NETTOOL socksudp "$L" 127.0.0.1 "$UE" 10)
	[ "$n" = 10 ] || fail "UDP: ss-local -> ostpd ssu ($m): $n of 10"
	[ "$($SSTOOL udp "$m" "secret-$m" "$S" 127.0.0.1 "$UE")" = ok ] ||
	    fail "sstool udp ($m)"
	# independent client: echo, replay, corruption, prober
	[ "$($SSTOOL echo "$m" "secret-$m" "$S" 127.0.0.1 "$E")" = ok ] ||
	    fail "sstool echo ($m)"
	[ "$($SSTOOL replay "$m" "secret-$m" "$S" 127.0.0.1 "$E")" = rejected ] ||
	    fail "a replayed salt was served ($m)"
	[ "$($SSTOOL corrupt "$m" "secret-$m" "$S" 127.0.0.1 "$E")" = closed ] ||
	    fail "a corrupted chunk did not close the session ($m)"
	[ "$($SSTOOL echo "$m" "wrong-password" "$S" 127.0.0.1 "$E" 2>/dev/null)" != ok ] ||
	    fail "a wrong password was served ($m)"
	# still serving after the refusals
	[ "$($SSTOOL echo "$m" "secret-$m" "$S" 127.0.0.1 "$E")" = ok ] ||
	    fail "not serving after a refusal ($m)"
	# ostpd client hop -> ss-server
	ss-server -u -s 127.0.0.1 -p "$S2" -k "other-$m" -m "$m" \
	    >"$LOGDIR/ss-server-$m.log" 2>&1 &
	PIDS="$PIDS $!"
	start_ostpd "cli-$m" -L "socks5://127.0.0.1:$C" \
	    -L "udp://127.0.0.1:$U/127.0.0.1:$UE" -F "ss://$m:other-$m@127.0.0.1:$S2"
	wait_port "$S2" || fatal "ss-server ($m)"
	wait_port "$C" || fatal "ostpd client ($m)"
	[ "$(get "$C")" = "$want" ] || fail "ostpd -> ss-server ($m)"
	n=$($NETTOOL udpcheck 127.0.0.1 "$U" 10)
	[ "$n" = 10 ] || fail "UDP: ostpd udp:// -> ss-server ($m): $n of 10"
	n=$($NETTOOL socksudp "$C" 127.0.0.1 "$UE" 10)
	[ "$n" = 10 ] || fail "UDP: ostpd socks5 -> ss-server ($m): $n of 10"
done

# A prober's random bytes: no answer, no quick close; others unaffected.
S=$(free_port)
start_ostpd probe -D -L "ss://aes-128-gcm:pw@127.0.0.1:$S"
wait_port "$S" || fatal "probe server"
r=$($SSTOOL garbage "$S")
[ "$r" = silent ] || fail "a prober got: $r"
[ "$($SSTOOL echo aes-128-gcm pw "$S" 127.0.0.1 "$E")" = ok ] ||
    fail "a client after the prober"
grep -q "does not authenticate; draining" "$LOGDIR/probe.log" ||
    fail "no debug line for the prober"

# ostpd pair, the chain continuing after the ss hop (socks5 behind it)
S=$(free_port); B=$(free_port); C=$(free_port)
start_ostpd pair-srv -L "ss://chacha20-ietf-poly1305:pp@127.0.0.1:$S"
start_ostpd pair-hop -L "socks5://127.0.0.1:$B"
wait_port "$S" && wait_port "$B" || fatal "pair servers"
start_ostpd pair-cli -L "127.0.0.1:$C" -F "ss://chacha20-ietf-poly1305:pp@127.0.0.1:$S" \
    -F "socks5://127.0.0.1:$B"
wait_port "$C" || fatal "pair client"
[ "$(get "$C")" = "$want" ] || fail "ostpd -> ostpd ss -> socks5 hop"

# a server that speaks first, through an ss node with and without
# nodelay=true: the client sends nothing, the banner comes back
BN=$(free_port)
socat TCP-LISTEN:"$BN",bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo banner-first' \
    >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_port "$BN" || fatal "banner server"
for nd in false true; do
	F=$(free_port)
	start_ostpd "nd-$nd" -L "tcp://127.0.0.1:$F/127.0.0.1:$BN" \
	    -F "ss://chacha20-ietf-poly1305:pp@127.0.0.1:$S?nodelay=$nd"
	wait_port "$F" || fatal "nd-$nd"
	got=$(timeout 5 socat -u TCP:127.0.0.1:"$F" - 2>&1)
	[ "$got" = "banner-first" ] || fail "server speaks first, nodelay=$nd: $got"
done

# v2ray's shadowsocks inbound and outbound, every AEAD cipher, TCP and UDP
if command -v v2ray >/dev/null; then
    for m in aes-128-gcm aes-256-gcm chacha20-ietf-poly1305; do
	VS=$(free_port); VC=$(free_port); S=$(free_port); C=$(free_port)
	VU=$(free_port)
	cat >"$LOGDIR/v2ray-in-$m.json" <<V
{"log": {"loglevel": "warning"},
 "inbounds": [{"listen": "127.0.0.1", "port": $VS, "protocol": "shadowsocks",
   "settings": {"method": "$m", "password": "vv", "network": "tcp,udp"}}],
 "outbounds": [{"protocol": "freedom"}]}
V
	v2ray -config "$LOGDIR/v2ray-in-$m.json" >"$LOGDIR/v2ray-in-$m.log" 2>&1 &
	PIDS="$PIDS $!"
	start_ostpd "v2cli-$m" -L "socks5://127.0.0.1:$C" \
	    -L "udp://127.0.0.1:$VU/127.0.0.1:$UE" -F "ss://$m:vv@127.0.0.1:$VS"
	start_ostpd "v2srv-$m" -L "ss://$m:ww@127.0.0.1:$S" \
	    -L "ssu://$m:ww@127.0.0.1:$S"
	cat >"$LOGDIR/v2ray-out-$m.json" <<V
{"log": {"loglevel": "warning"},
 "inbounds": [{"listen": "127.0.0.1", "port": $VC, "protocol": "socks",
   "settings": {"udp": true}}],
 "outbounds": [{"protocol": "shadowsocks", "settings": {"servers": [
   {"address": "127.0.0.1", "port": $S, "method": "$m", "password": "ww"}]}}]}
V
	v2ray -config "$LOGDIR/v2ray-out-$m.json" >"$LOGDIR/v2ray-out-$m.log" 2>&1 &
	PIDS="$PIDS $!"
	for p in $VS $VC $S $C; do wait_port "$p" || fatal "v2ray setup ($m, $p)"; done
	[ "$(get "$C")" = "$want" ] || fail "ostpd -> v2ray ss inbound ($m)"
	[ "$(get "$VC")" = "$want" ] || fail "v2ray ss outbound -> ostpd ($m)"
	n=$($NETTOOL udpcheck 127.0.0.1 "$VU" 10)
	[ "$n" = 10 ] || fail "UDP: ostpd udp:// -> v2ray ss inbound ($m): $n of 10"
	n=$($NETTOOL socksudp "$VC" 127.0.0.1 "$UE" 10)
	[ "$n" = 10 ] || fail "UDP: v2ray ss outbound -> ostpd ssu ($m): $n of 10"
    done
else
	skip_part "v2ray is not installed (make deps)"
fi

# SIP022 (2022-blake3): no Debian package speaks it; an ostpd pair, and
# the key derivation against published vectors (unittests/test_blake3).
for m in 2022-blake3-aes-128-gcm 2022-blake3-aes-256-gcm 2022-blake3-chacha20-poly1305; do
	# URL-safe base64: no "/" or "+" to percent-encode in the URL
	case $m in *128*) k=$(openssl rand -base64 16) ;; *) k=$(openssl rand -base64 32) ;; esac
	k=$(echo "$k" | tr "+/" "-_")
	S=$(free_port); C=$(free_port); U=$(free_port)
	start_ostpd "s22-$m" -D -L "ss://$m:$k@127.0.0.1:$S" -L "ssu://$m:$k@127.0.0.1:$S"
	start_ostpd "c22-$m" -L "socks5://127.0.0.1:$C" \
	    -L "udp://127.0.0.1:$U/127.0.0.1:$UE" -F "ss://$m:$k@127.0.0.1:$S"
	wait_port "$S" && wait_port "$C" || fatal "SIP022 pair ($m)"
	[ "$(get "$C")" = "$want" ] || fail "SIP022 ostpd pair ($m)"
	n=$($NETTOOL udpcheck 127.0.0.1 "$U" 10)
	[ "$n" = 10 ] || fail "SIP022 UDP ostpd pair ($m): $n of 10"
	n=$($NETTOOL socksudp "$C" 127.0.0.1 "$UE" 5)
	[ "$n" = 5 ] || fail "SIP022 UDP via socks5 ($m): $n of 5"
	grep -q "to localhost:$H" "$LOGDIR/s22-$m.log" || fail "SIP022 server did not see the target ($m)"
	# a recorded request replayed: refused (exact salt store, 60 s)
	M=$(free_port); C2=$(free_port)
	$SSTOOL mitm "$M" "$S" "$LOGDIR/first-$m" >"$LOGDIR/mitm-$m.log" 2>&1 &
	PIDS="$PIDS $!"
	# listening (without a connection, which it would take as the one)
	wait_until 5 listening "$M" || fatal "the recorder did not start"
	start_ostpd "c22r-$m" -L "socks5://127.0.0.1:$C2" -F "ss://$m:$k@127.0.0.1:$M"
	wait_port "$C2" || fatal "SIP022 replay client ($m)"
	[ "$(get "$C2")" = "$want" ] || fail "SIP022 through the recorder ($m)"
	[ "$($SSTOOL replayfile "$S" "$LOGDIR/first-$m")" = rejected ] ||
	    fail "a replayed SIP022 request was served ($m)"
	grep -q "replayed salt" "$LOGDIR/s22-$m.log" || fail "no log line for the SIP022 replay ($m)"
	[ "$(get "$C")" = "$want" ] || fail "not serving after a refused replay ($m)"
done
"$OSTPD" -t -L "ss://2022-blake3-aes-256-gcm:$(openssl rand -base64 16 | tr "+/" "-_")@:1" \
    >"$LOGDIR/badkey.out" 2>&1 && fail "a 16-byte key for aes-256 was accepted"
grep -q "needs a base64 key of 32 bytes" "$LOGDIR/badkey.out" || fail "no clear error for a bad SIP022 key"

# Method none: a warning at start, and it works (tests only).
S=$(free_port)
start_ostpd plain -L "ss://none:x@127.0.0.1:$S"
wait_port "$S" || fatal "plain"
grep -q "sends everything in clear" "$LOGDIR/plain.log" || fail "no warning for none"

finish
