/*
 * The OSTP client's TURN relay (turn.h).  One transaction at a time:
 * Allocate (answered 401 with a realm and nonce, then again with
 * credentials), ChannelBind to the OSTP server (which also installs the
 * permission, RFC 5766 11.1), then relaying; before the allocation's
 * lifetime or the channel's 10 minutes run out, Refresh and ChannelBind
 * again.  A request is sent again after 0.5, 1, 2, 4 and 8 s; silence
 * after that, an error response (other than a challenge or a stale
 * nonce) or a response whose integrity fails the key's check ends the
 * relay, and the owner starts over.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "err.h"
#include "log.h"
#include "ostp/turn.h"
#include "conf.h"
#include "core/dial.h"
#include "proto/stun.h"
#include "worker.h"

#define OT_RTO_MS	500
#define OT_SENDS	5
#define OT_LIFETIME	600		/* asked for, seconds */
#define OT_CHANNEL	0x4000
#define OT_REQ_MAX	1024

enum ot_state { OT_IDLE, OT_ALLOCATE, OT_BIND, OT_READY, OT_REFRESH,
    OT_REBIND, OT_FAILED };

struct oturn {
	struct worker		*wk;
	struct oturn_params	 p;
	char			 user[STUN_USER_MAX + 1];
	char			*pass;
	char			 name[320];
	struct sockaddr_storage	 peer;
	enum ot_state		 state;
	struct turn_auth	 auth;
	int			 authed;
	uint16_t		 method;
	unsigned char		 tid[STUN_TID_LEN];
	unsigned char		 req[OT_REQ_MAX];
	size_t			 reqlen;
	int			 sends;
	unsigned long		 rto_ms;
	uint32_t		 lifetime;
	struct event		*tmr;
};

static void ot_timer_cb(evutil_socket_t, short, void *);

static void
ot_timer(struct oturn *t, unsigned long ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(t->tmr, &tv);
}

static void
ot_fail(struct oturn *t, const char *why)
{
	char msg[256];

	if (t->state == OT_FAILED)
		return;
	t->state = OT_FAILED;
	evtimer_del(t->tmr);
	snprintf(msg, sizeof(msg), "TURN: %.240s", why);
	t->p.failed(t->p.arg, msg);
}

/* Build the request of method (the auth as it stands) and send it. */
static void
ot_request(struct oturn *t, uint16_t method)
{
	const struct turn_auth *a = t->authed ? &t->auth : NULL;
	const struct sockaddr *peer = (const struct sockaddr *)&t->peer;
	int r;

	t->method = method;
	if (stun_new_tid(t->tid) != 0) {
		ot_fail(t, "no randomness");
		return;
	}
	switch (method) {
	case TURN_METHOD_ALLOCATE:
		r = turn_build_allocate(t->req, sizeof(t->req), &t->reqlen,
		    t->tid, OT_LIFETIME, a, STUN_F_FINGERPRINT);
		break;
	case TURN_METHOD_REFRESH:
		r = turn_build_refresh(t->req, sizeof(t->req), &t->reqlen,
		    t->tid, t->state == OT_FAILED ? 0 : OT_LIFETIME, a,
		    STUN_F_FINGERPRINT);
		break;
	default:
		r = turn_build_channel_bind(t->req, sizeof(t->req),
		    &t->reqlen, t->tid, OT_CHANNEL, peer, a,
		    STUN_F_FINGERPRINT);
		break;
	}
	if (r != 0) {
		ot_fail(t, "cannot build a request");
		return;
	}
	t->sends = 1;
	t->rto_ms = OT_RTO_MS;
	if (t->p.send(t->p.arg, t->req, t->reqlen) != 0) {
		ot_fail(t, "cannot send to the server");
		return;
	}
	ot_timer(t, t->rto_ms);
}

struct oturn *
oturn_new(struct worker *wk, const struct oturn_params *p)
{
	struct oturn *t;

	if (strlen(p->user) > STUN_USER_MAX ||
	    p->peerlen > sizeof(t->peer) ||
	    (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->wk = wk;
	t->p = *p;
	snprintf(t->user, sizeof(t->user), "%s", p->user);
	snprintf(t->name, sizeof(t->name), "%s", p->name);
	memcpy(&t->peer, p->peer, p->peerlen);
	if ((t->pass = strdup(p->pass)) == NULL ||
	    (t->tmr = evtimer_new(wk->base, ot_timer_cb, t)) == NULL) {
		free(t->pass);
		free(t);
		return NULL;
	}
	return t;
}

void
oturn_start(struct oturn *t)
{
	t->state = OT_ALLOCATE;
	ot_request(t, TURN_METHOD_ALLOCATE);
}

int
oturn_ready(const struct oturn *t)
{
	return t->state == OT_READY || t->state == OT_REFRESH ||
	    t->state == OT_REBIND;
}

int
oturn_header(const struct oturn *t, unsigned char h[4], size_t len)
{
	(void)t;
	return turn_channel_header(h, OT_CHANNEL, len);
}

/* Refresh before either the allocation or the channel (600 s) ends. */
static void
ot_schedule_refresh(struct oturn *t)
{
	unsigned long secs = t->lifetime / 2;

	if (secs > 300)
		secs = 300;
	if (secs < 30)
		secs = 30;
	ot_timer(t, secs * 1000);
}

static void
ot_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oturn *t = arg;

	(void)fd;
	(void)what;
	if (t->state == OT_READY) {
		/* time to refresh: the allocation, then the channel */
		t->state = OT_REFRESH;
		ot_request(t, TURN_METHOD_REFRESH);
		return;
	}
	if (t->state == OT_FAILED || t->state == OT_IDLE)
		return;
	if (t->sends >= OT_SENDS) {
		ot_fail(t, "the server does not answer");
		return;
	}
	t->sends++;
	t->rto_ms *= 2;
	if (t->p.send(t->p.arg, t->req, t->reqlen) != 0) {
		ot_fail(t, "cannot send to the server");
		return;
	}
	ot_timer(t, t->rto_ms);
}

static const char *
ot_method_name(uint16_t m)
{
	switch (m) {
	case TURN_METHOD_ALLOCATE:
		return "Allocate";
	case TURN_METHOD_REFRESH:
		return "Refresh";
	default:
		return "ChannelBind";
	}
}

/* A response to the request in flight. */
static void
ot_response(struct oturn *t, const unsigned char *p, size_t len,
    const struct stun_msg *m)
{
	char why[STUN_TEXT_MAX + 64], mapped[80], relayed[80];

	if (m->cls == STUN_CLASS_ERROR) {
		if (turn_should_retry(m, t->authed)) {
			if (turn_auth_from_challenge(&t->auth, m, t->user,
			    t->pass) != 0) {
				ot_fail(t, "a challenge without a realm or "
				    "nonce");
				return;
			}
			t->authed = 1;
			evtimer_del(t->tmr);
			ot_request(t, t->method);
			return;
		}
		snprintf(why, sizeof(why), "%s refused: %d %.160s",
		    ot_method_name(t->method), m->error, m->reason);
		ot_fail(t, why);
		return;
	}
	/* a success must carry our key's integrity */
	if (!t->authed || stun_check_integrity(p, len, m, t->auth.key,
	    sizeof(t->auth.key)) != 0)
		return;		/* not believed: the retry timer goes on */
	evtimer_del(t->tmr);
	switch (t->state) {
	case OT_ALLOCATE:
		if (!(m->has & STUN_HAS_RELAYED)) {
			ot_fail(t, "Allocate answered without a relayed "
			    "address");
			return;
		}
		t->lifetime = (m->has & STUN_HAS_LIFETIME) ? m->lifetime :
		    OT_LIFETIME;
		sockaddr_ntop((const struct sockaddr *)&m->relayed, relayed,
		    sizeof(relayed));
		if (m->has & STUN_HAS_XOR_MAPPED)
			sockaddr_ntop((const struct sockaddr *)&m->xor_mapped,
			    mapped, sizeof(mapped));
		else
			snprintf(mapped, sizeof(mapped), "unknown");
		logit("%s: TURN relay %s (our public address %s, %u s)",
		    t->name, relayed, mapped, t->lifetime);
		t->state = OT_BIND;
		ot_request(t, TURN_METHOD_CHANNEL_BIND);
		return;
	case OT_BIND:
		t->state = OT_READY;
		ot_schedule_refresh(t);
		t->p.ready(t->p.arg);
		return;
	case OT_REFRESH:
		if (m->has & STUN_HAS_LIFETIME)
			t->lifetime = m->lifetime;
		t->state = OT_REBIND;
		ot_request(t, TURN_METHOD_CHANNEL_BIND);
		return;
	case OT_REBIND:
		t->state = OT_READY;
		ot_schedule_refresh(t);
		return;
	default:
		return;
	}
}

int
oturn_input(struct oturn *t, const unsigned char *p, size_t len,
    const unsigned char **d, size_t *dlen)
{
	struct sockaddr_storage from;
	struct stun_msg m;
	uint16_t ch;

	switch (stun_classify(p, len)) {
	case STUN_KIND_CHANNEL:
		if (!oturn_ready(t) || turn_channel_parse(p, len, &ch, d,
		    dlen) != 0 || ch != OT_CHANNEL)
			return 0;
		return 1;
	case STUN_KIND_MESSAGE:
		break;
	default:
		return 0;
	}
	if (stun_parse(p, len, &m) != 0)
		return 0;
	/* a Data indication: before the channel is bound, or instead */
	if (m.method == TURN_METHOD_DATA && m.cls == STUN_CLASS_INDICATION) {
		if (!oturn_ready(t) || turn_parse_data_indication(p, len,
		    &from, d, dlen) != 0 || !sockaddr_same(&from, &t->peer))
			return 0;
		return 1;
	}
	if (t->state == OT_IDLE || t->state == OT_READY ||
	    t->state == OT_FAILED || !stun_is_response(&m, t->method, t->tid) ||
	    m.nunknown > 0)
		return 0;
	ot_response(t, p, len, &m);
	return 0;
}

void
oturn_free(struct oturn *t)
{
	if (t == NULL)
		return;
	/* the allocation ends now rather than in its lifetime (once) */
	if (oturn_ready(t) && t->authed) {
		t->state = OT_FAILED;
		ot_request(t, TURN_METHOD_REFRESH);
	}
	event_free(t->tmr);
	explicit_bzero(&t->auth, sizeof(t->auth));
	if (t->pass != NULL) {
		explicit_bzero(t->pass, strlen(t->pass));
		free(t->pass);
	}
	free(t);
}
