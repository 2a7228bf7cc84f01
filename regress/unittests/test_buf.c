/* Unit tests for the bounded buffer API (common/buf.c). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cbuf.h"
#include "err.h"
#include "test.h"

TEST(test_ints_round_trip)
{
	struct buf b;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	buf_init(&b);
	ASSERT_EQ_INT(buf_put_u8(&b, 0), 0);
	ASSERT_EQ_INT(buf_put_u8(&b, 0xff), 0);
	ASSERT_EQ_INT(buf_put_u16(&b, 0), 0);
	ASSERT_EQ_INT(buf_put_u16(&b, 0xffff), 0);
	ASSERT_EQ_INT(buf_put_u32(&b, 0), 0);
	ASSERT_EQ_INT(buf_put_u32(&b, 0xffffffffU), 0);
	ASSERT_EQ_INT(buf_put_u64(&b, 0), 0);
	ASSERT_EQ_INT(buf_put_u64(&b, UINT64_MAX), 0);
	ASSERT_EQ_INT(buf_put_u64(&b, 0x8000000000000001ULL), 0);
	ASSERT_EQ_UINT(buf_len(&b), 2 + 4 + 8 + 24);

	ASSERT_EQ_INT(buf_get_u8(&b, &v8), 0);
	ASSERT_EQ_UINT(v8, 0);
	ASSERT_EQ_INT(buf_get_u8(&b, &v8), 0);
	ASSERT_EQ_UINT(v8, 0xff);
	ASSERT_EQ_INT(buf_get_u16(&b, &v16), 0);
	ASSERT_EQ_UINT(v16, 0);
	ASSERT_EQ_INT(buf_get_u16(&b, &v16), 0);
	ASSERT_EQ_UINT(v16, 0xffff);
	ASSERT_EQ_INT(buf_get_u32(&b, &v32), 0);
	ASSERT_EQ_UINT(v32, 0);
	ASSERT_EQ_INT(buf_get_u32(&b, &v32), 0);
	ASSERT_EQ_UINT(v32, 0xffffffffU);
	ASSERT_EQ_INT(buf_get_u64(&b, &v64), 0);
	ASSERT_EQ_UINT(v64, 0);
	ASSERT_EQ_INT(buf_get_u64(&b, &v64), 0);
	ASSERT_EQ_UINT(v64, UINT64_MAX);
	ASSERT_EQ_INT(buf_get_u64(&b, &v64), 0);
	ASSERT_EQ_UINT(v64, 0x8000000000000001ULL);
	ASSERT_EQ_UINT(buf_len(&b), 0);
	ASSERT_EQ_INT(buf_expect_end(&b), 0);
	buf_release(&b);
}

TEST(test_byte_order)
{
	static const unsigned char want[] = {
		0xab,
		0x12, 0x34,
		0xde, 0xad, 0xbe, 0xef,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	};
	struct buf b, v;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	buf_init(&b);
	ASSERT_EQ_INT(buf_put_u8(&b, 0xab), 0);
	ASSERT_EQ_INT(buf_put_u16(&b, 0x1234), 0);
	ASSERT_EQ_INT(buf_put_u32(&b, 0xdeadbeefU), 0);
	ASSERT_EQ_INT(buf_put_u64(&b, 0x0102030405060708ULL), 0);
	REQUIRE(buf_len(&b) == sizeof(want));
	ASSERT(memcmp(buf_ptr(&b), want, sizeof(want)) == 0);
	buf_release(&b);

	/* And the getters read network byte order. */
	buf_view(&v, want, sizeof(want));
	ASSERT_EQ_INT(buf_get_u8(&v, &v8), 0);
	ASSERT_EQ_UINT(v8, 0xab);
	ASSERT_EQ_INT(buf_get_u16(&v, &v16), 0);
	ASSERT_EQ_UINT(v16, 0x1234);
	ASSERT_EQ_INT(buf_get_u32(&v, &v32), 0);
	ASSERT_EQ_UINT(v32, 0xdeadbeefU);
	ASSERT_EQ_INT(buf_get_u64(&v, &v64), 0);
	ASSERT_EQ_UINT(v64, 0x0102030405060708ULL);
	ASSERT_EQ_INT(buf_expect_end(&v), 0);
}

TEST(test_cstring)
{
	struct buf b;
	char *s;

	buf_init(&b);
	ASSERT_EQ_INT(buf_put_cstring(&b, "hello"), 0);
	REQUIRE(buf_len(&b) == 7);
	ASSERT(memcmp(buf_ptr(&b), "\0\005hello", 7) == 0);
	ASSERT_EQ_INT(buf_put_cstring(&b, ""), 0);
	ASSERT_EQ_INT(buf_put_cstring(&b, NULL), 0);	/* as "" */
	ASSERT_EQ_UINT(buf_len(&b), 11);

	/* Over the limit: refused, nothing consumed, nothing allocated. */
	s = (char *)1;
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 4), ERR_TOO_LONG);
	ASSERT(s == NULL);
	ASSERT_EQ_UINT(buf_len(&b), 11);
	/* Exactly at the limit. */
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 5), 0);
	ASSERT_STREQ(s, "hello");
	free(s);
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 0), 0);
	ASSERT_STREQ(s, "");
	free(s);
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 0), 0);
	ASSERT_STREQ(s, "");
	free(s);
	ASSERT_EQ_INT(buf_expect_end(&b), 0);
	buf_release(&b);
}

TEST(test_cstring_bad_input)
{
	static const unsigned char nul[] = { 0, 3, 'a', 0, 'b' };
	static const unsigned char trunc[] = { 0, 5, 'a', 'b', 'c' };
	static const unsigned char half[] = { 0 };
	struct buf b;
	char *s, *big;

	buf_view(&b, nul, sizeof(nul));
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 100), ERR_FORMAT);
	ASSERT(s == NULL);
	ASSERT_EQ_UINT(buf_len(&b), sizeof(nul));

	buf_view(&b, trunc, sizeof(trunc));
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 100), ERR_INCOMPLETE);
	ASSERT(s == NULL);
	ASSERT_EQ_UINT(buf_len(&b), sizeof(trunc));

	buf_view(&b, half, sizeof(half));
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 100), ERR_INCOMPLETE);
	ASSERT(s == NULL);
	ASSERT_EQ_UINT(buf_len(&b), 1);

	buf_view(&b, NULL, 0);
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 100), ERR_INCOMPLETE);
	ASSERT(s == NULL);

	/* A string too long for the u16 length is refused when written. */
	REQUIRE((big = malloc(70000)) != NULL);
	memset(big, 'x', 69999);
	big[69999] = '\0';
	buf_init(&b);
	ASSERT_EQ_INT(buf_put_cstring(&b, big), ERR_TOO_LONG);
	ASSERT_EQ_UINT(buf_len(&b), 0);
	big[65535] = '\0';
	ASSERT_EQ_INT(buf_put_cstring(&b, big), 0);
	ASSERT_EQ_UINT(buf_len(&b), 2 + 65535);
	ASSERT_EQ_INT(buf_get_cstring(&b, &s, 65535), 0);
	ASSERT(s != NULL && strlen(s) == 65535);
	free(s);
	buf_release(&b);
	free(big);
}

TEST(test_consume)
{
	struct buf b;
	uint8_t v;

	buf_init(&b);
	ASSERT_EQ_INT(buf_put(&b, "abcdef", 6), 0);
	ASSERT_EQ_INT(buf_consume(&b, 2), 0);
	ASSERT_EQ_UINT(buf_len(&b), 4);
	ASSERT(memcmp(buf_ptr(&b), "cdef", 4) == 0);
	ASSERT_EQ_INT(buf_consume(&b, 5), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 4);
	ASSERT_EQ_INT(buf_consume(&b, 0), 0);
	ASSERT_EQ_INT(buf_get_u8(&b, &v), 0);
	ASSERT_EQ_UINT(v, 'c');
	ASSERT_EQ_INT(buf_consume(&b, 3), 0);
	ASSERT_EQ_UINT(buf_len(&b), 0);
	/* A fully consumed buffer is rewound. */
	ASSERT_EQ_UINT(b.off, 0);
	ASSERT_EQ_UINT(b.size, 0);
	ASSERT_EQ_INT(buf_consume(&b, 1), ERR_INCOMPLETE);
	buf_release(&b);
}

TEST(test_view_readonly)
{
	static const unsigned char data[] = { 1, 2, 3, 4 };
	unsigned char *p;
	struct buf b;
	uint16_t v;

	buf_view(&b, data, sizeof(data));
	ASSERT_EQ_UINT(buf_len(&b), 4);
	ASSERT(buf_ptr(&b) == data);
	ASSERT(buf_put_u8(&b, 5) != 0);
	ASSERT(buf_reserve(&b, 1, &p) != 0);
	ASSERT_EQ_UINT(buf_len(&b), 4);
	ASSERT_EQ_INT(buf_get_u16(&b, &v), 0);
	ASSERT_EQ_UINT(v, 0x0102);
	ASSERT_EQ_INT(buf_consume(&b, 2), 0);
	ASSERT_EQ_UINT(buf_len(&b), 0);
	/* Reset rewinds a view instead of dropping the data. */
	buf_reset(&b);
	ASSERT_EQ_UINT(buf_len(&b), 4);
	ASSERT(memcmp(data, "\1\2\3\4", 4) == 0);
	/* Release must not free caller memory (ASan would notice). */
	buf_release(&b);
	ASSERT_EQ_UINT(buf_len(&b), 0);
	ASSERT(buf_ptr(&b) != NULL);
}

TEST(test_max_bound)
{
	unsigned char *p;
	struct buf b;

	buf_init(&b);
	ASSERT_EQ_UINT(b.max, BUF_MAX_DEFAULT);
	ASSERT_EQ_INT(buf_set_max(&b, 10), 0);
	ASSERT_EQ_INT(buf_put(&b, "0123456789", 10), 0);
	ASSERT_EQ_INT(buf_put_u8(&b, 1), ERR_NO_SPACE);
	ASSERT_EQ_INT(buf_put_u64(&b, 1), ERR_NO_SPACE);
	ASSERT_EQ_INT(buf_put_cstring(&b, ""), ERR_NO_SPACE);
	ASSERT_EQ_UINT(buf_len(&b), 10);
	ASSERT_EQ_INT(buf_set_max(&b, 9), ERR_NO_SPACE);
	ASSERT_EQ_UINT(b.max, 10);
	/* The bound is on live data: consumed bytes make room again. */
	ASSERT_EQ_INT(buf_consume(&b, 4), 0);
	ASSERT_EQ_INT(buf_put(&b, "abcd", 4), 0);
	ASSERT_EQ_INT(buf_put_u8(&b, 1), ERR_NO_SPACE);
	REQUIRE(buf_len(&b) == 10);
	ASSERT(memcmp(buf_ptr(&b), "456789abcd", 10) == 0);
	buf_release(&b);

	buf_init(&b);
	ASSERT_EQ_INT(buf_reserve(&b, BUF_MAX_DEFAULT + 1, &p), ERR_NO_SPACE);
	ASSERT_EQ_INT(buf_reserve(&b, SIZE_MAX, &p), ERR_NO_SPACE);
	ASSERT_EQ_INT(buf_put_u8(&b, 1), 0);
	ASSERT_EQ_INT(buf_reserve(&b, BUF_MAX_DEFAULT, &p), ERR_NO_SPACE);
	ASSERT_EQ_INT(buf_reserve(&b, SIZE_MAX, &p), ERR_NO_SPACE);
	ASSERT_EQ_UINT(buf_len(&b), 1);
	buf_release(&b);
}

TEST(test_expect_end)
{
	static const unsigned char data[] = { 0, 1, 2 };
	struct buf b;
	uint16_t v;

	buf_view(&b, data, sizeof(data));
	ASSERT_EQ_INT(buf_expect_end(&b), ERR_TRAILING);
	ASSERT_EQ_INT(buf_get_u16(&b, &v), 0);
	ASSERT_EQ_INT(buf_expect_end(&b), ERR_TRAILING);
	ASSERT_EQ_INT(buf_consume(&b, 1), 0);
	ASSERT_EQ_INT(buf_expect_end(&b), 0);

	buf_init(&b);
	ASSERT_EQ_INT(buf_expect_end(&b), 0);
}

TEST(test_reserve_growth)
{
	unsigned char *p, chunk[1000];
	struct buf *b;
	size_t i, j;
	int bad = 0;

	REQUIRE((b = buf_new()) != NULL);
	ASSERT_EQ_UINT(buf_len(b), 0);
	ASSERT_EQ_INT(buf_reserve(b, 3, &p), 0);
	memcpy(p, "xyz", 3);
	ASSERT(b->alloc >= 3);
	ASSERT_EQ_UINT(buf_len(b), 3);
	ASSERT_EQ_INT(buf_consume(b, 3), 0);
	for (i = 0; i < 200; i++) {
		for (j = 0; j < sizeof(chunk); j++)
			chunk[j] = (unsigned char)(i + j);
		if (buf_put(b, chunk, sizeof(chunk)) != 0)
			bad++;
	}
	ASSERT_EQ_INT(bad, 0);
	ASSERT_EQ_UINT(buf_len(b), 200 * sizeof(chunk));
	ASSERT(b->alloc >= b->size && b->alloc <= b->max);
	for (i = 0; i < 200 && bad == 0; i++) {
		if (buf_get(b, chunk, sizeof(chunk)) != 0) {
			bad++;
			break;
		}
		for (j = 0; j < sizeof(chunk); j++)
			if (chunk[j] != (unsigned char)(i + j))
				bad++;
	}
	ASSERT_EQ_INT(bad, 0);
	ASSERT_EQ_UINT(buf_len(b), 0);

	buf_free(b);

	/* Growth stops exactly at the bound. */
	REQUIRE((b = buf_new()) != NULL);
	ASSERT_EQ_INT(buf_set_max(b, 5000), 0);
	ASSERT_EQ_INT(buf_reserve(b, 4999, &p), 0);
	ASSERT_EQ_INT(buf_reserve(b, 1, &p), 0);
	ASSERT_EQ_INT(buf_reserve(b, 1, &p), ERR_NO_SPACE);
	ASSERT(b->alloc <= 5000);
	buf_free(b);
	buf_free(NULL);
}

TEST(test_short_input)
{
	static const unsigned char data[] = { 1, 2, 3, 4, 5, 6, 7 };
	unsigned char out[8];
	struct buf b;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	buf_view(&b, data, 7);
	ASSERT_EQ_INT(buf_get_u64(&b, &v64), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 7);
	ASSERT_EQ_INT(buf_get(&b, out, 8), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 7);

	buf_view(&b, data, 3);
	ASSERT_EQ_INT(buf_get_u32(&b, &v32), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 3);

	buf_view(&b, data, 1);
	ASSERT_EQ_INT(buf_get_u16(&b, &v16), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 1);

	buf_view(&b, data, 0);
	ASSERT_EQ_INT(buf_get_u8(&b, &v8), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 0);

	/* After a partial read the offset stays where it was. */
	buf_view(&b, data, 7);
	ASSERT_EQ_INT(buf_get_u32(&b, &v32), 0);
	ASSERT_EQ_UINT(v32, 0x01020304);
	ASSERT_EQ_INT(buf_get_u32(&b, &v32), ERR_INCOMPLETE);
	ASSERT_EQ_UINT(buf_len(&b), 3);
	ASSERT_EQ_INT(buf_get_u16(&b, &v16), 0);
	ASSERT_EQ_UINT(v16, 0x0506);
	ASSERT_EQ_INT(buf_get(&b, NULL, 1), 0);	/* skip */
	ASSERT_EQ_INT(buf_expect_end(&b), 0);
}

/* cbuf_reserve: allocation, doubling with the data kept, the bound. */
TEST(test_cbuf_reserve)
{
	struct cbuf b;
	unsigned char x[100];

	memset(&b, 0, sizeof(b));
	memset(x, 'a', sizeof(x));
	ASSERT(cbuf_reserve(&b, 10, 64, 256) == 0);
	ASSERT_EQ_UINT(b.cap, 64);
	ASSERT(cbuf_append(&b, x, 60) == 0);
	cbuf_consume(&b, 20);
	ASSERT(cbuf_reserve(&b, 100, 64, 256) == 0);
	ASSERT(b.cap >= 140 && b.cap <= 256);
	ASSERT_EQ_UINT(b.len, 40);
	ASSERT(b.p[b.off] == 'a' && b.p[b.off + 39] == 'a');
	ASSERT(cbuf_append(&b, x, 100) == 0);
	ASSERT(cbuf_reserve(&b, 200, 64, 256) == -1);
	ASSERT_EQ_UINT(b.len, 140);
	cbuf_release(&b);
}

int
main(void)
{
	RUN(test_ints_round_trip);
	RUN(test_byte_order);
	RUN(test_cstring);
	RUN(test_cstring_bad_input);
	RUN(test_consume);
	RUN(test_view_readonly);
	RUN(test_max_bound);
	RUN(test_expect_end);
	RUN(test_reserve_growth);
	RUN(test_short_input);
	RUN(test_cbuf_reserve);
	return TEST_EXIT();
}
