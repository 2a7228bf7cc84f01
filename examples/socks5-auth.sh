#!/bin/sh
# A SOCKS5 proxy with a user name and password: the right ones are
# served, a wrong password is refused.
. "$(dirname "$0")/common.sh"
web
P=$(port)
run socks -L "socks5://alice:s3cret@127.0.0.1:$P"
listening "$P"
check "SOCKS5 with auth" "$(curl -s --max-time 10 \
    -x "socks5h://alice:s3cret@127.0.0.1:$P" \
    "http://127.0.0.1:$WEB/hello.txt")"
if curl -s --max-time 10 -x "socks5h://alice:wrong@127.0.0.1:$P" \
    "http://127.0.0.1:$WEB/hello.txt" >/dev/null; then
	echo "FAILED: a wrong password was served" >&2
	exit 1
fi
echo "ok: a wrong password is refused"
