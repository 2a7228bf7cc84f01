/*
 * libFuzzer harness for smux frame headers: a stream of frames is
 * walked as the session does; a parsed header rebuilt must read back
 * the same.
 */
#include "config.h"

#include <stdlib.h>

#include "err.h"
#include "proto/smux.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	unsigned char h[SMUX_HDR_LEN];
	struct smux_frame f, g;

	while (smux_parse(data, size, &f) == 0) {
		smux_put(h, f.cmd, f.len, f.sid);
		if (smux_parse(h, sizeof(h), &g) != 0 || g.cmd != f.cmd ||
		    g.len != f.len || g.sid != f.sid)
			abort();
		if (size < SMUX_HDR_LEN + (size_t)f.len)
			break;
		data += SMUX_HDR_LEN + f.len;
		size -= SMUX_HDR_LEN + f.len;
	}
	return 0;
}
