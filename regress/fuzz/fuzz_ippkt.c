/*
 * libFuzzer harness for ippkt.c: the input is one packet as a capture
 * device gives it.  What parses must stay within the input, and parse
 * the same when the bytes after the datagram are cut off.
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ippkt.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct ippkt pk, pk2;

	if (ippkt_parse(data, size, &pk) != 0)
		return 0;
	if (pk.len > size || (pk.family != AF_INET && pk.family != AF_INET6))
		abort();
	if (pk.ports && pk.proto != IPPKT_TCP && pk.proto != IPPKT_UDP)
		abort();
	if (ippkt_parse(data, pk.len, &pk2) != 0 ||
	    memcmp(&pk, &pk2, sizeof(pk)) != 0)
		abort();
	(void)ippkt_unroutable(&pk);
	return 0;
}
