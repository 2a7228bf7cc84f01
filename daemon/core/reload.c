/*
 * Reloadable files in the worker.  The worker cannot open files: it gets
 * a descriptor from the monitor at start, and again whenever the monitor
 * sees the file change (the period comes from the file's own "reload"
 * directive).  The worker parses the new contents and swaps them in as
 * a whole; a file that does not parse leaves the previous contents in
 * force and costs one log line naming the file and line.
 *
 * Lifetimes (common/ref.h): the slot holds one reference to what it
 * publishes, and a swap drops only that one; whoever keeps a pointer
 * across a callback holds its own reference, so the previous contents
 * live until the last such user lets go.  Swaps run from the event
 * loop only (the worker queues a push that arrives inside mm_wait).
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfgfile.h"
#include "conf.h"
#include "log.h"
#include "match.h"
#include "ostpkeys.h"
#include "ref.h"
#include "worker.h"
#include "core/reload.h"

#define RELOAD_FILE_MAX	(1U << 20)

struct reload_slot {
	char			*path;
	enum reload_kind	 kind;
	void			**obj;
	void			(*hook)(void *);	/* after each swap */
	void			*hookctx;
	TAILQ_ENTRY(reload_slot) entry;
};

static TAILQ_HEAD(, reload_slot) slots = TAILQ_HEAD_INITIALIZER(slots);

static char *
read_fd(int fd, size_t *lenp)
{
	char *data;
	size_t off = 0;
	ssize_t n;

	if ((data = malloc(RELOAD_FILE_MAX + 1)) == NULL)
		return NULL;
	for (;;) {
		n = read(fd, data + off, RELOAD_FILE_MAX + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
		if (off > RELOAD_FILE_MAX) {
			free(data);
			errno = EFBIG;
			return NULL;
		}
	}
	if (n == -1) {
		free(data);
		return NULL;
	}
	data[off] = '\0';
	*lenp = off;
	return data;
}

static void
keyset_free(void *p)
{
	struct ostp_keyset *ks = p;

	ostp_keys_free(ks->keys, ks->n);
	free(ks);
}

static int
parse(enum reload_kind kind, const char *data, size_t len, const char *path,
    void **out, unsigned long *reload_ms, char *err, size_t errlen)
{
	struct hosts *h;
	struct secrets *sec;
	struct resolver_conf *rc;
	struct peer_conf *pe;
	struct ip_list *ipl;
	int r;

	switch (kind) {
	case RELOAD_BYPASS:
		return bypass_file_parse(data, len, path,
		    (struct matcher_set **)out, reload_ms, err, errlen);
	case RELOAD_HOSTS:
		if ((r = hosts_parse(data, len, path, &h, err, errlen)) != 0)
			return r;
		*reload_ms = h->reload_ms;
		*out = h;
		return 0;
	case RELOAD_SECRETS:
		if ((r = secrets_parse(data, len, path, &sec, err,
		    errlen)) != 0)
			return r;
		*reload_ms = sec->reload_ms;
		*out = sec;
		return 0;
	case RELOAD_PEERS:
		if ((r = peer_conf_parse(data, len, path, &pe, err,
		    errlen)) != 0)
			return r;
		*reload_ms = pe->reload_ms;
		*out = pe;
		return 0;
	case RELOAD_IPS:
		if ((r = ip_list_parse(data, len, path, &ipl, err,
		    errlen)) != 0)
			return r;
		*reload_ms = ipl->reload_ms;
		*out = ipl;
		return 0;
	case RELOAD_OSTPKEYS: {
		struct ostp_keyset *ks;

		if ((ks = calloc(1, sizeof(*ks))) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			return -1;
		}
		if (ostp_keys_parse(data, len, path, &ks->keys, &ks->n, err,
		    errlen) != 0) {
			free(ks);
			return -1;
		}
		ref_init(ks, keyset_free);
		*reload_ms = OSTP_KEYS_RELOAD_MS;
		*out = ks;
		return 0;
	}
	case RELOAD_RESOLVER:
		if ((r = resolver_conf_parse(data, len, path, &rc, err,
		    errlen)) != 0)
			return r;
		if (resolver_supported(rc, err, errlen) != 0) {
			resolver_conf_free(rc);
			return -1;
		}
		*reload_ms = rc->reload_ms;
		*out = rc;
		return 0;
	}
	return -1;
}

static int
load_fd(struct reload_slot *s, int fd, unsigned long *reload_ms, char *err,
    size_t errlen)
{
	char *data;
	size_t len;
	void *obj = NULL, *old;
	int r;

	if ((data = read_fd(fd, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if (strlen(data) != len) {
		snprintf(err, errlen, "%s: NUL byte in file", s->path);
		free(data);
		return -1;
	}
	r = parse(s->kind, data, len, s->path, &obj, reload_ms, err, errlen);
	free(data);
	if (r != 0)
		return -1;
	/*
	 * One pointer store: a connection sees the old set or the new.
	 * The slot's reference moves to the new contents; the old ones
	 * go when their last user lets go (ref.h).
	 */
	old = *s->obj;
	*s->obj = obj;
	if (s->hook != NULL)
		s->hook(s->hookctx);
	ref_put(old);
	return 0;
}

int
reload_register(struct worker *wk, const char *path, enum reload_kind kind,
    void **obj, void (*hook)(void *), void *hookctx)
{
	struct reload_slot *s;
	unsigned long reload_ms = 0;
	char err[512];
	int fd, r;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL)
		fatal_f("out of memory");
	s->kind = kind;
	s->obj = obj;
	s->hook = hook;
	s->hookctx = hookctx;
	if ((fd = mm_file_open(wk, path)) == -1) {
		error("%s: %s", path, strerror(errno));
		return -1;
	}
	r = load_fd(s, fd, &reload_ms, err, sizeof(err));
	close(fd);
	if (r != 0) {
		error("%s", err);
		return -1;
	}
	TAILQ_INSERT_TAIL(&slots, s, entry);
	if (reload_ms > 0 && mm_file_watch(wk, path, reload_ms) != 0)
		error("%s: the monitor will not watch it: %s", path,
		    strerror(errno));
	return 0;
}

void
reload_file(struct worker *wk, const char *path, int fd)
{
	struct reload_slot *s;
	unsigned long reload_ms;
	char err[512];

	(void)wk;
	TAILQ_FOREACH(s, &slots, entry) {
		if (strcmp(s->path, path) != 0)
			continue;
		if (lseek(fd, 0, SEEK_SET) == -1) {
			error("%s: %s", path, strerror(errno));
			continue;
		}
		if (load_fd(s, fd, &reload_ms, err, sizeof(err)) != 0)
			error("reload failed: %s; keeping the previous "
			    "contents", err);
		else
			logit("%s reloaded", path);
	}
}
