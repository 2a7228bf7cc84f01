# The capture with an OSTP outbound, and the OSTP 0.4 client file's tun
# block.  Three namespaces joined by veth, as capture.sh:
#
#   C (curl, capture ostpd)  192.168.81.2 -- 192.168.81.1  M (OSTP server)
#   M 10.214.0.1 -- 10.214.0.2, 10.214.0.4  W (web server, UDP echo)
#
# A flow the capture takes goes through the OSTP client (daemon/
# connector/ostp.c) to ostpd's OSTP server on M, which dials the target:
# the web server sees M's 10.214.0.1.
. regress/lib.sh

C=ostpco-c$$; M=ostpco-m$$; W=ostpco-w$$
ns_line $C $M $W 192.168.81 10.214.0
ip -n $W addr add 10.214.0.4/24 dev wm$$

WEB=$LOGDIR/www
mkdir -p "$WEB"
SUM=$(make_blob "$WEB/blob" 3000000) || fatal "blob"
start_web web "$WEB" 8080 0.0.0.0 $W
start_udpecho 9053 0.0.0.0 $W

# M: the OSTP server; its hosts file names the web server.
KEY=0123456789abcdef0123456789abcdef
printf '10.214.0.2 web.test\n' >"$LOGDIR/hosts"
ip netns exec $M "$OSTPD" -w 1 -D \
	-L "ostp://$KEY@192.168.81.1:4444?local_access=true&hosts=$LOGDIR/hosts" \
	>"$LOGDIR/srv.log" 2>&1 &
PIDS="$PIDS $!"
_srv_up() { ip netns exec $M ss -lun 'sport = :4444' | grep -q 4444; }
wait_until 5 _srv_up || fatal "OSTP server did not start"

# 1. A native capture whose default outbound is the OSTP server.
cat >"$LOGDIR/cap.json" <<E
{ "log": { "level": "debug" },
  "inbounds": [ { "type": "tun", "tag": "cap", "name": "ostpco0",
    "net": "10.215.0.1/24", "mtu": 1400,
    "routes": [ "10.214.0.0/24" ],
    "dns": "10.215.0.2", "fake_ip": "198.18.0.0/15",
    "interface": "cc$$" } ],
  "outbounds": [
    { "tag": "tunnel", "type": "chain",
      "hops": [ "ostp://$KEY@192.168.81.1:4444" ] } ],
  "routing": { "rules": [], "default_outbound": "tunnel" } }
E
ip netns exec $C "$OSTPD" -w 1 -C "$LOGDIR/cap.json" \
	>"$LOGDIR/cap.log" 2>&1 &
CPID=$!; PIDS="$PIDS $CPID"
wait_log "$LOGDIR/cap.log" 'ready' 5 || fatal "capture daemon not ready"

ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got" \
	http://10.214.0.2:8080/blob || fail "curl by IP through capture and OSTP"
[ "$(sha256sum <"$LOGDIR/got" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download by IP through OSTP is not byte-exact"
grep -q '^10.214.0.1 .*GET /blob' "$LOGDIR/web.log" ||
	fail "the request did not come through the OSTP server"
FAKE=$(ip netns exec $C dig +short +time=3 +tries=1 @10.215.0.2 web.test A)
case $FAKE in
198.18.*|198.19.*) ;;
*)	fail "no fake address for web.test: '$FAKE'" ;;
esac
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-n" \
	"http://$FAKE:8080/blob" || fail "curl by fake-IP name through OSTP"
[ "$(sha256sum <"$LOGDIR/got-n" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download by name through OSTP is not byte-exact"
grep -q 'flow to web.test port 8080' "$LOGDIR/cap.log" ||
	fail "the fake-IP flow was not dialed by name"
[ "$(ip netns exec $C $NETTOOL udpcheck 10.214.0.2 9053 3)" = 3 ] ||
	fail "UDP through the capture and OSTP"
kill "$CPID"
wait_gone "$CPID" || fail "capture daemon still running after SIGTERM"

# 2. The OSTP 0.4 client file with tun.enable: the same capture with a
# default route (auto_route) whose rules let the daemon's marked sockets
# (the OSTP server's) out; exclude.ips stays out of the device.
cat >"$LOGDIR/client04.json" <<E
{ "mode": "client", "server": "192.168.81.1:4444",
  "access_key": "$KEY", "socks5_bind": "127.0.0.1:1088", "mtu": 1300,
  "debug": true,
  "tun": { "enable": true, "dns": "172.19.0.2", "stack": "system",
           "kill_switch": true },
  "exclude": { "ips": [ "10.214.0.4/32" ], "domains": [] } }
E
ip netns exec $C "$OSTPD" -T -C "$LOGDIR/client04.json" \
	>"$LOGDIR/client04.t" 2>&1 || fail "0.4 client file with tun refused"
grep -q 'tun://?capture=true&name=ostp0&net=172.19.0.1/30&mtu=1300&auto_route=true&dns_addr=172.19.0.2&exclude=10.214.0.4/32' \
	"$LOGDIR/client04.t" || fail "tun block: not the capture URL expected"
grep -q '"mark": 2022' "$LOGDIR/client04.t" ||
	fail "tun block: the daemon's sockets get no mark"
printf '{"mode": "client", "server": "192.168.81.1:4444", "access_key": "%s", "tun": {"enable": true, "ipv6": true}}' \
	"$KEY" >"$LOGDIR/badtun.json"
"$OSTPD" -t -C "$LOGDIR/badtun.json" >"$LOGDIR/badtun.out" 2>&1 &&
	fail "an unknown tun key accepted"
grep -q 'ipv6' "$LOGDIR/badtun.out" || fail "no line naming the unknown tun key"

ip netns exec $C "$OSTPD" -w 1 -C "$LOGDIR/client04.json" \
	>"$LOGDIR/c04.log" 2>&1 &
C4=$!; PIDS="$PIDS $C4"
wait_log "$LOGDIR/c04.log" 'ready' 5 || fatal "0.4 client with tun not ready"
ip -n $C -o addr show dev ostp0 | grep -q 'inet 172.19.0.1/30' ||
	fail "0.4 tun: device address missing"
ip -n $C rule show >"$LOGDIR/rules.04"
grep -q '^9001:.*not from all fwmark 0x7e6 lookup 2022' "$LOGDIR/rules.04" ||
	fail "0.4 tun: no mark rule: $(cat "$LOGDIR/rules.04")"
grep -q '^8999:.*to 10.214.0.4 lookup main' "$LOGDIR/rules.04" ||
	fail "0.4 tun: exclude.ips not kept out of the device"
N1=$(grep -c '^10.214.0.1 .*GET /blob' "$LOGDIR/web.log")
ip netns exec $C curl -s --max-time 20 -o "$LOGDIR/got-4" \
	http://10.214.0.2:8080/blob || fail "curl through the 0.4 tun"
[ "$(sha256sum <"$LOGDIR/got-4" | cut -d' ' -f1)" = "$SUM" ] ||
	fail "download through the 0.4 tun is not byte-exact"
[ "$(grep -c '^10.214.0.1 .*GET /blob' "$LOGDIR/web.log")" -eq $((N1 + 1)) ] ||
	fail "0.4 tun: the request did not come through the OSTP server"
ip netns exec $C curl -s --max-time 20 -o /dev/null \
	http://10.214.0.4:8080/blob || fail "curl to an excluded address (0.4)"
grep -q '^192.168.81.2 .*GET /blob' "$LOGDIR/web.log" ||
	fail "0.4 tun: the excluded address was not reached directly"
# the local proxy of the file still serves beside the capture
ip netns exec $C curl -s --max-time 20 --socks5 127.0.0.1:1088 \
	-o "$LOGDIR/got-p" http://10.214.0.2:8080/blob ||
	fail "0.4 socks5_bind beside the tun"
kill "$C4"
wait_gone "$C4" || fail "0.4 client still running after SIGTERM"
[ "$(ip -n $C rule show | wc -l)" -eq 3 ] ||
	fail "policy rules left after SIGTERM: $(ip -n $C rule show)"
ip -n $C link show ostp0 >/dev/null 2>&1 && fail "0.4 tun device left"
finish
