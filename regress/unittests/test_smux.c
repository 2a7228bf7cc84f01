/* smux v1 frame headers: layout (little-endian), refusals, truncations. */
#include "config.h"

#include <string.h>

#include "err.h"
#include "proto/smux.h"
#include "test.h"

TEST(test_layout)
{
	unsigned char h[SMUX_HDR_LEN];
	struct smux_frame f;

	smux_put(h, SMUX_PSH, 0x1234, 0x01020305);
	ASSERT(memcmp(h, "\x01\x02\x34\x12\x05\x03\x02\x01", 8) == 0);
	ASSERT_EQ_INT(smux_parse(h, sizeof(h), &f), 0);
	ASSERT_EQ_INT(f.cmd, SMUX_PSH);
	ASSERT_EQ_UINT(f.len, 0x1234);
	ASSERT_EQ_UINT(f.sid, 0x01020305);
}

TEST(test_refusals)
{
	unsigned char h[SMUX_HDR_LEN];
	struct smux_frame f;
	size_t i;

	smux_put(h, SMUX_SYN, 0, 3);
	for (i = 0; i < SMUX_HDR_LEN; i++)
		ASSERT_EQ_INT(smux_parse(h, i, &f), ERR_INCOMPLETE);
	ASSERT_EQ_INT(smux_parse(h, sizeof(h), &f), 0);
	h[0] = 2;				/* another version */
	ASSERT_EQ_INT(smux_parse(h, sizeof(h), &f), ERR_VERSION);
	smux_put(h, SMUX_UPD, 8, 3);		/* version 2's command */
	ASSERT_EQ_INT(smux_parse(h, sizeof(h), &f), ERR_FORMAT);
	smux_put(h, 9, 0, 3);
	ASSERT_EQ_INT(smux_parse(h, sizeof(h), &f), ERR_FORMAT);
	smux_put(h, SMUX_SYN, 4, 3);		/* only PSH has a payload */
	ASSERT_EQ_INT(smux_parse(h, sizeof(h), &f), ERR_FORMAT);
	smux_put(h, SMUX_NOP, 0, 0);
	ASSERT_EQ_INT(smux_parse(h, sizeof(h), &f), 0);
	ASSERT_EQ_INT(f.cmd, SMUX_NOP);
}

int
main(void)
{
	RUN(test_layout);
	RUN(test_refusals);
	return TEST_EXIT();
}
