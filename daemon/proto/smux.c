/* smux version 1 frame headers. */
#include "config.h"

#include "err.h"
#include "smux.h"

int
smux_parse(const unsigned char *p, size_t avail, struct smux_frame *f)
{
	if (avail < SMUX_HDR_LEN)
		return ERR_INCOMPLETE;
	if (p[0] != SMUX_VERSION)
		return ERR_VERSION;
	/* version 1 knows SYN, FIN, PSH and NOP; UPD is version 2's */
	if (p[1] > SMUX_NOP)
		return ERR_FORMAT;
	f->cmd = p[1];
	f->len = (uint16_t)(p[2] | p[3] << 8);
	f->sid = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
	    (uint32_t)p[7] << 24;
	/* only PSH carries data; a NOP is for stream 0 */
	if (f->cmd != SMUX_PSH && f->len != 0)
		return ERR_FORMAT;
	return 0;
}

void
smux_put(unsigned char out[SMUX_HDR_LEN], int cmd, uint16_t len, uint32_t sid)
{
	out[0] = SMUX_VERSION;
	out[1] = (unsigned char)cmd;
	out[2] = (unsigned char)len;
	out[3] = (unsigned char)(len >> 8);
	out[4] = (unsigned char)sid;
	out[5] = (unsigned char)(sid >> 8);
	out[6] = (unsigned char)(sid >> 16);
	out[7] = (unsigned char)(sid >> 24);
}
