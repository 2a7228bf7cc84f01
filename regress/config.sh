# Configuration front ends on the real binary: -T prints the effective
# configuration as native JSON and that output loads back to itself
# (-t checks quietly);
# syntax errors name file:line:col; a routing rule with a block outbound
# refuses connections; unknown parameters warn, bad values stop startup.
. regress/lib.sh

E=$(free_port); P=$(free_port); P2=$(free_port)
start_echo "$E"
cat >"$LOGDIR/native.json" <<JSON
{
  "log": {"level": "info"},
  "inbounds": [
    {"tag": "open", "url": "tcp://127.0.0.1:$P/127.0.0.1:$E"},
    {"tag": "shut", "url": "tcp://127.0.0.1:$P2/127.0.0.1:$E"}
  ],
  "outbounds": [{"type": "direct", "tag": "out"}, {"type": "block", "tag": "deny"}],
  "routing": {"rules": [{"inbound": ["shut"], "port": [$E], "outbound": "deny"}],
              "default_outbound": "out"}
}
JSON
"$OSTPD" -T -C "$LOGDIR/native.json" >"$LOGDIR/t1.json" || fail "-T rejects the native file"
"$OSTPD" -T -C "$LOGDIR/t1.json" >"$LOGDIR/t2.json" || fail "-T rejects its own output"
cmp -s "$LOGDIR/t1.json" "$LOGDIR/t2.json" || fail "-T output does not round-trip"
python3 -c "import json,sys; json.load(open('$LOGDIR/t1.json'))" || fail "-T output is not JSON"

# CLI and gost JSON translate to the same model.
"$OSTPD" -T -L "tcp://127.0.0.1:$P/127.0.0.1:$E" >"$LOGDIR/cli.json" || fail "-T -L"
echo "{\"ServeNodes\": [\"tcp://127.0.0.1:$P/127.0.0.1:$E\"]}" >"$LOGDIR/gost.json"
"$OSTPD" -T -C "$LOGDIR/gost.json" >"$LOGDIR/gost.out" || fail "-T gost"
cmp -s "$LOGDIR/cli.json" "$LOGDIR/gost.out" || fail "CLI and gost JSON differ"
"$OSTPD" -T -C "$LOGDIR/cli.json" >"$LOGDIR/cli2.json" || fail "-T of CLI output"
cmp -s "$LOGDIR/cli.json" "$LOGDIR/cli2.json" || fail "CLI output does not round-trip"

printf '{"inbounds": [\n  "tcp://:1/1.2.3.4:5",\n  oops]}\n' >"$LOGDIR/syntax.json"
out=$("$OSTPD" -t -C "$LOGDIR/syntax.json" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "syntax error: exit $rc"
echo "$out" | grep -q "^ostpd: $LOGDIR/syntax.json:3:3: " || fail "syntax error position: $out"

out=$("$OSTPD" -t -L "tcp://:1/1.2.3.4:5?timeout=abc" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'bad duration "abc" for timeout' || fail "timeout=abc: $out"
out=$("$OSTPD" -t -L "tcp://:1/1.2.3.4:5?colour=red&mtu=1400" 2>&1 >/dev/null); rc=$?
[ $rc -eq 0 ] || fail "unknown parameter stopped -t"
echo "$out" | grep -q 'unknown parameter "colour"' || fail "no warning for an unknown key: $out"
echo "$out" | grep -q 'parameter "mtu" is not used by scheme tcp' || fail "no warning for an unused key: $out"

# The block rule in action.
start_ostpd native -C "$LOGDIR/native.json"
wait_port "$P" || fatal "no listener"
$NETTOOL xfer 127.0.0.1 "$P" 10000 2 >/dev/null || fail "direct inbound does not forward"
out=$(echo hello | timeout 5 socat - TCP:127.0.0.1:$P2 2>&1)
[ -z "$out" ] || fail "blocked inbound forwarded: $out"
$NETTOOL xfer 127.0.0.1 "$P" 1000 1 >/dev/null || fail "daemon not serving after a block"
kill "$OPID"
finish
