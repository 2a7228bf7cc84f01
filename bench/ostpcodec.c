/*
 * The OSTP codec's per-datagram cost on one core: header mask, seal,
 * peek+open, and a seal+open round, for datagrams of SIZE bytes
 * (default 1350, the server's mtu).  Not part of make check.  After a
 * build, under the CPU lock:
 *
 *   cc -O2 -Wall -I. -Idaemon -o build/ostpcodec bench/ostpcodec.c \
 *       build/obj/daemon/proto/ostp.o -lcrypto
 *   flock -o /tmp/ostp-cpu.lock build/ostpcodec [SIZE [COUNT]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/ostp.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
report(const char *what, long n, double t, size_t bytes)
{
	printf("%-10s %9.0f /s  %7.1f ns  %5.2f GB/s\n", what, n / t,
	    t / n * 1e9, bytes ? n * (double)bytes / t / 1e9 : 0.0);
}

int
main(int argc, char **argv)
{
	static unsigned char frame[OSTP_DGRAM_MAX], dg[OSTP_DGRAM_MAX];
	static unsigned char pt[OSTP_DGRAM_MAX];
	struct ostp_keys k;
	struct ostp_aead tx, rx;
	unsigned char key[32];
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 1350;
	long i, n = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
	size_t flen;
	double t0;
	uint32_t sid;
	uint64_t seq;

	if (size < OSTP_OVERHEAD || size > OSTP_DGRAM_MAX || n < 1) {
		fprintf(stderr, "usage: ostpcodec [size 40..65535 [count]]\n");
		return 2;
	}
	flen = size - OSTP_DATA_HDR - OSTP_TAG;
	memset(key, 7, sizeof(key));
	memset(frame, 'x', flen);
	if (ostp_keys_init(&k, OSTP_WIRE_V5, "0123456789abcdef0123456789abcdef",
	    32) != 0 || ostp_aead_init(&tx, key) != 0 ||
	    ostp_aead_init(&rx, key) != 0)
		return 1;

	t0 = now();
	for (i = 0; i < n; i++)
		ostp_mask(&k, dg, size, OSTP_DATA_HDR);
	report("mask", n, now() - t0, 0);

	t0 = now();
	for (i = 0; i < n; i++)
		if (ostp_seal(&tx, &k, 1, (uint64_t)i, frame, flen, dg) < 0)
			return 1;
	report("seal", n, now() - t0, size);

	t0 = now();
	for (i = 0; i < n; i++)
		if (ostp_peek(&k, dg, size, &sid, &seq) != 0 ||
		    ostp_open(&rx, sid, seq, dg, size, pt) != (ssize_t)flen)
			return 1;
	report("peek+open", n, now() - t0, size);

	t0 = now();
	for (i = 0; i < n; i++)
		if (ostp_seal(&tx, &k, 1, (uint64_t)i, frame, flen, dg) < 0 ||
		    ostp_peek(&k, dg, size, &sid, &seq) != 0 ||
		    ostp_open(&rx, sid, seq, dg, size, pt) != (ssize_t)flen)
			return 1;
	report("seal+open", n, now() - t0, size);

	ostp_aead_clear(&tx);
	ostp_aead_clear(&rx);
	ostp_keys_clear(&k);
	return 0;
}
