/*
 * Steering an OSTP port's datagrams among the workers' sockets (one
 * SO_REUSEPORT group, monitor/steer.c): a BPF program of type
 * SK_REUSEPORT sends a datagram from an address a session lives at to
 * the socket of the worker holding that session, and any other one to
 * a socket of the current generation, chosen by the kernel's hash of
 * the 4-tuple.
 */
#ifndef OSTP_STEER_H
#define OSTP_STEER_H

#include <sys/socket.h>

#define STEER_SLOTS	64	/* sockets of one port, all generations */
#define STEER_ADDRS	65536	/* steered addresses (LRU beyond) */

struct steer {
	int		 prog;
	int		 addrs;		/* LRU hash: address -> slot */
	int		 cfg;		/* array: [0] n, [1 + i] slot */
	int		 socks;		/* REUSEPORT_SOCKARRAY */
	unsigned char	 used[STEER_SLOTS];
};

/* The key of the address map: what the program reads off a datagram. */
struct steer_key {
	unsigned char	addr[16];	/* IPv4 in the first 4 bytes */
	unsigned char	port[2];	/* network order */
	unsigned char	family;		/* 4 or 6 */
	unsigned char	pad[5];
};

int	steer_new(struct steer *, char *err, size_t errlen);
void	steer_free(struct steer *);
int	steer_attach(struct steer *, int fd);
int	steer_slot_add(struct steer *, int fd, unsigned int *slot);
void	steer_slot_del(struct steer *, unsigned int slot);
int	steer_current(struct steer *, const unsigned int *slots,
	    unsigned int n);
int	steer_key(const struct sockaddr *, struct steer_key *);
int	steer_addr_set(struct steer *, const struct steer_key *,
	    unsigned int slot);
int	steer_addr_del(struct steer *, const struct steer_key *);
/* An OSTP port's TCP group: a socket chosen by the client's address. */
int	steer_tcp_attach(int fd, unsigned int n);
int	steer_addr_del_if(struct steer *, const struct steer_key *,
	    unsigned int slot);

#endif
