#!/bin/sh
# An HTTP proxy on one port: curl -x fetches a page through it.
. "$(dirname "$0")/common.sh"
web
P=$(port)
run proxy -L "http://127.0.0.1:$P"
listening "$P"
check "HTTP proxy" "$(curl -s --max-time 10 -x "http://127.0.0.1:$P" \
    "http://127.0.0.1:$WEB/hello.txt")"
