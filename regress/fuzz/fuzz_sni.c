/*
 * libFuzzer harness for sni.c: the input is what a client sent to the
 * SNI proxy.  A hello that parses must also parse when cut short by one
 * byte as ERR_INCOMPLETE, must survive stripping the 0xfffe extension
 * and obfuscation with the same routing result, and a gost name that
 * decodes must encode back to the same text.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto/sni.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned char work[2 * SNI_HELLO_MAX];
static unsigned char obf[SNI_HELLO_MAX];

static void
check_hello(const unsigned char *data, size_t size)
{
	struct sni_hello h, h2;
	size_t len, olen;
	char host[SNI_HOST_MAX + 1];

	if (sni_parse(data, size, &h) != 0)
		return;
	if (h.hello_len > size || h.hello_len > SNI_HELLO_MAX ||
	    strlen(h.host) > SNI_HOST_MAX ||
	    strlen(h.gost_host) > SNI_HOST_MAX)
		abort();
	if (sni_parse(data, h.hello_len - 1, &h2) != ERR_INCOMPLETE)
		abort();
	if (h.gost_off != 0 &&
	    (h.gost_off < h.ext_off || h.gost_off + h.gost_len > h.hello_len))
		abort();
	len = size < sizeof(work) ? size : sizeof(work);
	memcpy(work, data, len);
	memcpy(host, h.gost_host, sizeof(host));
	olen = h.hello_len - h.gost_len;
	if (sni_strip_gost_ext(work, &len, &h) != 0 ||
	    h.hello_len != olen || strcmp(h.gost_host, host) != 0)
		abort();
	if (sni_parse(work, len, &h2) != 0 || h2.gost_off != 0 ||
	    h2.gost_host[0] != '\0' || strcmp(h2.host, h.host) != 0 ||
	    h2.hello_len != h.hello_len)
		abort();

	if (h2.host[0] == '\0')
		return;
	memcpy(host, h2.host, sizeof(host));
	switch (sni_obfuscate(work, len, &h2, "fake.example", obf,
	    sizeof(obf), &olen)) {
	case 0:
		break;
	case ERR_TOO_LONG:
		return;
	default:
		abort();
	}
	if (sni_parse(obf, olen, &h) != 0 ||
	    strcmp(h.host, "fake.example") != 0 ||
	    strcmp(h.gost_host, host) != 0)
		abort();
	if (sni_strip_gost_ext(obf, &olen, &h) != 0 ||
	    strcmp(h.gost_host, host) != 0 ||
	    sni_parse(obf, olen, &h2) != 0 || h2.gost_off != 0)
		abort();
}

static void
check_gost_name(const unsigned char *data, size_t size)
{
	char name[SNI_GOST_NAME_MAX + 1], enc[SNI_GOST_ENC_MAX];

	if (sni_decode_gost_name((const char *)data, size, name,
	    sizeof(name)) != 0)
		return;
	/* decoding is strict, so each name has one encoding */
	if (name[0] == '\0' ||
	    sni_encode_gost_name(name, enc, sizeof(enc)) != 0 ||
	    strlen(enc) != size || memcmp(enc, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char host[SNI_HOST_MAX + 1];
	uint16_t port;

	check_hello(data, size);
	check_gost_name(data, size);
	if (sni_http_host(data, size, host, sizeof(host), &port) == 0 &&
	    (host[0] == '\0' || strlen(host) > SNI_HOST_MAX))
		abort();
	return 0;
}
