/*
 * The switch of a gost tun:// or tap:// server (spec/gost.md §2.16): it
 * learns which tunnel peer (a UDP address) owns which inner address
 * (an IP address for tun, a MAC address for tap) from the sources of
 * what the peers send, and says where each packet goes: the local
 * device, one peer, or (tap) every peer, as an Ethernet bridge floods
 * broadcast, multicast and unknown destinations.  Pure bookkeeping: the
 * caller does the I/O and gives the time.  Every table is bounded.
 */
#ifndef OSTP_PROTO_TUNSW_H
#define OSTP_PROTO_TUNSW_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TUNSW_ENTRIES	1024	/* inner addresses learned */
#define TUNSW_PEERS	256	/* tunnel peers */
#define TUNSW_ROUTES	64	/* route= entries with a gateway */
#define TUNSW_AGE	300	/* seconds a silent MAC or peer is kept (as a
				   Linux bridge's ageing time) */

struct tunsw;

struct tunsw_peer {
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	time_t			 seen;
	uint32_t		 gen;		/* 0: a free slot */
};

/* Where one packet goes; a peer never gets back what it sent. */
struct tunsw_verdict {
	int	dev;		/* write it to the local device */
	int	peer;		/* -1, or the one peer (tunsw_peer()) */
	int	flood;		/* to every live peer but from */
	int	from;		/* the sending peer, -1: the device */
};

/* tap: MAC addresses (entries age); tun: IP addresses (kept, LRU). */
struct tunsw *tunsw_new(int tap);
void	tunsw_free(struct tunsw *);
/*
 * route= prefix (family AF_INET/AF_INET6, 4 or 16 bytes) whose gateway
 * gw is a peer's inner address: its packets go to that peer.  -1 when
 * the table is full or the prefix is malformed.
 */
int	tunsw_route_add(struct tunsw *, int family, const unsigned char *dst,
	    unsigned int plen, const unsigned char *gw);
/* An inner address of this host: never learned from a peer. */
void	tunsw_local_add(struct tunsw *, const unsigned char *key,
	    size_t keylen);
/*
 * A packet (tun) or frame (tap) from peer sa, or read from the device
 * (sa NULL): learns its source and fills v.  -1: malformed (too short,
 * not IPv4/IPv6, a multicast source MAC); dropped.
 */
int	tunsw_input(struct tunsw *, const unsigned char *p, size_t n,
	    const struct sockaddr *sa, socklen_t salen, time_t now,
	    struct tunsw_verdict *v);
/*
 * Peer i (0 <= i < TUNSW_PEERS), or NULL: a free slot, or (now not 0)
 * silent for longer than TUNSW_AGE.
 */
const struct tunsw_peer *tunsw_peer(const struct tunsw *, int i,
	    time_t now);
/* Inner addresses learned (for tests and the state dump). */
size_t	tunsw_count(const struct tunsw *);
/*
 * The inner source (dst 0) or destination (dst 1) address of a packet
 * into key (16 bytes): its length (4 or 16 for tun, 6 for tap), or 0
 * when the packet is malformed.
 */
size_t	tunsw_key(int tap, const unsigned char *p, size_t n, int dst,
	    unsigned char *key);

#endif
