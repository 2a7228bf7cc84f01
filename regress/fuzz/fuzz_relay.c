/*
 * libFuzzer harness for relay.c: the input is read as a relay request, a
 * response and a UDP-mode datagram stream.  A header that parses must be
 * ERR_INCOMPLETE when cut by one byte, and must build back into one that
 * parses to the same fields.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/relay.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* UserAuth and one Addr at their longest, with room to spare. */
static unsigned char out[1024];

/*
 * An Addr rebuilt from its text: a domain that reads as an IP literal
 * comes back as that address, maybe spelled canonically.
 */
static void
check_addr(const struct proxy_target *a, const struct proxy_target *b)
{
	if (a->port != b->port)
		abort();
	if (a->atyp == b->atyp) {
		if (strcmp(a->host, b->host) != 0)
			abort();
	} else if (a->atyp != SOCKS5_ATYP_DOMAIN ||
	    b->atyp == SOCKS5_ATYP_DOMAIN)
		abort();
}

static void
check_request(const unsigned char *data, size_t size)
{
	struct relay_request r, r2;
	size_t used, used2, n;

	if (relay_parse_request(data, size, &r, &used) != 0)
		return;
	if (used < RELAY_HDR_LEN || used > size ||
	    used > RELAY_HDR_LEN + RELAY_FEALEN_MAX ||
	    r.cmd < 1 || r.cmd > RELAY_CMD_MASK ||
	    r.naddr < 0 || r.naddr > RELAY_ADDR_MAX ||
	    strlen(r.user) > 255 || strlen(r.pass) > 255)
		abort();
	if (relay_parse_request(data, used - 1, &r2, &used2) !=
	    ERR_INCOMPLETE)
		abort();

	n = relay_build_request(out, sizeof(out), r.cmd, r.udp,
	    r.has_auth ? r.user : NULL, r.pass,
	    r.naddr > 0 ? r.addr[0].host : NULL, r.addr[0].port);
	if (n == 0)
		abort();
	if (relay_parse_request(out, n, &r2, &used2) != 0 || used2 != n ||
	    r2.cmd != r.cmd || r2.udp != r.udp ||
	    r2.has_auth != r.has_auth || strcmp(r2.user, r.user) != 0 ||
	    strcmp(r2.pass, r.pass) != 0 || r2.naddr != (r.naddr > 0) ||
	    r2.has_tunnel || r2.has_network)
		abort();
	if (r.naddr > 0)
		check_addr(&r.addr[0], &r2.addr[0]);
}

static void
check_response(const unsigned char *data, size_t size)
{
	struct relay_response r, r2;
	size_t used, used2, n;

	if (relay_parse_response(data, size, &r, &used) != 0)
		return;
	if (used < RELAY_HDR_LEN || used > size ||
	    r.status < 0 || r.status > 0xff ||
	    r.naddr < 0 || r.naddr > RELAY_ADDR_MAX)
		abort();
	if (relay_parse_response(data, used - 1, &r2, &used2) !=
	    ERR_INCOMPLETE)
		abort();

	n = relay_build_response(out, sizeof(out), r.status,
	    r.naddr > 0 ? r.addr[0].host : NULL, r.addr[0].port);
	if (n == 0)
		abort();
	if (relay_parse_response(out, n, &r2, &used2) != 0 || used2 != n ||
	    r2.status != r.status || r2.naddr != (r.naddr > 0) ||
	    r2.has_tunnel)
		abort();
	if (r.naddr > 0)
		check_addr(&r.addr[0], &r2.addr[0]);
}

/* Walk the input as back-to-back datagrams. */
static void
check_datagrams(const unsigned char *data, size_t size)
{
	unsigned char l[2];
	size_t off = 0, hl, dl;

	while (relay_parse_datagram(data + off, size - off, &hl, &dl) == 0) {
		if (hl != 2 || dl > RELAY_DATAGRAM_MAX ||
		    dl > size - off - hl)
			abort();
		if (relay_put_datagram_len(l, dl) != 0 ||
		    memcmp(l, data + off, 2) != 0)
			abort();
		off += hl + dl;
	}
	if (size - off >= 2 &&
	    (size_t)(data[off] << 8 | data[off + 1]) <= size - off - 2)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	check_request(data, size);
	check_response(data, size);
	check_datagrams(data, size);
	return 0;
}
