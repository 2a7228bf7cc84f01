/* Error codes: functions return 0 on success or one of these (< 0). */
#ifndef OSTP_ERR_H
#define OSTP_ERR_H

#include <stddef.h>

#define ERR_SUCCESS		0
#define ERR_INTERNAL		-1
#define ERR_ALLOC		-2
#define ERR_INCOMPLETE		-3	/* input ends before the value */
#define ERR_FORMAT		-4	/* input is malformed */
#define ERR_NO_SPACE		-5	/* a bound would be exceeded */
#define ERR_TRAILING		-6	/* bytes left after the last field */
#define ERR_SYSTEM		-7	/* see errno */
#define ERR_VERSION		-8	/* peer speaks another version */
#define ERR_TOO_LONG		-9	/* a length field is over its limit */
#define ERR_CLOSED		-10	/* peer closed the channel */
#define ERR_DENIED		-11	/* not permitted by configuration */

const char *ostp_err(int);
/*
 * Format a user-facing error line into err; control characters become
 * '?' so that input quoted in it cannot break the line.
 */
void	seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
