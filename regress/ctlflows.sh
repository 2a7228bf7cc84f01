# Every handler's clients in `ostpctl connections` and the access log,
# not only the proxies': a relay:// connection, an sni:// connection, an
# HTTP/2 proxy stream, a SOCKS5 UDP association, a udp:// forward and an
# OSTP flow, each listed while it is open with the bytes that went each
# way (exactly those the clients and the target sent), then logged with
# the same counts when it ends.
. regress/lib.sh

RUN=$(mktemp -d /tmp/ostp-ctlflows.XXXXXX) || fatal "mktemp"
EXTRA_CLEANUP="rm -rf '$RUN'"
S=$RUN/ostpd.sock
ctl() { "$PWD/$BUILD/ostpctl" -S "$S" "$@"; }
KEY=0123456789abcdef0123456789abcdef
NIN=123457		# bytes each client sends
NOUT=234567		# bytes the target answers each with

R=$(free_port); N=$(free_port); H=$(free_port); K=$(free_port)
UF=$(free_port); O=$(free_port); T=$(free_port); UE=$(free_port)
C1=$(free_port); C2=$(free_port); C3=$(free_port)

# the target: reads NIN bytes, answers NOUT, holds until the client ends
python3 - "$T" "$NIN" "$NOUT" >"$LOGDIR/target.log" 2>&1 <<'PY' &
import socket, sys, threading
port, nin, nout = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(16)
def serve(c):
    got = 0
    while got < nin:
        d = c.recv(65536)
        if not d:
            return
        got += len(d)
    c.sendall(b"o" * nout)
    while c.recv(65536):
        pass
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
PIDS="$PIDS $!"
wait_port "$T" || fatal "no target"
start_udpecho "$UE"

start_ostpd srv -S "$S" -A -L "relay://127.0.0.1:$R" \
    -L "sni://127.0.0.1:$N" -L "http2://127.0.0.1:$H" \
    -L "socks5://127.0.0.1:$K" -L "udp://127.0.0.1:$UF/127.0.0.1:$UE" \
    -L "ostp://$KEY@127.0.0.1:$O?local_access=true"
SRV=$OPID
start_ostpd cli1 -L "socks5://127.0.0.1:$C1" -F "relay://127.0.0.1:$R"
start_ostpd cli2 -L "socks5://127.0.0.1:$C2" -F "http2://127.0.0.1:$H"
start_ostpd cli3 -L "socks5://127.0.0.1:$C3" -F "ostp://$KEY@127.0.0.1:$O"
for p in "$R" "$N" "$H" "$K" "$C1" "$C2" "$C3"; do
	wait_port "$p" || fatal "no listener on $p"
done
wait_until 5 test -S "$S" || fatal "no control socket"

# tcp NAME PORT MODE: a client through a SOCKS5 proxy (socks) or to the
# sni listener with an HTTP head naming the target (sni); it sends NIN
# bytes, reads NOUT, then holds the connection until $RUN/release
tcp() {
	python3 - "$2" "$3" "$T" "$NIN" "$NOUT" "$RUN/release" \
	    >"$LOGDIR/client-$1.log" 2>&1 <<'PY' &
import os, socket, sys, time
port, mode, target = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
nin, nout, release = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
def recvn(n):
    d = b""
    while len(d) < n:
        b = s.recv(n - len(d))
        assert b, "closed after %d of %d" % (len(d), n)
        d += b
    return d
if mode == "socks":
    s.sendall(b"\x05\x01\x00")
    assert recvn(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + target.to_bytes(2, "big"))
    assert recvn(10)[1] == 0
    data = b"i" * nin
else:
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % target
    data = head + b"i" * (nin - len(head))
s.sendall(data)
assert len(recvn(nout)) == nout
print("exchanged", flush=True)
for i in range(300):
    if os.path.exists(release):
        break
    time.sleep(0.1)
s.close()
PY
	PIDS="$PIDS $!"
}
tcp relay "$C1" socks
tcp sni "$N" sni
tcp http2 "$C2" socks
tcp ostp "$C3" socks

# datagrams through a SOCKS5 association and a udp:// forward, answered
# by the echo server: held open as well
/usr/bin/python3 - "$K" "$UF" "$UE" "$RUN/release" >"$LOGDIR/client-udp.log" 2>&1 <<'PY' &
import os, socket, sys, time, socks
k, uf, ue, release = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
a = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
a.set_proxy(socks.SOCKS5, "127.0.0.1", k)
a.settimeout(5)
f = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
f.settimeout(5)
for i in range(10):
    msg = b"d" * (1000 + i)
    a.sendto(msg, ("127.0.0.1", ue))
    assert a.recvfrom(65535)[0] == msg
    f.sendto(msg, ("127.0.0.1", uf))
    assert f.recvfrom(65535)[0] == msg
print("exchanged", flush=True)
for i in range(300):
    if os.path.exists(release):
        break
    time.sleep(0.1)
a.close()
PY
PIDS="$PIDS $!"
UDPBYTES=10045		# 1000 + ... + 1009

_exchanged() {
	[ "$(cat "$LOGDIR"/client-*.log | grep -c '^exchanged')" = 5 ]
}
wait_until 30 _exchanged ||
	fatal "clients: $(cat "$LOGDIR"/client-*.log)"

# jrec LISTENER: the open record of that listener, as "in out target"
jrec() {
	ctl -j connections | python3 -c 'import json, sys
j = json.load(sys.stdin)
r = [c for c in j["connections"] if c["listener"] == sys.argv[1]]
print(" ".join("%s %s %s" % (c["in"], c["out"], c["target"]) for c in r))' "$1"
}
_rec() { [ "$(jrec "$1")" = "$2" ]; }
check() {
	wait_until 5 _rec "$1" "$2" ||
		fail "$3: connections show \"$(jrec "$1")\", want \"$2\""
}
check in0 "$NIN $NOUT 127.0.0.1:$T" "relay"
check in1 "$NIN $NOUT 127.0.0.1:$T" "sni"
check in2 "$NIN $NOUT 127.0.0.1:$T" "http2 stream"
check in3 "$UDPBYTES $UDPBYTES 127.0.0.1:$UE" "socks5 UDP association"
check in4 "$UDPBYTES $UDPBYTES 127.0.0.1:$UE" "udp forward"
check in5 "$NIN $NOUT 127.0.0.1:$T" "OSTP flow"
ctl connections >"$LOGDIR/conns.out" || fail "connections (human)"
[ "$(grep -c "127.0.0.1:$T" "$LOGDIR/conns.out")" -ge 4 ] ||
	fail "connections (human): $(cat "$LOGDIR/conns.out")"
# the listeners' and the OSTP key's counters
ctl -j status >"$LOGDIR/status.json" || fail "status"
python3 - "$LOGDIR/status.json" "$NIN" <<'PY' || fail "status counters: $(cat "$LOGDIR/status.json")"
import json, sys
j = json.load(open(sys.argv[1]))
nin = int(sys.argv[2])
lis = {l["name"]: l for l in j["listeners"]}
for t in ("in0", "in1", "in2", "in5"):
    assert lis[t]["in"] >= nin and lis[t]["active"] >= 1, (t, lis[t])
PY

# the end of each: its access log line, with the same counts
touch "$RUN/release"
for l in in0 in1 in2 in3 in5; do
	case $l in in3) b=$UDPBYTES; t=127.0.0.1:$UE; o=$UDPBYTES ;;
	*) b=$NIN; t=127.0.0.1:$T; o=$NOUT ;; esac
	wait_log "$LOGDIR/srv.log" "access: listener=$l client=127.0.0.1:[0-9]* user=[^ ]* target=$t route=[^ ]* outbound=[^ ]* in=$b out=$o duration=" 10 ||
		fail "no access line for $l (in=$b out=$o)"
done
# a plain (non-CONNECT) request on an HTTP/2 stream: the request head
# written for the target and the answer's head count besides the body
if command -v nghttp >/dev/null; then
	mkdir -p "$RUN/www"
	head -c 70000 /dev/urandom >"$RUN/www/f"
	W=$(free_port)
	start_web web "$RUN/www" "$W"
	nghttp -H ":authority: 127.0.0.1:$W" -H ":scheme: http" \
	    "https://127.0.0.1:$H/f" >"$LOGDIR/plain.out" 2>"$LOGDIR/plain.err"
	cmp -s "$LOGDIR/plain.out" "$RUN/www/f" ||
	    fail "a plain GET on an HTTP/2 stream: $(wc -c <"$LOGDIR/plain.out") bytes"
	wait_log "$LOGDIR/srv.log" "access: listener=in2 client=[^ ]* user=[^ ]* target=127.0.0.1:$W .* in=[0-9]* out=[0-9]* duration=" 10 ||
		fail "no access line for the plain HTTP/2 request"
	l=$(grep "access: listener=in2 .*target=127.0.0.1:$W " "$LOGDIR/srv.log")
	i=$(echo "$l" | sed 's/.* in=\([0-9]*\) .*/\1/')
	o=$(echo "$l" | sed 's/.* out=\([0-9]*\) .*/\1/')
	# "GET /f HTTP/1.0", Host and Connection at least; the body and a
	# status line and a few fields of http.server's
	[ "$i" -ge 50 ] && [ "$o" -gt 70017 ] && [ "$o" -lt 71024 ] ||
		fail "plain HTTP/2 request counted in=$i out=$o ($l)"
else
	skip_part "nghttp is not installed: plain HTTP/2 request"
fi
# the udp forward's session ends with its ttl; still listed until then
kill -0 "$SRV" || fail "the daemon died"
finish
