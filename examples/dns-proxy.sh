#!/bin/sh
# A DNS proxy: dig asks ostpd, which asks the upstream (here a tiny
# local DNS server that knows one name).
. "$(dirname "$0")/common.sh"
command -v dig >/dev/null || { echo "no dig" >&2; exit 77; }
U=$(port); D=$(port)
python3 - "$U" >"$TMP/upstream.log" 2>&1 <<'EOP' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q, a = s.recvfrom(512)
    # the question as asked, one A answer 192.0.2.53 for any name
    end = 12
    while q[end]:
        end += q[end] + 1
    end += 5
    r = q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00"
    r += q[12:end] + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04"
    r += bytes([192, 0, 2, 53])
    s.sendto(r, a)
EOP
PIDS="$PIDS $!"
run dns -D -L "dns://127.0.0.1:$D/127.0.0.1:$U"
running dns
# UDP: asked until the proxy answers (5 s)
i=0
while :; do
	a=$(dig +short +time=1 +tries=1 -p "$D" @127.0.0.1 example.test A \
	    2>/dev/null)
	i=$((i + 1))
	[ "$a" = 192.0.2.53 ] || [ $i -ge 5 ] && break
done
if [ "$a" = 192.0.2.53 ]; then
	echo "ok: DNS proxy"
else
	echo "FAILED: DNS proxy: got '$a'" >&2
	for f in "$TMP"/*.log; do echo "== $f"; tail -n 5 "$f"; done >&2
	exit 1
fi
