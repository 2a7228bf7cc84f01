#!/bin/sh
# A JSON configuration with routing rules: one port is blocked by a
# rule, everything else goes out directly.
. "$(dirname "$0")/common.sh"
web
P=$(port); B=$(port)
cat >"$TMP/ostpd.json" <<EOC
{
  "inbounds": [ { "type": "local_proxy", "tag": "in",
                  "listen": "127.0.0.1:$P" } ],
  "outbounds": [ { "tag": "direct", "type": "direct" },
                 { "tag": "deny", "type": "block" } ],
  "routing": {
    "rules": [ { "port": [ $B ], "outbound": "deny" } ],
    "default_outbound": "direct"
  }
}
EOC
"$OSTPD" -t -C "$TMP/ostpd.json" >/dev/null || exit 1
run routes -C "$TMP/ostpd.json"
listening "$P"
check "JSON config, default route" "$(curl -s --max-time 10 \
    -x "http://127.0.0.1:$P" "http://127.0.0.1:$WEB/hello.txt")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -x "http://127.0.0.1:$P" "http://127.0.0.1:$B/")
if [ "$code" = 200 ]; then
	echo "FAILED: the blocked port was served" >&2
	exit 1
fi
echo "ok: the rule blocks port $B (HTTP $code)"
