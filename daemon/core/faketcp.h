/*
 * Datagrams as fake TCP segments (gost's tcp=true, xtaci/tcpraw's
 * wire): a real TCP connection opens each flow, then the kernel's
 * connection falls silent and each datagram travels as the payload of
 * one PSH|ACK segment written on a raw socket, numbered as the
 * connection would number it.  See faketcp.c.
 */
#ifndef OSTP_CORE_FAKETCP_H
#define OSTP_CORE_FAKETCP_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct worker;
struct listener_conf;
struct ftcp;

/* A datagram of from's flow (p is the caller's until it returns). */
typedef void (*ftcp_cb)(void *arg, unsigned char *p, size_t n,
    struct sockaddr_storage *from, socklen_t fromlen);

/*
 * A server on the listening socket lfd (the listener's TCP port), or a
 * client of the listener's peer (targets[0]), which connects at once
 * and again 1-6 s after its connection ends.  NULL on failure.
 */
struct ftcp *ftcp_server(struct worker *, const struct listener_conf *,
	    size_t idx, int lfd, ftcp_cb, void *arg);
struct ftcp *ftcp_client(struct worker *, const struct listener_conf *,
	    size_t idx, ftcp_cb, void *arg);

/*
 * n datagrams (lens[i] bytes each, back to back from buf) to the flow
 * of address to: how many went (bytes: their size).  The rest are
 * lost, as on a link: there is no such flow (yet), or the raw socket
 * is full.
 */
size_t	ftcp_send(struct ftcp *, const struct sockaddr_storage *to,
	    socklen_t tolen, const unsigned char *buf, const size_t *lens,
	    size_t n, size_t *bytes);

#endif
