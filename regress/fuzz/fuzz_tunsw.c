/*
 * libFuzzer harness for tunsw.c, the switch of a tun:// or tap://
 * server.  The input is a series of packets, each with a header of
 * three bytes: who sent it (low 3 bits: one of eight peers; bit 3: the
 * device; bit 4: the tap switch, else the tun switch), seconds since
 * the last one, and its length.  Checked: a verdict names a peer that
 * exists and is not the sender, the device never gets back its own
 * packets, the table stays bounded.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/tunsw.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct tunsw *sw[2];
	struct tunsw_verdict v;
	struct sockaddr_in sin;
	unsigned char me[4] = { 10, 0, 0, 1 }, net[4] = { 10, 1, 0, 0 };
	unsigned char gw[4] = { 10, 0, 0, 2 };
	size_t off = 0, n;
	time_t now = 1;
	int who, r;

	sw[0] = tunsw_new(0);
	sw[1] = tunsw_new(1);
	if (sw[0] == NULL || sw[1] == NULL)
		abort();
	tunsw_local_add(sw[0], me, 4);
	(void)tunsw_route_add(sw[0], AF_INET, net, 16, gw);
	while (size - off >= 3) {
		who = data[off];
		now += data[off + 1];
		n = data[off + 2];
		off += 3;
		if (n > size - off)
			n = size - off;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)(1000 + (who & 7)));
		sin.sin_addr.s_addr = htonl(0x7f000001);
		if (who & 8)
			r = tunsw_input(sw[(who >> 4) & 1], data + off, n,
			    NULL, 0, now, &v);
		else
			r = tunsw_input(sw[(who >> 4) & 1], data + off, n,
			    (struct sockaddr *)&sin, sizeof(sin), now, &v);
		off += n;
		if (r != 0)
			continue;
		if ((who & 8) && (v.from != -1 || v.dev))
			abort();
		if (!(who & 8) && v.from == -1)
			abort();
		if (v.peer != -1 && (v.peer == v.from ||
		    tunsw_peer(sw[(who >> 4) & 1], v.peer, 0) == NULL))
			abort();
		if (tunsw_count(sw[(who >> 4) & 1]) > TUNSW_ENTRIES)
			abort();
	}
	tunsw_free(sw[0]);
	tunsw_free(sw[1]);
	return 0;
}
