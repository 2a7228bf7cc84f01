/*
 * Logging: one set of calls for every process.  The monitor writes to
 * stderr (foreground) or syslog (-b); a worker hands its lines to the
 * monitor over IPC through a sink it installs after the sandbox is up.
 */
#ifndef OSTP_LOG_H
#define OSTP_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_FATAL = 0,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_INFO,
	LOG_LEVEL_VERBOSE,
	LOG_LEVEL_DEBUG1,
	LOG_LEVEL_DEBUG2,
	LOG_LEVEL_DEBUG3,
};

typedef void (*log_sink_fn)(int level, const char *line, void *ctx);

void	log_init(const char *ident, int level, int use_syslog);
void	log_set_level(int level);
int	log_get_level(void);
void	log_set_prefix(const char *prefix);
void	log_set_sink(log_sink_fn sink, void *ctx);
/* Write an already formatted line from another process (a worker). */
void	log_emit(int level, const char *line);

void	do_log(int level, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	do_logv(int level, const char *func, const char *fmt, va_list ap);
void	do_fatal(const char *func, const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));
void	cleanup_exit(int status) __attribute__((noreturn));
void	set_cleanup_hook(void (*hook)(int));

#define fatal(...)	do_fatal(NULL, __VA_ARGS__)
#define fatal_f(...)	do_fatal(__func__, __VA_ARGS__)
#define error(...)	do_log(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)
#define error_f(...)	do_log(LOG_LEVEL_ERROR, __func__, __VA_ARGS__)
#define logit(...)	do_log(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define logit_f(...)	do_log(LOG_LEVEL_INFO, __func__, __VA_ARGS__)
#define verbose(...)	do_log(LOG_LEVEL_VERBOSE, NULL, __VA_ARGS__)
#define debug(...)	do_log(LOG_LEVEL_DEBUG1, NULL, __VA_ARGS__)
#define debug_f(...)	do_log(LOG_LEVEL_DEBUG1, __func__, __VA_ARGS__)
#define debug2_f(...)	do_log(LOG_LEVEL_DEBUG2, __func__, __VA_ARGS__)
#define debug3_f(...)	do_log(LOG_LEVEL_DEBUG3, __func__, __VA_ARGS__)

#endif
