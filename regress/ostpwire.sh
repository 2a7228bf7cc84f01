# OSTP wire v5 against an independent implementation: ostptool.py, a
# client written from spec/ostp.md alone, fetches through an ostpd
# server byte-exact, and everything the server must drop silently
# (§2.11) gets no answer: a replayed msg1, a stale one, a wrong key,
# junk and truncated datagrams, forged datagrams during a transfer.  The
# server still serves afterwards, to the tool and to an ostpd client.
# ACK and NACK frames behind a gap in the tool's nonces take effect at
# once, the server NACKs the gap and resends its control frames (§2.8);
# after a transfer with loss at the tool's end, a lost ACK of the tool
# is NACKed within the reorder window, not seconds later; a fetch whose
# source port changes half-way is followed by the server (roaming).
# The fixed-input vectors of the tool and of proto/ostp.c (ostpvec) are
# compared byte for byte.
. regress/lib.sh

TOOL="/usr/bin/python3 $PWD/regress/tools/ostptool.py"
VEC=$PWD/$BUILD/tools/ostpvec

python3 -c 'import cryptography' 2>/dev/null ||
	skip "python3-cryptography missing"

# the two implementations' bytes for the same fixed inputs
if [ -x "$VEC" ]; then
	$TOOL vectors >"$LOGDIR/vec.py" 2>&1 || fail "ostptool.py vectors"
	"$VEC" >"$LOGDIR/vec.c" 2>&1 || fail "ostpvec"
	diff "$LOGDIR/vec.py" "$LOGDIR/vec.c" >"$LOGDIR/vec.diff" ||
		fail "vectors differ: $(head -c 300 "$LOGDIR/vec.diff")"
else
	skip_part "no $VEC (make unittests builds it)"
fi

W=$LOGDIR/www
mkdir -p "$W"
want=$(make_blob "$W/blob" 1000000)
H=$(free_port)
start_web web "$W" "$H"
KEY=0123456789abcdef0123456789abcdef

S=$(free_port); S2=$(free_port); C=$(free_port)
start_ostpd srv -D -L "ostp://$KEY@127.0.0.1:$S?local_access=true"
SPID=$OPID
start_ostpd srv2 -D -L "ostp://$KEY@127.0.0.1:$S2"
wait_log "$LOGDIR/srv.log" "running" 5 || fatal "ostpd server"
wait_log "$LOGDIR/srv2.log" "running" 5 || fatal "ostpd server 2"

# tool MODE ARGS...: its one result word; its stderr in tool-MODE.log
tool() {
	echo "== $(date +%T) $*" >>"$LOGDIR/tool-$1.log"
	timeout 120 $TOOL "$@" 2>>"$LOGDIR/tool-$1.log"
}
check() {	# check MODE WANT GOT
	[ "$3" = "$2" ] || fail "$1: '$3', not '$2' (see tool-$1.log)"
}

check fetch "$want" "$(tool fetch "$S" "$KEY" 127.0.0.1 "$H" /blob)"
check refused refused "$(tool refused "$S2" "$KEY" 127.0.0.1 "$H")"
grep -q "error:" "$LOGDIR/tool-refused.log" ||
	fail "the refusal had no Error text"
check replay ignored "$(tool replay "$S" "$KEY")"
check stale ignored "$(tool stale "$S" "$KEY")"
check wrongkey ignored "$(tool wrongkey "$S" "$KEY")"
check junk silent "$(tool junk "$S" "$KEY")"
check arq ok "$(tool arq "$S" "$KEY")"
check stall "$want" "$(tool stall "$S" "$KEY" 127.0.0.1 "$H" /blob)"
mv0=$(count "$LOGDIR/srv.log" "moved")
check roam "$want" "$(tool roam "$S" "$KEY" 127.0.0.1 "$H" /blob)"
[ "$(count "$LOGDIR/srv.log" "moved")" -gt "$mv0" ] ||
	fail "roam: the server did not log that the session moved"
check inject "$want" "$(tool inject "$S" "$KEY" 127.0.0.1 "$H" /blob)"

# after all that: the tool again, and an ostpd client
check fetch "$want" \
    "$(tool fetch "$S" "$KEY" 127.0.0.1 "$H" /blob)"
start_ostpd cli -D -L "auto://127.0.0.1:$C" -F "ostp://$KEY@127.0.0.1:$S"
wait_port "$C" || fatal "ostpd client"
[ "$(curl -sS --max-time 30 --socks5-hostname "127.0.0.1:$C" \
    "http://127.0.0.1:$H/blob" 2>>"$LOGDIR/curl.err" |
    sha256sum | cut -d' ' -f1)" = "$want" ] ||
	fail "curl through an ostpd client after the bad inputs"
gone "$SPID" && fail "the server died"

finish
