/*
 * The OSTP keys' byte counters on disk (stats=, spec/ostp.md §6): the
 * workers count into the shared table of ostp/usage.h; the monitor,
 * which made that memory, maps it too, writes each stats= file every
 * 30 s, on SIGHUP and at exit (a temporary file renamed over it), and
 * loads a file when it first appears in the configuration, so a key's
 * limit holds across restarts.  The file names keys by a digest of the
 * key (never the key), with the name for people:
 *
 *	{"version": 1, "keys": [{"id": "…", "name": "bob",
 *	    "up": 1234, "down": 56789}]}
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "conf.h"
#include "log.h"
#include "monitor.h"
#include "handler/handler.h"
#include "ostp/usage.h"

#define USAGE_SAVE_SECS		30
#define USAGE_FILE_MAX		(4 * 1024 * 1024)

static struct ostp_usage_shm *usage;
static struct event *save_ev;
static char **loaded;		/* stats= files read once */
static size_t nloaded;

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One file's counters into the table; a key there counts from them. */
static void
usage_load(const char *path)
{
	unsigned char id[OSTP_USAGE_ID_LEN];
	struct ostp_usage_slot *sl;
	const char *sid, *name, *p_keys[] = { "keys", NULL };
	const char *p_id[] = { "id", NULL }, *p_name[] = { "name", NULL };
	const char *p_up[] = { "up", NULL }, *p_down[] = { "down", NULL };
	yajl_val root, keys, k, up, down;
	char ebuf[200], *data;
	struct stat st;
	size_t i, j, n = 0;
	ssize_t r;
	uint64_t u, d;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			error("%s: %s; the keys' counters start at 0", path,
			    strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > USAGE_FILE_MAX ||
	    (data = malloc((size_t)st.st_size + 1)) == NULL) {
		error("%s: not a counters file of at most 4 MiB; the keys' "
		    "counters start at 0", path);
		close(fd);
		return;
	}
	while (n < (size_t)st.st_size &&
	    (r = read(fd, data + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)r;
	close(fd);
	data[n] = '\0';
	root = yajl_tree_parse(data, ebuf, sizeof(ebuf));
	free(data);
	if (root == NULL || (keys = yajl_tree_get(root, p_keys,
	    yajl_t_array)) == NULL) {
		error("%s: not a counters file; the keys' counters start at 0",
		    path);
		yajl_tree_free(root);
		return;
	}
	for (i = 0; i < YAJL_GET_ARRAY(keys)->len; i++) {
		k = YAJL_GET_ARRAY(keys)->values[i];
		sid = YAJL_GET_STRING(yajl_tree_get(k, p_id, yajl_t_string));
		name = YAJL_GET_STRING(yajl_tree_get(k, p_name,
		    yajl_t_string));
		up = yajl_tree_get(k, p_up, yajl_t_number);
		down = yajl_tree_get(k, p_down, yajl_t_number);
		if (sid == NULL || strlen(sid) != 2 * OSTP_USAGE_ID_LEN ||
		    up == NULL || down == NULL || !YAJL_IS_INTEGER(up) ||
		    !YAJL_IS_INTEGER(down) || YAJL_GET_INTEGER(up) < 0 ||
		    YAJL_GET_INTEGER(down) < 0)
			continue;
		for (j = 0; j < OSTP_USAGE_ID_LEN; j++) {
			if (hexval(sid[2 * j]) < 0 ||
			    hexval(sid[2 * j + 1]) < 0)
				break;
			id[j] = (unsigned char)(hexval(sid[2 * j]) << 4 |
			    hexval(sid[2 * j + 1]));
		}
		if (j < OSTP_USAGE_ID_LEN || (id[0] & 1) == 0 ||
		    (sl = ostp_usage_get(usage, id, name,
		    ostp_usage_file(path))) == NULL)
			continue;
		/* what this run counted already stays if larger */
		u = (uint64_t)YAJL_GET_INTEGER(up);
		d = (uint64_t)YAJL_GET_INTEGER(down);
		if (u > __atomic_load_n(&sl->up, __ATOMIC_RELAXED))
			__atomic_store_n(&sl->up, u, __ATOMIC_RELAXED);
		if (d > __atomic_load_n(&sl->down, __ATOMIC_RELAXED))
			__atomic_store_n(&sl->down, d, __ATOMIC_RELAXED);
	}
	yajl_tree_free(root);
}

static int
usage_write(const char *path)
{
	static const char hex[] = "0123456789abcdef";
	const struct ostp_usage_slot *sl;
	const unsigned char *buf;
	uint32_t tag = ostp_usage_file(path);
	char tmp[PATH_MAX], sid[2 * OSTP_USAGE_ID_LEN + 1], name[
	    OSTP_USAGE_NAME_MAX];
	yajl_gen g;
	size_t len, i, j;
	int fd, ok;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return -1;
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"version", 7);
	yajl_gen_integer(g, 1);
	yajl_gen_string(g, (const unsigned char *)"keys", 4);
	yajl_gen_array_open(g);
	for (i = 0; i < OSTP_USAGE_SLOTS; i++) {
		sl = &usage->slot[i];
		if (sl->file != tag || (sl->id[0] & 1) == 0)
			continue;
		for (j = 0; j < OSTP_USAGE_ID_LEN; j++) {
			sid[2 * j] = hex[sl->id[j] >> 4];
			sid[2 * j + 1] = hex[sl->id[j] & 15];
		}
		sid[2 * j] = '\0';
		/* a worker may be renaming it: a copy, terminated */
		memcpy(name, sl->name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		yajl_gen_map_open(g);
		yajl_gen_string(g, (const unsigned char *)"id", 2);
		yajl_gen_string(g, (const unsigned char *)sid, strlen(sid));
		yajl_gen_string(g, (const unsigned char *)"name", 4);
		if (yajl_gen_string(g, (const unsigned char *)name,
		    strlen(name)) != yajl_gen_status_ok)
			yajl_gen_string(g, (const unsigned char *)"", 0);
		yajl_gen_string(g, (const unsigned char *)"up", 2);
		yajl_gen_integer(g, (long long)__atomic_load_n(&sl->up,
		    __ATOMIC_RELAXED));
		yajl_gen_string(g, (const unsigned char *)"down", 4);
		yajl_gen_integer(g, (long long)__atomic_load_n(&sl->down,
		    __ATOMIC_RELAXED));
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	ok = 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) <
	    sizeof(tmp) && (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) != -1) {
		ok = write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
		if (close(fd) != 0)
			ok = 0;
		if (ok && rename(tmp, path) != 0)
			ok = 0;
		if (!ok)
			(void)unlink(tmp);
	}
	yajl_gen_free(g);
	return ok ? 0 : -1;
}

/* Every stats= file of every running generation, once each. */
static void
usage_each(struct monitor *mon, void (*fn)(struct monitor *, const char *))
{
	const struct mon_gen *g;
	const char **seen = NULL, **ns, *p;
	size_t i, j, n = 0;

	TAILQ_FOREACH(g, &mon->gens, entry)
		for (i = 0; i < g->conf.nlis; i++) {
			if (g->conf.lis[i].ostp == NULL ||
			    (p = g->conf.lis[i].ostp->stats_path) == NULL)
				continue;
			for (j = 0; j < n && strcmp(seen[j], p) != 0; j++)
				;
			if (j < n || (ns = reallocarray(seen, n + 1,
			    sizeof(*ns))) == NULL)
				continue;
			seen = ns;
			seen[n++] = p;
			fn(mon, p);
		}
	free(seen);
}

static void
save_one(struct monitor *mon, const char *path)
{
	(void)mon;
	if (usage_write(path) != 0)
		error("%s: cannot write the keys' counters: %s", path,
		    strerror(errno));
}

static void
load_one(struct monitor *mon, const char *path)
{
	char **nl;
	size_t i;

	(void)mon;
	for (i = 0; i < nloaded; i++)
		if (strcmp(loaded[i], path) == 0)
			return;
	if ((nl = reallocarray(loaded, nloaded + 1, sizeof(*nl))) == NULL ||
	    (nl[nloaded] = strdup(path)) == NULL) {
		if (nl != NULL)
			loaded = nl;
		return;
	}
	loaded = nl;
	nloaded++;
	usage_load(path);
}

static void
save_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mon_usage_save(arg);
}

/*
 * At start and after each reload: files new to the configuration are
 * read (before the generation's workers count), and all are written.
 */
void
mon_usage_config(struct monitor *mon)
{
	struct timeval tv = { USAGE_SAVE_SECS, 0 };

	if (usage == NULL && (usage = ss_usage_map(mon->replay_fd)) == NULL)
		fatal("cannot map the keys' counters: %s", strerror(errno));
	usage_each(mon, load_one);
	if (save_ev == NULL) {
		if ((save_ev = event_new(mon->base, -1, EV_PERSIST, save_cb,
		    mon)) == NULL)
			fatal("out of memory");
		event_add(save_ev, &tv);
	}
}

void
mon_usage_save(struct monitor *mon)
{
	if (usage != NULL)
		usage_each(mon, save_one);
}
