#!/bin/sh
# A Shadowsocks server and an ostpd client in front of it: a local
# SOCKS5/HTTP port whose traffic crosses the encrypted hop.
. "$(dirname "$0")/common.sh"
web
S=$(port); P=$(port)
run ss-server -L "ss://chacha20-ietf-poly1305:pass@127.0.0.1:$S"
listening "$S"
run ss-client -L "auto://127.0.0.1:$P" \
    -F "ss://chacha20-ietf-poly1305:pass@127.0.0.1:$S"
listening "$P"
check "Shadowsocks pair" "$(curl -s --max-time 10 \
    -x "socks5h://127.0.0.1:$P" "http://127.0.0.1:$WEB/hello.txt")"
