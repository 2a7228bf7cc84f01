/*
 * A very small unit test framework.  A test is a function declared with
 * TEST(name); main() runs each with RUN(name), which prints "ok - name"
 * or "FAIL - name", and returns TEST_EXIT() (1 if anything failed).
 * Assertions report "FAIL file:line: expr" and let the test go on.
 */
#ifndef OSTP_TEST_H
#define OSTP_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed;		/* failures in the current test */
static int test_nfailed;	/* tests that failed */

#define TEST(name)	static void name(void)

#define TEST_FAIL_AT(fmt, ...) do {					\
	fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__, __LINE__,	\
	    __VA_ARGS__);						\
	test_failed++;							\
} while (0)

#define ASSERT(cond) do {						\
	if (!(cond))							\
		TEST_FAIL_AT("%s", #cond);				\
} while (0)

#define ASSERT_EQ_INT(a, b) do {					\
	long long test_a_ = (long long)(a), test_b_ = (long long)(b);	\
	if (test_a_ != test_b_)						\
		TEST_FAIL_AT("%s == %s (%lld != %lld)", #a, #b,		\
		    test_a_, test_b_);					\
} while (0)

#define ASSERT_EQ_UINT(a, b) do {					\
	unsigned long long test_a_ = (unsigned long long)(a);		\
	unsigned long long test_b_ = (unsigned long long)(b);		\
	if (test_a_ != test_b_)						\
		TEST_FAIL_AT("%s == %s (%llu != %llu)", #a, #b,		\
		    test_a_, test_b_);					\
} while (0)

#define ASSERT_STREQ(a, b) do {						\
	const char *test_a_ = (a), *test_b_ = (b);			\
	if (test_a_ == NULL || test_b_ == NULL ?			\
	    test_a_ != test_b_ : strcmp(test_a_, test_b_) != 0)		\
		TEST_FAIL_AT("%s == %s (\"%s\" != \"%s\")", #a, #b,	\
		    test_a_ ? test_a_ : "(null)",			\
		    test_b_ ? test_b_ : "(null)");			\
} while (0)

/* Abort the current test when a precondition does not hold. */
#define REQUIRE(cond) do {						\
	if (!(cond)) {							\
		TEST_FAIL_AT("%s", #cond);				\
		return;							\
	}								\
} while (0)

#define RUN(name)	test_run(#name, name)
#define TEST_EXIT()	(test_nfailed != 0 ? 1 : 0)

static inline void
test_run(const char *name, void (*fn)(void))
{
	test_failed = 0;
	fn();
	fflush(stderr);
	if (test_failed != 0) {
		printf("FAIL - %s\n", name);
		test_nfailed++;
	} else
		printf("ok - %s\n", name);
	fflush(stdout);
}

#endif
