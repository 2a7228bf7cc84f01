/*
 * STUN (RFC 5389) messages and the TURN (RFC 5766) client's requests,
 * indications and ChannelData.  One datagram is one message; the parser
 * checks every attribute of ours for its exact length before it reads
 * it, and hands out no pointer past the datagram.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "compat.h"
#include "err.h"
#include "proto/stun.h"

/* CRC-32 (ISO-HDLC, as zlib's) in pieces: start with 0. */
static uint32_t
crc32_update(uint32_t crc, const unsigned char *p, size_t len)
{
	size_t i;
	int k;

	crc = ~crc;
	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* HMAC-SHA1 over a then b. */
static int
hmac_sha1(const unsigned char *key, size_t keylen, const unsigned char *a,
    size_t alen, const unsigned char *b, size_t blen,
    unsigned char out[STUN_HMAC_LEN])
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	size_t olen = 0;
	int ok = 0;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return ERR_INTERNAL;
	ok = (ctx = EVP_MAC_CTX_new(mac)) != NULL &&
	    EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	    EVP_MAC_update(ctx, a, alen) == 1 &&
	    (blen == 0 || EVP_MAC_update(ctx, b, blen) == 1) &&
	    EVP_MAC_final(ctx, out, &olen, STUN_HMAC_LEN) == 1 &&
	    olen == STUN_HMAC_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : ERR_INTERNAL;
}

uint16_t
stun_type(uint16_t method, uint16_t cls)
{
	return (uint16_t)((method & 0x000f) | (method & 0x0070) << 1 |
	    (method & 0x0f80) << 2 | (cls & STUN_CLASS_MASK));
}

uint16_t
stun_type_method(uint16_t type)
{
	return (uint16_t)((type & 0x000f) | (type & 0x00e0) >> 1 |
	    (type & 0x3e00) >> 2);
}

uint16_t
stun_type_class(uint16_t type)
{
	return type & STUN_CLASS_MASK;
}

enum stun_kind
stun_classify(const unsigned char *p, size_t len)
{
	size_t dl;

	if (len >= STUN_HDR_LEN && (p[0] & 0xc0) == 0 &&
	    be32dec(p + 4) == STUN_MAGIC && (be16dec(p + 2) & 3) == 0 &&
	    (size_t)be16dec(p + 2) + STUN_HDR_LEN == len)
		return STUN_KIND_MESSAGE;
	if (len >= TURN_CHANNEL_HDR_LEN && p[0] >= 0x40 && p[0] <= 0x7f) {
		dl = be16dec(p + 2);
		if (len - TURN_CHANNEL_HDR_LEN >= dl &&
		    len - TURN_CHANNEL_HDR_LEN <= ((dl + 3) & ~(size_t)3))
			return STUN_KIND_CHANNEL;
	}
	return STUN_KIND_OTHER;
}

int
stun_new_tid(unsigned char tid[STUN_TID_LEN])
{
	return RAND_bytes(tid, STUN_TID_LEN) == 1 ? 0 : ERR_INTERNAL;
}

int
stun_longterm_key(const char *username, const unsigned char *realm,
    size_t realmlen, const char *password, unsigned char key[STUN_KEY_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return ERR_ALLOC;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, username, strlen(username)) == 1 &&
	    EVP_DigestUpdate(ctx, ":", 1) == 1 &&
	    EVP_DigestUpdate(ctx, realm, realmlen) == 1 &&
	    EVP_DigestUpdate(ctx, ":", 1) == 1 &&
	    EVP_DigestUpdate(ctx, password, strlen(password)) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &n) == 1 && n == STUN_KEY_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : ERR_INTERNAL;
}

/* An address attribute's value; tid for the IPv6 XOR. */
static int
parse_addr(const unsigned char *v, size_t len, int xor,
    const unsigned char tid[STUN_TID_LEN], struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	unsigned char mask[16];
	uint16_t port;
	int i;

	if (len < 4)
		return ERR_FORMAT;
	port = be16dec(v + 2);
	be32enc(mask, STUN_MAGIC);
	memcpy(mask + 4, tid, STUN_TID_LEN);
	if (xor)
		port ^= (uint16_t)(STUN_MAGIC >> 16);
	memset(ss, 0, sizeof(*ss));
	if (v[1] == 0x01 && len == 8) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, v + 4, 4);
		if (xor)
			for (i = 0; i < 4; i++)
				((unsigned char *)&sin->sin_addr)[i] ^= mask[i];
	} else if (v[1] == 0x02 && len == 20) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, v + 4, 16);
		if (xor)
			for (i = 0; i < 16; i++)
				sin6->sin6_addr.s6_addr[i] ^= mask[i];
	} else
		return ERR_FORMAT;
	return 0;
}

static int
known_required(uint16_t at)
{
	switch (at) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_MESSAGE_INTEGRITY:
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case TURN_ATTR_CHANNEL_NUMBER:
	case TURN_ATTR_LIFETIME:
	case TURN_ATTR_XOR_PEER_ADDRESS:
	case TURN_ATTR_DATA:
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case TURN_ATTR_XOR_RELAYED_ADDRESS:
	case 0x0018:		/* EVEN-PORT */
	case TURN_ATTR_REQUESTED_TRANSPORT:
	case 0x001a:		/* DONT-FRAGMENT */
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case 0x0022:		/* RESERVATION-TOKEN */
		return 1;
	}
	return 0;
}

/* One attribute (the first of its type: see the callers). */
static int
parse_attr(struct stun_msg *m, uint16_t at, const unsigned char *v,
    size_t al)
{
	size_t i;
	int e = 0;

	switch (at) {
	case STUN_ATTR_MAPPED_ADDRESS:
		if (!(m->has & STUN_HAS_MAPPED) &&
		    (e = parse_addr(v, al, 0, m->tid, &m->mapped)) == 0)
			m->has |= STUN_HAS_MAPPED;
		break;
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
		if (!(m->has & STUN_HAS_XOR_MAPPED) &&
		    (e = parse_addr(v, al, 1, m->tid, &m->xor_mapped)) == 0)
			m->has |= STUN_HAS_XOR_MAPPED;
		break;
	case TURN_ATTR_XOR_RELAYED_ADDRESS:
		if (!(m->has & STUN_HAS_RELAYED) &&
		    (e = parse_addr(v, al, 1, m->tid, &m->relayed)) == 0)
			m->has |= STUN_HAS_RELAYED;
		break;
	case TURN_ATTR_XOR_PEER_ADDRESS:
		if (!(m->has & STUN_HAS_PEER) &&
		    (e = parse_addr(v, al, 1, m->tid, &m->peer)) == 0)
			m->has |= STUN_HAS_PEER;
		break;
	case TURN_ATTR_LIFETIME:
		if (al != 4)
			return ERR_FORMAT;
		if (!(m->has & STUN_HAS_LIFETIME)) {
			m->lifetime = be32dec(v);
			m->has |= STUN_HAS_LIFETIME;
		}
		break;
	case TURN_ATTR_CHANNEL_NUMBER:
		if (al != 4)
			return ERR_FORMAT;
		if (!(m->has & STUN_HAS_CHANNEL)) {
			m->channel = be16dec(v);
			m->has |= STUN_HAS_CHANNEL;
		}
		break;
	case TURN_ATTR_REQUESTED_TRANSPORT:
		if (al != 4)
			return ERR_FORMAT;
		if (!(m->has & STUN_HAS_TRANSPORT)) {
			m->transport = v[0];
			m->has |= STUN_HAS_TRANSPORT;
		}
		break;
	case TURN_ATTR_DATA:
		if (!(m->has & STUN_HAS_DATA)) {
			m->data = v;
			m->datalen = al;
			m->has |= STUN_HAS_DATA;
		}
		break;
	case STUN_ATTR_ERROR_CODE:
		/* 21 reserved bits, class (3..6), number (0..99), reason */
		if (al < 4 || (v[2] & 7) < 3 || (v[2] & 7) > 6 || v[3] > 99)
			return ERR_FORMAT;
		if (m->has & STUN_HAS_ERROR)
			break;
		m->error = (v[2] & 7) * 100 + v[3];
		for (i = 0; i < al - 4 && i < STUN_TEXT_MAX; i++)
			m->reason[i] = v[4 + i] < 0x20 || v[4 + i] == 0x7f ?
			    '?' : (char)v[4 + i];
		m->reason[i] = '\0';
		m->has |= STUN_HAS_ERROR;
		break;
	case STUN_ATTR_REALM:
		if (al > STUN_TEXT_MAX)
			return ERR_FORMAT;
		if (!(m->has & STUN_HAS_REALM)) {
			memcpy(m->realm, v, al);
			m->realmlen = al;
			m->has |= STUN_HAS_REALM;
		}
		break;
	case STUN_ATTR_NONCE:
		if (al > STUN_TEXT_MAX)
			return ERR_FORMAT;
		if (!(m->has & STUN_HAS_NONCE)) {
			memcpy(m->nonce, v, al);
			m->noncelen = al;
			m->has |= STUN_HAS_NONCE;
		}
		break;
	case STUN_ATTR_USERNAME:
		if (al > STUN_USER_MAX)
			return ERR_FORMAT;
		if (!(m->has & STUN_HAS_USERNAME)) {
			memcpy(m->username, v, al);
			m->usernamelen = al;
			m->has |= STUN_HAS_USERNAME;
		}
		break;
	default:
		if (at < 0x8000 && !known_required(at)) {
			if (m->nunknown < (int)(sizeof(m->unknown) /
			    sizeof(m->unknown[0])))
				m->unknown[m->nunknown] = at;
			m->nunknown++;
		}
		break;
	}
	return e;
}

int
stun_parse(const unsigned char *p, size_t len, struct stun_msg *m)
{
	size_t off, al, padded;
	uint16_t at;
	int e;

	memset(m, 0, sizeof(*m));
	if (len < STUN_HDR_LEN || (p[0] & 0xc0) != 0 ||
	    be32dec(p + 4) != STUN_MAGIC || (be16dec(p + 2) & 3) != 0 ||
	    (size_t)be16dec(p + 2) + STUN_HDR_LEN != len)
		return ERR_FORMAT;
	m->type = be16dec(p);
	m->method = stun_type_method(m->type);
	m->cls = stun_type_class(m->type);
	m->len = len;
	memcpy(m->tid, p + 8, STUN_TID_LEN);
	for (off = STUN_HDR_LEN; off < len; off += 4 + padded) {
		if (len - off < 4)
			return ERR_FORMAT;
		at = be16dec(p + off);
		al = be16dec(p + off + 2);
		padded = (al + 3) & ~(size_t)3;
		if (padded > len - off - 4)
			return ERR_FORMAT;
		/* nothing may follow FINGERPRINT (RFC 5389 15.5) */
		if (m->has & STUN_HAS_FINGERPRINT)
			return ERR_FORMAT;
		if (at == STUN_ATTR_FINGERPRINT) {
			if (al != 4)
				return ERR_FORMAT;
			m->fingerprint_off = off;
			m->has |= STUN_HAS_FINGERPRINT;
			continue;
		}
		/* what follows MESSAGE-INTEGRITY is ignored (15.4) */
		if (m->has & STUN_HAS_INTEGRITY)
			continue;
		if (at == STUN_ATTR_MESSAGE_INTEGRITY) {
			if (al != STUN_HMAC_LEN)
				return ERR_FORMAT;
			m->integrity_off = off;
			m->has |= STUN_HAS_INTEGRITY;
			continue;
		}
		if ((e = parse_attr(m, at, p + off + 4, al)) != 0)
			return e;
	}
	return 0;
}

int
stun_check_integrity(const unsigned char *p, size_t len,
    const struct stun_msg *m, const unsigned char *key, size_t keylen)
{
	unsigned char hdr[STUN_HDR_LEN], mac[STUN_HMAC_LEN];
	size_t off = m->integrity_off;
	int e;

	if (!(m->has & STUN_HAS_INTEGRITY) || off < STUN_HDR_LEN ||
	    off + 4 + STUN_HMAC_LEN > len)
		return ERR_FORMAT;
	/* the length as if MESSAGE-INTEGRITY were the last attribute */
	memcpy(hdr, p, STUN_HDR_LEN);
	be16enc(hdr + 2, (uint16_t)(off + 4 + STUN_HMAC_LEN - STUN_HDR_LEN));
	if ((e = hmac_sha1(key, keylen, hdr, sizeof(hdr), p + STUN_HDR_LEN,
	    off - STUN_HDR_LEN, mac)) != 0)
		return e;
	e = CRYPTO_memcmp(mac, p + off + 4, STUN_HMAC_LEN) == 0 ?
	    0 : ERR_DENIED;
	OPENSSL_cleanse(mac, sizeof(mac));
	return e;
}

int
stun_check_fingerprint(const unsigned char *p, size_t len,
    const struct stun_msg *m)
{
	unsigned char hdr[STUN_HDR_LEN];
	size_t off = m->fingerprint_off;
	uint32_t crc;

	if (!(m->has & STUN_HAS_FINGERPRINT) || off < STUN_HDR_LEN ||
	    off + 8 != len)
		return ERR_FORMAT;
	memcpy(hdr, p, STUN_HDR_LEN);
	be16enc(hdr + 2, (uint16_t)(off + 8 - STUN_HDR_LEN));
	crc = crc32_update(0, hdr, sizeof(hdr));
	crc = crc32_update(crc, p + STUN_HDR_LEN, off - STUN_HDR_LEN);
	return (crc ^ STUN_FINGERPRINT_XOR) == be32dec(p + off + 4) ?
	    0 : ERR_DENIED;
}

int
stun_is_response(const struct stun_msg *m, uint16_t method,
    const unsigned char tid[STUN_TID_LEN])
{
	return m->method == method && (m->cls == STUN_CLASS_SUCCESS ||
	    m->cls == STUN_CLASS_ERROR) &&
	    CRYPTO_memcmp(m->tid, tid, STUN_TID_LEN) == 0;
}

void
stun_build_start(struct stun_builder *b, unsigned char *buf, size_t cap,
    uint16_t type, const unsigned char tid[STUN_TID_LEN])
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->err = 0;
	if (cap < STUN_HDR_LEN) {
		b->err = ERR_NO_SPACE;
		return;
	}
	be16enc(buf, type & 0x3fff);
	be16enc(buf + 2, 0);
	be32enc(buf + 4, STUN_MAGIC);
	memcpy(buf + 8, tid, STUN_TID_LEN);
	b->len = STUN_HDR_LEN;
}

/* Room for an attribute of len bytes: its value's offset, or 0. */
static size_t
attr_open(struct stun_builder *b, uint16_t attr, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3, v;

	if (b->err != 0)
		return 0;
	if (len > 0xffff || b->len + 4 + padded - STUN_HDR_LEN > 0xffff) {
		b->err = ERR_TOO_LONG;
		return 0;
	}
	if (b->cap - b->len < 4 + padded) {
		b->err = ERR_NO_SPACE;
		return 0;
	}
	be16enc(b->buf + b->len, attr);
	be16enc(b->buf + b->len + 2, (uint16_t)len);
	v = b->len + 4;
	memset(b->buf + v + len, 0, padded - len);
	b->len = v + padded;
	be16enc(b->buf + 2, (uint16_t)(b->len - STUN_HDR_LEN));
	return v;
}

void
stun_add(struct stun_builder *b, uint16_t attr, const void *val, size_t len)
{
	size_t v;

	if ((v = attr_open(b, attr, len)) != 0 && len > 0)
		memcpy(b->buf + v, val, len);
}

void
stun_add_u32(struct stun_builder *b, uint16_t attr, uint32_t x)
{
	unsigned char v[4];

	be32enc(v, x);
	stun_add(b, attr, v, sizeof(v));
}

void
stun_add_addr(struct stun_builder *b, uint16_t attr,
    const struct sockaddr *sa, int xor)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	unsigned char v[20], mask[16];
	size_t alen, i;
	uint16_t port;

	if (b->err != 0)
		return;
	be32enc(mask, STUN_MAGIC);
	if (b->len >= STUN_HDR_LEN)
		memcpy(mask + 4, b->buf + 8, STUN_TID_LEN);
	v[0] = 0;
	if (sa->sa_family == AF_INET) {
		v[1] = 0x01;
		alen = 4;
		port = ntohs(sin->sin_port);
		memcpy(v + 4, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		v[1] = 0x02;
		alen = 16;
		port = ntohs(sin6->sin6_port);
		memcpy(v + 4, &sin6->sin6_addr, 16);
	} else {
		b->err = ERR_FORMAT;
		return;
	}
	if (xor) {
		port ^= (uint16_t)(STUN_MAGIC >> 16);
		for (i = 0; i < alen; i++)
			v[4 + i] ^= mask[i];
	}
	be16enc(v + 2, port);
	stun_add(b, attr, v, 4 + alen);
}

void
stun_add_integrity(struct stun_builder *b, const unsigned char *key,
    size_t keylen)
{
	unsigned char mac[STUN_HMAC_LEN];
	size_t v, off = b->len;
	int e;

	/* the length field already counts the attribute being added */
	if ((v = attr_open(b, STUN_ATTR_MESSAGE_INTEGRITY,
	    STUN_HMAC_LEN)) == 0)
		return;
	if ((e = hmac_sha1(key, keylen, b->buf, off, NULL, 0, mac)) != 0) {
		b->err = e;
		return;
	}
	memcpy(b->buf + v, mac, STUN_HMAC_LEN);
}

void
stun_add_fingerprint(struct stun_builder *b)
{
	size_t v, off = b->len;

	if ((v = attr_open(b, STUN_ATTR_FINGERPRINT, 4)) == 0)
		return;
	be32enc(b->buf + v,
	    crc32_update(0, b->buf, off) ^ STUN_FINGERPRINT_XOR);
}

int
stun_build_end(struct stun_builder *b, size_t *olen)
{
	*olen = b->err == 0 ? b->len : 0;
	return b->err;
}

int
turn_should_retry(const struct stun_msg *m, int authed)
{
	if (m->cls != STUN_CLASS_ERROR || !(m->has & STUN_HAS_ERROR))
		return 0;
	if (m->error == STUN_ERR_UNAUTHORIZED)
		return !authed && (m->has & STUN_HAS_REALM) &&
		    (m->has & STUN_HAS_NONCE);
	if (m->error == STUN_ERR_STALE_NONCE)
		return (m->has & STUN_HAS_NONCE) != 0;
	return 0;
}

int
turn_auth_from_challenge(struct turn_auth *a, const struct stun_msg *m,
    const char *username, const char *password)
{
	size_t ul = strlen(username);

	if (ul > STUN_USER_MAX)
		return ERR_TOO_LONG;
	if (!(m->has & STUN_HAS_NONCE) ||
	    (!(m->has & STUN_HAS_REALM) && a->realmlen == 0))
		return ERR_FORMAT;
	memcpy(a->username, username, ul + 1);
	if (m->has & STUN_HAS_REALM) {
		memcpy(a->realm, m->realm, m->realmlen);
		a->realmlen = m->realmlen;
	}
	memcpy(a->nonce, m->nonce, m->noncelen);
	a->noncelen = m->noncelen;
	return stun_longterm_key(a->username, a->realm, a->realmlen, password,
	    a->key);
}

/* USERNAME, REALM, NONCE and MESSAGE-INTEGRITY, then FINGERPRINT. */
static int
finish(struct stun_builder *b, const struct turn_auth *a,
    unsigned int flags, size_t *olen)
{
	if (a != NULL) {
		stun_add(b, STUN_ATTR_USERNAME, a->username,
		    strlen(a->username));
		stun_add(b, STUN_ATTR_REALM, a->realm, a->realmlen);
		stun_add(b, STUN_ATTR_NONCE, a->nonce, a->noncelen);
		stun_add_integrity(b, a->key, sizeof(a->key));
	}
	if (flags & STUN_F_FINGERPRINT)
		stun_add_fingerprint(b);
	return stun_build_end(b, olen);
}

int
stun_build_binding(unsigned char *out, size_t outlen, size_t *olen,
    const unsigned char tid[STUN_TID_LEN], unsigned int flags)
{
	struct stun_builder b;

	stun_build_start(&b, out, outlen,
	    stun_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), tid);
	return finish(&b, NULL, flags, olen);
}

int
turn_build_allocate(unsigned char *out, size_t outlen, size_t *olen,
    const unsigned char tid[STUN_TID_LEN], uint32_t lifetime,
    const struct turn_auth *a, unsigned int flags)
{
	static const unsigned char udp[4] = { TURN_TRANSPORT_UDP, 0, 0, 0 };
	struct stun_builder b;

	stun_build_start(&b, out, outlen,
	    stun_type(TURN_METHOD_ALLOCATE, STUN_CLASS_REQUEST), tid);
	stun_add(&b, TURN_ATTR_REQUESTED_TRANSPORT, udp, sizeof(udp));
	if (lifetime != 0)
		stun_add_u32(&b, TURN_ATTR_LIFETIME, lifetime);
	return finish(&b, a, flags, olen);
}

int
turn_build_refresh(unsigned char *out, size_t outlen, size_t *olen,
    const unsigned char tid[STUN_TID_LEN], uint32_t lifetime,
    const struct turn_auth *a, unsigned int flags)
{
	struct stun_builder b;

	stun_build_start(&b, out, outlen,
	    stun_type(TURN_METHOD_REFRESH, STUN_CLASS_REQUEST), tid);
	stun_add_u32(&b, TURN_ATTR_LIFETIME, lifetime);
	return finish(&b, a, flags, olen);
}

int
turn_build_create_permission(unsigned char *out, size_t outlen,
    size_t *olen, const unsigned char tid[STUN_TID_LEN],
    const struct sockaddr *peer, const struct turn_auth *a,
    unsigned int flags)
{
	struct stun_builder b;

	stun_build_start(&b, out, outlen,
	    stun_type(TURN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST), tid);
	stun_add_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, peer, 1);
	return finish(&b, a, flags, olen);
}

int
turn_build_channel_bind(unsigned char *out, size_t outlen, size_t *olen,
    const unsigned char tid[STUN_TID_LEN], uint16_t channel,
    const struct sockaddr *peer, const struct turn_auth *a,
    unsigned int flags)
{
	struct stun_builder b;

	*olen = 0;
	if (channel < TURN_CHANNEL_MIN || channel > TURN_CHANNEL_MAX)
		return ERR_FORMAT;
	stun_build_start(&b, out, outlen,
	    stun_type(TURN_METHOD_CHANNEL_BIND, STUN_CLASS_REQUEST), tid);
	stun_add_u32(&b, TURN_ATTR_CHANNEL_NUMBER, (uint32_t)channel << 16);
	stun_add_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, peer, 1);
	return finish(&b, a, flags, olen);
}

int
turn_build_send(unsigned char *out, size_t outlen, size_t *olen,
    const unsigned char tid[STUN_TID_LEN], const struct sockaddr *peer,
    const void *data, size_t datalen, unsigned int flags)
{
	struct stun_builder b;

	stun_build_start(&b, out, outlen,
	    stun_type(TURN_METHOD_SEND, STUN_CLASS_INDICATION), tid);
	stun_add_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, peer, 1);
	stun_add(&b, TURN_ATTR_DATA, data, datalen);
	return finish(&b, NULL, flags, olen);
}

int
turn_parse_data_indication(const unsigned char *p, size_t len,
    struct sockaddr_storage *peer, const unsigned char **data,
    size_t *datalen)
{
	struct stun_msg m;
	int e;

	*data = NULL;
	*datalen = 0;
	if ((e = stun_parse(p, len, &m)) != 0)
		return e;
	if (m.type != stun_type(TURN_METHOD_DATA, STUN_CLASS_INDICATION) ||
	    (m.has & (STUN_HAS_PEER | STUN_HAS_DATA)) !=
	    (STUN_HAS_PEER | STUN_HAS_DATA))
		return ERR_FORMAT;
	*peer = m.peer;
	*data = m.data;
	*datalen = m.datalen;
	return 0;
}

int
turn_channel_header(unsigned char out[TURN_CHANNEL_HDR_LEN],
    uint16_t channel, size_t len)
{
	if (channel < TURN_CHANNEL_MIN || channel > TURN_CHANNEL_MAX)
		return ERR_FORMAT;
	if (len > 0xffff)
		return ERR_TOO_LONG;
	be16enc(out, channel);
	be16enc(out + 2, (uint16_t)len);
	return 0;
}

int
turn_channel_parse(const unsigned char *p, size_t len, uint16_t *channel,
    const unsigned char **data, size_t *datalen)
{
	size_t dl;

	*data = NULL;
	*datalen = 0;
	if (len < TURN_CHANNEL_HDR_LEN || p[0] < 0x40 || p[0] > 0x7f)
		return ERR_FORMAT;
	dl = be16dec(p + 2);
	if (len - TURN_CHANNEL_HDR_LEN < dl ||
	    len - TURN_CHANNEL_HDR_LEN > ((dl + 3) & ~(size_t)3))
		return ERR_FORMAT;
	*channel = be16dec(p);
	*data = p + TURN_CHANNEL_HDR_LEN;
	*datalen = dl;
	return 0;
}
