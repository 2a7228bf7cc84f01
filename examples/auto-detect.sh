#!/bin/sh
# One port, three protocols: auto:// tells SOCKS5, SOCKS4 and HTTP
# apart by their first bytes.
. "$(dirname "$0")/common.sh"
web
P=$(port)
run auto -L "auto://127.0.0.1:$P"
listening "$P"
for x in "http://127.0.0.1:$P" "socks5h://127.0.0.1:$P" \
    "socks4://127.0.0.1:$P"; do
	check "auto ($x)" "$(curl -s --max-time 10 -x "$x" \
	    "http://127.0.0.1:$WEB/hello.txt")"
done
