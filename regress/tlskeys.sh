# TLS listeners whose private keys stay in the monitor: curl through
# http+tls listeners with an RSA (CA-signed, with its chain) and an
# ECDSA certificate; TLS 1.2 and 1.3 handshakes with every signature
# scheme the keys allow, each signed by the monitor; the default
# self-signed certificate (logged with its fingerprint); cert.pem and
# key.pem of the working directory; no byte of the private keys in the
# worker's memory; one clear line and a non-zero exit for a bad key
# file, a key of another certificate and an Ed25519 key; mutual TLS
# with ca=.
. regress/lib.sh

command -v openssl >/dev/null || skip "openssl not installed"
D=$LOGDIR/pki
mkdir -p "$D" "$LOGDIR/empty" "$LOGDIR/cwd" "$LOGDIR/edcwd"
W=$LOGDIR/www
mkdir -p "$W"
echo "hello through tls" >"$W/hello.txt"
H=$(free_port)
start_web www "$W" "$H"
WEB_URL=http://127.0.0.1:$H/hello.txt

ossl() { openssl "$@" >>"$LOGDIR/openssl.log" 2>&1 || fatal "openssl $1 failed"; }
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$D/san.ext"
# a CA; an RSA server certificate it signs (the file holds the chain);
# a self-signed ECDSA one whose file holds its key too; a client's
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$D/ca.key" -out "$D/ca.crt" -days 2 -subj /CN=ostp-test-ca
ossl req -newkey rsa:2048 -nodes -keyout "$D/rsa.key" -out "$D/rsa.csr" \
    -subj /CN=localhost
ossl x509 -req -in "$D/rsa.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" \
    -CAcreateserial -days 2 -extfile "$D/san.ext" -out "$D/rsa.leaf"
cat "$D/rsa.leaf" "$D/ca.crt" >"$D/rsa.crt"
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$D/ec.key" -out "$D/ec.crt" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
cat "$D/ec.crt" "$D/ec.key" >"$D/ec.pem"
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$D/client.key" -out "$D/client.csr" -subj /CN=client
ossl x509 -req -in "$D/client.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" \
    -CAcreateserial -days 2 -out "$D/client.crt"
chmod 644 "$D"/*.key "$D"/*.pem

PR=$(free_port); PE=$(free_port); PD=$(free_port); PM=$(free_port)
# started in a directory without cert.pem: https:// gets the default
(cd "$LOGDIR/empty" && exec "$OSTPD" -w 1 \
    -L "http+tls://127.0.0.1:$PR?cert=$D/rsa.crt&key=$D/rsa.key" \
    -L "http+tls://127.0.0.1:$PE?cert=$D/ec.pem&key=$D/ec.pem" \
    -L "https://127.0.0.1:$PD" \
    -L "http+tls://127.0.0.1:$PM?cert=$D/rsa.crt&key=$D/rsa.key&ca=$D/ca.crt") \
    >"$LOGDIR/main.log" 2>&1 &
OPID=$!
PIDS="$PIDS $OPID"
MAIN=$OPID
L=$LOGDIR/main.log
wait_port "$PR" && wait_port "$PE" && wait_port "$PD" && wait_port "$PM" ||
    fatal "no TLS listener: $(tail -n 3 "$L")"

# 1. curl through both, verifying the proxy's certificate
got=$(curl -s --max-time 10 -x "https://127.0.0.1:$PR" \
    --proxy-cacert "$D/ca.crt" "$WEB_URL" 2>"$LOGDIR/curl-rsa.err")
[ "$got" = "hello through tls" ] ||
    fail "curl through the RSA listener: $got $(cat "$LOGDIR/curl-rsa.err")"
got=$(curl -s --max-time 10 -x "https://localhost:$PE" \
    --proxy-cacert "$D/ec.crt" "$WEB_URL" 2>"$LOGDIR/curl-ec.err")
[ "$got" = "hello through tls" ] ||
    fail "curl through the ECDSA listener: $got $(cat "$LOGDIR/curl-ec.err")"

# 2. handshakes: PORT CAFILE WANT-SIGTYPE s_client-args...
N=0
hs() {
	_p=$1; _ca=$2; _want=$3; shift 3
	N=$((N + 1))
	_o=$LOGDIR/hs-$N.out
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$_p" \
	    -CAfile "$_ca" -verify_return_error "$@" >"$_o" 2>&1
	if ! grep -q "Verify return code: 0 (ok)" "$_o" ||
	    ! grep -q "^Peer signature type: $_want\$" "$_o"; then
		fail "handshake $* on $_p (want $_want): $(grep -E \
		    'error|Peer signature|alert' "$_o" | head -n 3)"
		return 1
	fi
	case "$*" in
	*-tls1_2*) grep -q 'New, TLSv1.2, Cipher is ECDHE-' "$_o" ;;
	*-tls1_3*) grep -q 'New, TLSv1.3, Cipher is TLS_' "$_o" ;;
	esac || fail "handshake $*: $(grep 'New, ' "$_o")"
}
hs "$PR" "$D/ca.crt" RSA -tls1_2 -sigalgs RSA+SHA256
hs "$PR" "$D/ca.crt" RSA -tls1_2 -sigalgs RSA+SHA512
hs "$PR" "$D/ca.crt" RSA-PSS -tls1_2 -sigalgs rsa_pss_rsae_sha256
hs "$PR" "$D/ca.crt" RSA-PSS -tls1_3 -sigalgs rsa_pss_rsae_sha256
hs "$PR" "$D/ca.crt" RSA-PSS -tls1_3 -sigalgs rsa_pss_rsae_sha384
hs "$PR" "$D/ca.crt" RSA-PSS -tls1_3
hs "$PE" "$D/ec.crt" ECDSA -tls1_2 -sigalgs ECDSA+SHA256
hs "$PE" "$D/ec.crt" ECDSA -tls1_2 -sigalgs ECDSA+SHA384
hs "$PE" "$D/ec.crt" ECDSA -tls1_2 -sigalgs ECDSA+SHA512
hs "$PE" "$D/ec.crt" ECDSA -tls1_3 -sigalgs ecdsa_secp256r1_sha256
hs "$PE" "$D/ec.crt" ECDSA -tls1_3
# the chain travels: the leaf verifies against the CA alone
grep -q "1 s:CN = ostp-test-ca" "$LOGDIR/hs-1.out" ||
    fail "the RSA listener does not send its chain"
# RSA key transport would need a decryption the monitor does not offer
echo | timeout 10 openssl s_client -connect "127.0.0.1:$PR" -tls1_2 \
    -cipher AES128-GCM-SHA256 >"$LOGDIR/krsa.out" 2>&1
grep -q "Cipher is AES128-GCM-SHA256" "$LOGDIR/krsa.out" &&
    fail "RSA key transport was negotiated"

# 3. the default certificate: made once, logged with its fingerprint
[ "$(count "$L" 'use a self-signed one made now')" = 1 ] ||
    fail "the default certificate is not logged once"
fp=$(sed -n 's/.*self-signed one made now.*SHA-256 fingerprint \([0-9A-F:]*\).*/\1/p' "$L")
echo | timeout 10 openssl s_client -connect "127.0.0.1:$PD" \
    >"$LOGDIR/default.out" 2>&1
openssl x509 -noout -subject -fingerprint -sha256 -enddate \
    <"$LOGDIR/default.out" >"$LOGDIR/default.x509" 2>&1
grep -q "subject=CN = ostpd" "$LOGDIR/default.x509" &&
    grep -qi "Fingerprint=$fp\$" "$LOGDIR/default.x509" ||
    fail "default certificate ($fp): $(cat "$LOGDIR/default.x509")"
grep -q "Peer signature type: ECDSA" "$LOGDIR/default.out" ||
    fail "default certificate is not ECDSA"
got=$(curl -s --max-time 10 -x "https://127.0.0.1:$PD" --proxy-insecure \
    "$WEB_URL")
[ "$got" = "hello through tls" ] || fail "curl through the default: $got"

# 4. mutual TLS: a client certificate the CA signed is needed
M="--proxy-cacert $D/ca.crt --proxy-cert $D/client.crt --proxy-key $D/client.key"
# shellcheck disable=SC2086
got=$(curl -s --max-time 10 $M -x "https://127.0.0.1:$PM" "$WEB_URL" \
    2>"$LOGDIR/mtls.err")
[ "$got" = "hello through tls" ] ||
    fail "mutual TLS with a client certificate: $got $(cat "$LOGDIR/mtls.err")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    --proxy-cacert "$D/ca.crt" -x "https://127.0.0.1:$PM" "$WEB_URL")
[ "$code" = 000 ] || fail "mutual TLS without a client certificate: $code"
# a certificate of another CA: the default's listener serves none, so
# the ECDSA test certificate (self-signed) stands for a stranger
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    --proxy-cacert "$D/ca.crt" --proxy-cert "$D/ec.crt" \
    --proxy-key "$D/ec.key" -x "https://127.0.0.1:$PM" "$WEB_URL")
[ "$code" = 000 ] || fail "mutual TLS with a stranger's certificate: $code"
PROXY_TLS_ARGS=$M assert_serving "https://127.0.0.1:$PM"
PROXY_TLS_ARGS="--proxy-cacert $D/ca.crt" assert_serving "https://127.0.0.1:$PR"

# 5. no byte of the private keys in the worker: the RSA primes and
# exponent, the ECDSA scalar (big- and little-endian, as a bignum keeps
# them) and a line of each PEM file; present in the monitor (the scan
# works).  After the handshakes above, which the monitor signed.
needles=$(python3 - "$D/rsa.key" "$D/ec.key" <<'PY'
import sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key
out = []
for path in sys.argv[1:]:
    text = open(path, "rb").read()
    k = load_pem_private_key(text, None)
    nums = k.private_numbers()
    if hasattr(nums, "p"):
        vals = [nums.p, nums.q, nums.d]
    else:
        vals = [nums.private_value]
    for v in vals:
        be = v.to_bytes((v.bit_length() + 7) // 8, "big")
        out += [be.hex(), be[::-1].hex()]
    out.append(text.splitlines()[2].hex())
print(" ".join(out))
PY
) || fatal "cannot read the keys"
WK=$(worker_of "$MAIN") || fatal "no worker"
# shellcheck disable=SC2086
w=$(python3 regress/tools/memscan.py "$WK" --hex $needles) ||
    fail "cannot scan the worker"
# shellcheck disable=SC2086
m=$(python3 regress/tools/memscan.py "$MAIN" --hex $needles) ||
    fail "cannot scan the monitor"
sum() { _s=0; for _n in "$@"; do _s=$((_s + _n)); done; echo "$_s"; }
# the RSA prime p and the ECDSA scalar, in either order
# shellcheck disable=SC2086
set -- $m
[ $(($1 + $2)) -ge 1 ] && [ $(($8 + $9)) -ge 1 ] ||
    fail "the keys are not in the monitor's memory (scan broken?): $m"
# shellcheck disable=SC2086
log "key bytes: monitor $m, worker $w"
[ "$(sum $w)" = 0 ] || fail "private key bytes in the worker: $w"

# 6. cert.pem and key.pem of the working directory, also after a reload
cp "$D/ec.crt" "$LOGDIR/cwd/cert.pem"
cp "$D/ec.key" "$LOGDIR/cwd/key.pem"
PC=$(free_port)
(cd "$LOGDIR/cwd" && exec "$OSTPD" -w 1 -L "https://127.0.0.1:$PC") \
    >"$LOGDIR/cwd.log" 2>&1 &
CPID=$!
PIDS="$PIDS $CPID"
wait_port "$PC" || fatal "no listener with cert.pem: $(tail -n 3 "$LOGDIR/cwd.log")"
hs "$PC" "$D/ec.crt" ECDSA -tls1_3
grep -q 'self-signed' "$LOGDIR/cwd.log" &&
    fail "cert.pem in the working directory: the default was made"
kill -HUP "$CPID"
wait_log "$LOGDIR/cwd.log" "configuration reloaded (generation 2)" ||
    fail "no reload: $(tail -n 3 "$LOGDIR/cwd.log")"
wait_until 5 _nworkers "$CPID" 1
hs "$PC" "$D/ec.crt" ECDSA -tls1_2 -sigalgs ECDSA+SHA256

# 7. refused at start: one line naming the file, a non-zero exit
refused() {	# refused WHAT PATTERN [DIR] -L NODE
	_what=$1; _pat=$2; _dir=$3; shift 3
	_o=$LOGDIR/refused-$(echo "$_what" | tr -c 'a-z0-9\n' '_').out
	(cd "${_dir:-$LOGDIR/empty}" && exec timeout 10 "$OSTPD" "$@") \
	    >"$_o" 2>&1
	_rc=$?
	if [ $_rc -eq 0 ] || [ $_rc -eq 124 ] || [ "$(wc -l <"$_o")" != 1 ] ||
	    ! grep -q -- "$_pat" "$_o"; then
		fail "$_what: rc $_rc: $(cat "$_o")"
	fi
}
printf -- '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' \
    >"$D/bad.key"
ossl genpkey -algorithm ed25519 -out "$D/ed.key"
ossl req -x509 -key "$D/ed.key" -out "$D/ed.crt" -days 2 -subj /CN=localhost
PX=$(free_port)
refused "bad key file" "key file $D/bad.key: no unencrypted PEM private key" "" \
    -L "https://127.0.0.1:$PX?cert=$D/ec.crt&key=$D/bad.key"
refused "key of another certificate" "key file $D/rsa.key does not belong to the certificate in $D/ec.crt" "" \
    -L "https://127.0.0.1:$PX?cert=$D/ec.crt&key=$D/rsa.key"
refused "Ed25519 key" "key file $D/ed.key: ED25519 keys are not supported (only RSA and ECDSA)" "" \
    -L "https://127.0.0.1:$PX?cert=$D/ed.crt&key=$D/ed.key"
cp "$D/ed.crt" "$LOGDIR/edcwd/cert.pem"
cp "$D/ed.key" "$LOGDIR/edcwd/key.pem"
refused "Ed25519 key.pem in the working directory" \
    "key file $LOGDIR/edcwd/key.pem: ED25519 keys are not supported" \
    "$LOGDIR/edcwd" -L "https://127.0.0.1:$PX"

# the first daemon still serves, with the same default certificate
PROXY_TLS_ARGS=--proxy-insecure assert_serving "https://127.0.0.1:$PD"
PROXY_TLS_ARGS=$M assert_serving "https://127.0.0.1:$PM"
finish
