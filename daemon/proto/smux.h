/*
 * smux (xtaci/smux protocol version 1) frames: VER CMD LEN(2, LE)
 * SID(4, LE) and LEN bytes of payload.  Used by gost's MBIND and by the
 * multiplexed transports.
 */
#ifndef OSTP_SMUX_PROTO_H
#define OSTP_SMUX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SMUX_VERSION	1
#define SMUX_HDR_LEN	8
#define SMUX_FRAME_MAX	32768		/* payload, as smux's default */

enum smux_cmd {
	SMUX_SYN = 0,
	SMUX_FIN = 1,
	SMUX_PSH = 2,
	SMUX_NOP = 3,
	SMUX_UPD = 4,		/* version 2 only */
};

struct smux_frame {
	int		cmd;
	uint16_t	len;
	uint32_t	sid;
};

/*
 * A frame header at p: 0 (the payload may still be incomplete: check
 * avail >= SMUX_HDR_LEN + len), ERR_INCOMPLETE, ERR_VERSION for another
 * version, ERR_FORMAT for an unknown or misplaced command.
 */
int	smux_parse(const unsigned char *p, size_t avail, struct smux_frame *);
void	smux_put(unsigned char out[SMUX_HDR_LEN], int cmd, uint16_t len,
	    uint32_t sid);

#endif
