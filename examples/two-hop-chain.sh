#!/bin/sh
# A chain of two hops: a local HTTP proxy whose connections go through
# a SOCKS5 proxy, then a relay (gost's relay protocol), then out.
. "$(dirname "$0")/common.sh"
web
H1=$(port); H2=$(port); P=$(port)
run hop1 -L "socks5://127.0.0.1:$H1"
run hop2 -L "relay://127.0.0.1:$H2"
listening "$H1"; listening "$H2"
run entry -L "http://127.0.0.1:$P" -F "socks5://127.0.0.1:$H1" \
    -F "relay://127.0.0.1:$H2"
listening "$P"
check "two-hop chain" "$(curl -s --max-time 10 -x "http://127.0.0.1:$P" \
    "http://127.0.0.1:$WEB/hello.txt")"
