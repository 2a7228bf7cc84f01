/*
 * An established OSTP session (spec/ostp.md §2.6-§3), either side: the
 * direction keys, the ARQ, and the relay flows multiplexed on it.  Each
 * TCP flow is a connection (core/conn.h), relayed like any other: what
 * the peer sends on it waits in the flow's queue for its reader, what
 * its writer sends becomes Data messages, as many as the congestion
 * window admits.  The session does not own a socket: it hands every
 * datagram to its output function (the server's shared socket, the
 * client's own) and is fed what the dispatcher authenticated for it.
 */
#ifndef OSTP_SESSION_H
#define OSTP_SESSION_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct conn;
struct ostp_keys;
struct ostp_session;

/*
 * Sends n datagrams, laid end to end in buf with their lengths in lens:
 * 0, or -1 (dropped; the ARQ resends them).
 */
typedef int (*ostp_output_fn)(void *arg, const unsigned char *buf,
	    const size_t *lens, size_t n);
/*
 * Server: the peer opened stream st with Connect (udp 0) or
 * UdpAssociate (udp 1, addr NULL); the callee owns st and answers with
 * ostp_stream_accept().
 */
typedef void (*ostp_open_fn)(void *arg, struct conn *st, const char *addr,
	    size_t addrlen, int udp);
/* The session ended (peer Close, idle, failure); called from the loop. */
typedef void (*ostp_closed_fn)(void *arg, struct ostp_session *);

/* A datagram of a UdpAssociate flow (addr: its target or source). */
typedef void (*ostp_udp_fn)(void *arg, const char *addr, size_t addrlen,
	    const unsigned char *p, size_t n);

struct ostp_session_params {
	const struct ostp_keys	*keys;
	uint32_t		 sid;
	const unsigned char	*k_tx;		/* 32 bytes */
	const unsigned char	*k_rx;
	int			 server;
	unsigned int		 mtu;
	int			 reliable;	/* TCP/TLS carrier */
	ostp_output_fn		 output;
	ostp_open_fn		 open;		/* server */
	ostp_closed_fn		 closed;
	/* client: silence, or a resume after suspend: move the path */
	void			(*stalled)(void *arg);
	void			*arg;
	const char		*name;		/* for log lines */
};

struct ostp_session *ostp_session_new(struct worker *,
	    const struct ostp_session_params *);
/*
 * A datagram for this session (its header already matched): decrypt,
 * sequence, act.  1: it authenticated and raised the highest nonce (the
 * endpoint may move to its source); 0: authenticated, older; -1:
 * dropped without any effect.
 */
int	ostp_session_input(struct ostp_session *, const unsigned char *d,
	    size_t len);
/* The same, its header read already (sid matched, nonce n). */
int	ostp_session_input_n(struct ostp_session *, const unsigned char *d,
	    size_t len, uint64_t n);
/* The output function's target changed (roaming): resend what is due. */
void	ostp_session_path_moved(struct ostp_session *);
/*
 * The client's carrier broke (a TCP reset): 0 if a path move may be
 * tried now (its answer is then awaited as after a stall's), -1 if
 * the last move brought no answer yet and the session should end.
 */
int	ostp_session_move_begin(struct ostp_session *);
/*
 * Client: a flow to host:port (host NULL: a UdpAssociate) waiting for a session (its owner may free
 * it meanwhile: unlobby is then called); adopted by a session, it sends
 * Connect.  ostp_stream_fail ends a flow no session will take.
 */
struct conn *ostp_stream_pending(struct worker *, const char *host,
	    uint16_t port, void (*unlobby)(void *, struct conn *), void *);
int	ostp_session_adopt(struct ostp_session *, struct conn *);
/*
 * A UdpAssociate flow (ostp_stream_pending with host NULL, or one the
 * server accepted): who takes its UdpData, and sending one (0, or -1
 * when the flow cannot carry it now).
 */
void	ostp_stream_set_udp(struct conn *, ostp_udp_fn, void *);
int	ostp_stream_udp_send(struct conn *, const char *host, uint16_t port,
	    const unsigned char *p, size_t n);
void	ostp_stream_fail(struct conn *, const char *why);
/*
 * Client: the flow's answer: 0 waiting, 1 ConnectOk, -1 the server
 * refused it (why: its Error text), -2 no session to carry it.
 */
int	ostp_stream_status(const struct conn *, const char **why);
/* Server: answer a flow's Connect (ok) or refuse it with why. */
void	ostp_stream_accept(struct conn *, int ok, const char *why);
/* Send a Ping now (client: after a path move). */
void	ostp_session_ping(struct ostp_session *);
/* Microseconds since the last authenticated datagram. */
uint64_t ostp_session_idle_us(const struct ostp_session *);
/* Send Close and end (the closed callback is not called). */
void	ostp_session_free(struct ostp_session *);

/*
 * A server session moving to a worker of the next generation at a
 * reload (server.c): its keys and where its nonces stand.  Only a
 * session with no flows, nothing unacknowledged and nothing held for
 * reordering moves; the new worker makes a session with these keys and
 * resumes it, and the client never learns it moved.
 */
struct ostp_session_state {
	uint32_t	sid;
	unsigned char	k_tx[32];
	unsigned char	k_rx[32];
	uint64_t	tx_next;	/* the next nonce it sends */
	uint64_t	acked_high;
	uint64_t	rx_next;	/* the next one it delivers */
	uint64_t	rx_high;	/* highest authenticated, +1 */
	uint64_t	srtt_us;
	uint64_t	rttvar_us;
	uint64_t	min_rtt_us;
};
#define OSTP_STATE_LEN	(4 + 32 + 32 + 7 * 8)

/*
 * 0 with st filled when s may move; 1 when it may once its flows have
 * ended and its last frames are acknowledged; -1 when it is ending.
 */
int	ostp_session_export(const struct ostp_session *,
	    struct ostp_session_state *st);
/* Why s may not move yet (log lines). */
void	ostp_session_pending(const struct ostp_session *, char *buf,
	    size_t len);
/* End s without a word to its peer (it lives on elsewhere). */
void	ostp_session_forget(struct ostp_session *);
/* s, made with st's keys and id, continues where st stands. */
void	ostp_session_resume(struct ostp_session *,
	    const struct ostp_session_state *st);
/* The state as IPC bytes (OSTP_STATE_LEN), and back: 0, or -1. */
struct buf;
int	ostp_state_enc(const struct ostp_session_state *, struct buf *);
int	ostp_state_dec(struct buf *, struct ostp_session_state *);
/*
 * Receive on a UDP socket with UDP_GRO (core/udpbatch.c's batches,
 * into one buffer of the worker's): calls fn for every datagram
 * (coalesced ones split), from the address in *from; at most maxrounds
 * reads, so that the flows' readers run between.  Returns how many.
 * An output function sends its batch with udpb_send().
 */
typedef void (*ostp_dgram_fn)(void *arg, const unsigned char *, size_t,
	    const void *from, unsigned int fromlen);
int	ostp_recv_batch(int fd, ostp_dgram_fn, void *arg, int maxrounds);
/* A tunnel socket's buffers, and joined datagrams (UDP_GRO) asked for. */
void	ostp_udp_tune(int fd);
/* Monotonic microseconds. */
uint64_t ostp_now_us(void);

#endif
