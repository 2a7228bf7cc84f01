#!/bin/sh
# Port forwarding: a local port that leads to the web server.
. "$(dirname "$0")/common.sh"
web
P=$(port)
run fwd -L "tcp://127.0.0.1:$P/127.0.0.1:$WEB"
listening "$P"
check "TCP port forward" "$(curl -s --max-time 10 \
    "http://127.0.0.1:$P/hello.txt")"
