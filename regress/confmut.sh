# Configuration files with one value of the wrong kind: each object,
# array and scalar of a native file (every inbound and outbound type,
# routing, OSTP transports, TURN, a capture), a gost file and OSTP 0.4
# server and client files becomes in turn a number, a string, an array,
# an object, null or true (regress/tools/confmut.py).  ostpd -t accepts
# or refuses each with its one line, and never dies.
. regress/lib.sh
/usr/bin/python3 regress/tools/confmut.py "$OSTPD" "$LOGDIR" \
    >"$LOGDIR/confmut.out" 2>&1 ||
	fail "$(head -n 20 "$LOGDIR/confmut.out")"
grep -q '^[0-9]* variants$' "$LOGDIR/confmut.out" ||
	fail "no variants ran: $(tail -n 3 "$LOGDIR/confmut.out")"
finish
