# Shared by the bench scripts: rounds, medians, CPU of a process.
# Each figure is the median of ROUNDS runs; the subjects of a row take
# turns within each round, so a slow spell of the machine (this kind of
# VM drifts by up to 3x) weighs on all of them alike.
ROUNDS=${ROUNDS:-3}
# the build measured and where logs and tools go
: "${BUILD:=build}" "${OUT:=$BUILD/bench}"
mkdir -p "$OUT" || exit 1
TCK=$(getconf CLK_TCK)

median() {	# median of the arguments; "-" ignored
	printf '%s\n' "$@" | grep -v '^-$' | sort -g |
	    awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
		else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.5g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

loadgen_build() {	# the load tool, into $OUT; LG names it
	mkdir -p "$OUT" &&
	    cc -O2 -Wall -pthread -o "$OUT/loadgen" bench/loadgen.c || return 1
	LG=$OUT/loadgen
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }

tree_ticks() {	# ticks of a process and all its descendants; $2=u: user only
	_t=0
	for _p in $1 $(pgrep -P "$1" 2>/dev/null); do
		if [ "$_p" = "$1" ]; then
			_t=$((_t + $(awk -v u="$2" '{ print u == "u" ? $14 : $14 + $15 }' \
			    "/proc/$_p/stat" 2>/dev/null || echo 0)))
		else
			_t=$((_t + $(tree_ticks "$_p" "$2")))
		fi
	done
	echo "$_t"
}

# The tunnels ostpd is measured against, between two namespaces that
# reach each other (Debian's packages: wireguard-go with wg from
# wireguard-tools, OpenVPN 2.6 in user space, UDP, AES-256-GCM, TLS
# mode with certificates made for the run).  Each prints nothing and
# returns non-zero when its program is missing or the tunnel does not
# come up; the caller then reports "-".
#   vpn_wg  NS_CLIENT NS_SERVER SERVER_ADDR NET MTU [ROUTE]
#   vpn_ovpn NS_CLIENT NS_SERVER SERVER_ADDR NET MTU [ROUTE]
# NET is three octets (10.x.y): the client is NET.2, the server NET.1;
# ROUTE, a prefix behind the server, is routed into the tunnel on the
# client (the server's namespace forwards).  The PIDs go to PIDS.
vpn_wait() {	# vpn_wait NS ADDR: up to 10 s for a ping through
	_i=0
	until ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ $_i -lt 10 ] || return 1
	done
}

vpn_wg() {
	command -v wireguard-go >/dev/null 2>&1 && command -v wg >/dev/null 2>&1 ||
	    return 1
	_d=$OUT/wg.$$; mkdir -p "$_d"
	for _s in c s; do
		(umask 077; wg genkey >"$_d/$_s.key") && wg pubkey <"$_d/$_s.key" >"$_d/$_s.pub" ||
		    return 1
	done
	for _s in c s; do
		# its control socket is in /var/run/wireguard, which the
		# namespaces share: a name for each end
		case $_s in c) _n=$1 _a=2 ;; s) _n=$2 _a=1 ;; esac
		_w=bwg$_s$$
		ip netns exec "$_n" env WG_PROCESS_FOREGROUND=1 \
		    wireguard-go -f $_w >>"$OUT/wg.log" 2>&1 & PIDS="$PIDS $!"
		_i=0
		until ip -n "$_n" link show $_w >/dev/null 2>&1; do
			_i=$((_i + 1)); [ $_i -lt 50 ] || return 1; sleep 0.1
		done
		if [ $_s = s ]; then
			ip netns exec "$_n" wg set $_w listen-port 51820 \
			    private-key "$_d/s.key" peer "$(cat "$_d/c.pub")" \
			    allowed-ips "$4.2/32" || return 1
		else
			ip netns exec "$_n" wg set $_w private-key "$_d/c.key" \
			    peer "$(cat "$_d/s.pub")" \
			    allowed-ips "$4.0/24${6:+,$6}" \
			    endpoint "$3:51820" || return 1
		fi
		ip -n "$_n" addr add "$4.$_a/24" dev $_w
		ip -n "$_n" link set $_w mtu "$5" up
	done
	[ -z "$6" ] || ip -n "$1" route add "$6" dev bwgc$$ || return 1
	vpn_wait "$1" "$4.1"
}

vpn_ovpn() {
	command -v openvpn >/dev/null 2>&1 || return 1
	_d=$OUT/ovpn.$$; mkdir -p "$_d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -days 2 -subj /CN=bench-ca -keyout "$_d/ca.key" \
	    -out "$_d/ca.pem" >/dev/null 2>&1 || return 1
	for _s in c s; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -subj "/CN=bench-$_s" -keyout "$_d/$_s.key" \
		    -out "$_d/$_s.csr" >/dev/null 2>&1 &&
		openssl x509 -req -in "$_d/$_s.csr" -CA "$_d/ca.pem" \
		    -CAkey "$_d/ca.key" -CAcreateserial -days 2 \
		    -out "$_d/$_s.pem" >/dev/null 2>&1 || return 1
	done
	# the same data channel on both ends, no compression, no DCO
	_o="--dev bovpn0 --dev-type tun --proto udp --tun-mtu $5
	    --cipher AES-256-GCM --data-ciphers AES-256-GCM --disable-dco
	    --ca $_d/ca.pem --verb 1 --mute-replay-warnings"
	ip netns exec "$2" openvpn $_o --tls-server --dh none --lport 1194 \
	    --local "$3" --cert "$_d/s.pem" --key "$_d/s.key" \
	    --ifconfig "$4.1" "$4.2" >>"$OUT/ovpn-server.log" 2>&1 &
	PIDS="$PIDS $!"
	ip netns exec "$1" openvpn $_o --tls-client --nobind \
	    --remote "$3" 1194 --cert "$_d/c.pem" --key "$_d/c.key" \
	    --ifconfig "$4.2" "$4.1" >>"$OUT/ovpn-client.log" 2>&1 &
	PIDS="$PIDS $!"
	vpn_wait "$1" "$4.1" || return 1
	[ -z "$6" ] || ip -n "$1" route add "$6" dev bovpn0
}
