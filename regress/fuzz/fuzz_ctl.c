/*
 * libFuzzer harness for the control protocol (common/ctlproto.c): the
 * first byte picks the decoder.  0: a worker's report (what the monitor
 * decodes from an IPC_CMD_REPORT_ANS payload), whose records must encode
 * back to the same bytes; 1: a control request line; 2: an answer value
 * to unescape, which must escape back to an equivalent value.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ctlproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
reenc(void *arg, const struct ctl_rec *r)
{
	struct buf *e = arg;

	if (ctl_rec_enc(e, r) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf v, e;
	char *s, *t, *u;
	int last, cmd, lv;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		buf_view(&v, data + 1, size - 1);
		buf_init(&e);
		(void)buf_put_u8(&e, size > 1 ? data[1] : 0);
		if (ctl_report_dec(&v, &last, reenc, &e) == 0 &&
		    (buf_len(&e) != size - 1 ||
		    memcmp(buf_ptr(&e), data + 1, size - 1) != 0))
			abort();
		buf_release(&e);
		break;
	case 1:
		if (ctl_req_parse((const char *)data + 1, size - 1, &cmd,
		    &lv) == 0 && (cmd < CTL_CMD_STATUS ||
		    cmd > CTL_CMD_LOGLEVEL || (cmd == CTL_CMD_LOGLEVEL &&
		    lv < 1)))
			abort();
		break;
	case 2:
		if ((s = malloc(size)) == NULL || (t = malloc(3 * size)) ==
		    NULL || (u = malloc(3 * size)) == NULL)
			abort();
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		if (ctl_unescape(s) == 0) {
			ctl_escape(s, t, 3 * size);
			memcpy(u, t, strlen(t) + 1);
			if (ctl_unescape(u) != 0 || strcmp(u, s) != 0)
				abort();
		}
		free(s);
		free(t);
		free(u);
		break;
	}
	return 0;
}
