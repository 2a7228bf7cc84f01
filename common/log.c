#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "ostpd";
static int log_level = LOG_LEVEL_INFO;
static int log_syslog;
static char log_prefix[64];
static log_sink_fn log_sink;
static void *log_sink_ctx;
static void (*log_cleanup)(int);

static const int syslog_prio[] = {
	LOG_CRIT, LOG_ERR, LOG_INFO, LOG_INFO, LOG_DEBUG, LOG_DEBUG, LOG_DEBUG
};

void
log_init(const char *ident, int level, int use_syslog)
{
	log_ident = ident;
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

void
log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

void
log_set_sink(log_sink_fn sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

void
log_emit(int level, const char *line)
{
	int saved = errno;

	char clean[1200];
	size_t i;

	if (level < LOG_LEVEL_FATAL || level > LOG_LEVEL_DEBUG3)
		level = LOG_LEVEL_ERROR;
	if (level > log_level)
		return;
	/*
	 * Lines from workers arrive here unfiltered: no control character
	 * may split a line or forge another.
	 */
	for (i = 0; line[i] != '\0' && i < sizeof(clean) - 1; i++)
		clean[i] = ((unsigned char)line[i] < 0x20 ||
		    line[i] == 0x7f) ? '?' : line[i];
	clean[i] = '\0';
	if (log_syslog)
		syslog(syslog_prio[level], "%s", clean);
	else
		dprintf(STDERR_FILENO, "%s: %s\n", log_ident, clean);
	errno = saved;
}

void
do_logv(int level, const char *func, const char *fmt, va_list ap)
{
	char msg[1024], line[1200];
	int saved = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Strip control characters so peer-derived text cannot forge lines. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	snprintf(line, sizeof(line), "%s%s%s%s", log_prefix,
	    func ? func : "", func ? ": " : "", msg);
	if (log_sink != NULL)
		log_sink(level, line, log_sink_ctx);
	else
		log_emit(level, line);
	errno = saved;
}

void
do_log(int level, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	do_logv(level, func, fmt, ap);
	va_end(ap);
}

void
set_cleanup_hook(void (*hook)(int))
{
	log_cleanup = hook;
}

void
cleanup_exit(int status)
{
	if (log_cleanup != NULL)
		log_cleanup(status);
	_exit(status);
}

void
do_fatal(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	do_logv(LOG_LEVEL_FATAL, func, fmt, ap);
	va_end(ap);
	cleanup_exit(255);
}
