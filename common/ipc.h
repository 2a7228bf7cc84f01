/*
 * Monitor <-> worker protocol.  One SOCK_SEQPACKET socketpair per worker;
 * each message is one packet: a fixed 12-byte header then the payload.
 *
 *	u16 type | u8 version | u8 flags | u32 payload length | u32 sequence
 *
 * Worker requests are even, the monitor's answers odd (request + 1).
 * Monitor commands (monitor -> worker) are even in the 0x40 range and the
 * worker's answers odd.  Numbers are never reused; bump IPC_VERSION when a
 * payload changes.  At most one descriptor travels with a message and only
 * on the types marked below; every decoder consumes the whole payload.
 */
#ifndef OSTP_IPC_H
#define OSTP_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IPC_VERSION		5
#define IPC_HDR_LEN		12
#define IPC_MAX_PAYLOAD		4096
#define IPC_DGRAM_MAX		2048	/* an OSTP datagram handed on */
#define IPC_MAX_STRING		1024	/* log lines, paths */
#define IPC_MAX_NAME		15	/* interface names (IFNAMSIZ - 1) */

#define IPC_F_FD		0x01	/* a descriptor is attached */
#define IPC_F_MASK		0x01

enum ipc_type {
	/* worker -> monitor; answers are type + 1 */
	IPC_HELLO		= 2,	/* u32 worker id, u32 generation */
	IPC_HELLO_ANS		= 3,	/* i32 status */
	IPC_LOG			= 4,	/* u8 level, string line; no answer */
	IPC_LISTENER		= 6,	/* u32 listener index */
	IPC_LISTENER_ANS	= 7,	/* i32 status [+ fd] */
	IPC_TUN_OPEN		= 8,	/* string device name */
	IPC_TUN_OPEN_ANS	= 9,	/* i32 status [+ fd] */
	IPC_SOCKET		= 10,	/* u8 family, u8 type, u32 mark, string iface */
	IPC_SOCKET_ANS		= 11,	/* i32 status [+ fd] */
	IPC_FILE_OPEN		= 12,	/* string path */
	IPC_FILE_OPEN_ANS	= 13,	/* i32 status [+ fd] */
	IPC_READY		= 14,	/* empty; no answer */
	IPC_FILE_WATCH		= 16,	/* u32 period ms, string path */
	IPC_FILE_WATCH_ANS	= 17,	/* i32 status */
	IPC_TPROXY_SOCKET	= 18,	/* u32 listener, u8 family, 16 addr, u16 port */
	IPC_TPROXY_SOCKET_ANS	= 19,	/* i32 status [+ fd] */
	IPC_BIND_PARK		= 20,	/* as TPROXY_SOCKET (addr: the BIND's
					   client) + fd */
	IPC_BIND_PARK_ANS	= 21,	/* i32 status */
	IPC_BIND_UNPARK		= 22,	/* as TPROXY_SOCKET */
	IPC_BIND_UNPARK_ANS	= 23,	/* i32 status [+ fd] */
	IPC_TLS_CERT		= 24,	/* u32 listener */
	IPC_TLS_CERT_ANS	= 25,	/* i32 status [+ fd: sealed memfd,
					   the PEM certificate chain] */
	IPC_TLS_SIGN		= 26,	/* u32 listener, u8 op, input bytes */
	IPC_TLS_SIGN_ANS	= 27,	/* i32 status [+ signature bytes] */
	/* OSTP ports (monitor/mon_steer.c); no answers */
	IPC_OSTP_STEER		= 28,	/* as TPROXY_SOCKET: this address's
					   datagrams to me */
	IPC_OSTP_UNSTEER	= 30,	/* as TPROXY_SOCKET: no longer */
	IPC_OSTP_FWD		= 32,	/* see ipc_enc_dgram: not mine */
	/* a capture's ICMP echo socket (icmp=direct) */
	IPC_ICMP_SOCKET		= 34,	/* u32 listener, u32 family */
	IPC_ICMP_SOCKET_ANS	= 35,	/* i32 status [+ fd] */
	IPC_OSTP_HANDOFF	= 36,	/* as OSTP_FWD, the datagram a key
					   id and a session's state: for
					   the next generation (a drain) */
	/* fake TCP's raw socket (tun/tap tcp=true) */
	IPC_RAW_TCP_SOCKET	= 38,	/* u32 listener, u32 family */
	IPC_RAW_TCP_SOCKET_ANS	= 39,	/* i32 status [+ fd] */
	/* an IPv6 fake TCP flow's policy rule; no answers */
	IPC_FTCP_BLOCK		= 40,	/* u16 local port, then as
					   TPROXY_SOCKET (the peer) */
	IPC_FTCP_UNBLOCK	= 42,	/* as FTCP_BLOCK */
	/* monitor -> worker */
	IPC_CMD_STATS		= 64,	/* empty */
	IPC_CMD_STATS_ANS	= 65,	/* u32 active, u64 accepted, u64 in, u64 out */
	IPC_CMD_DRAIN		= 66,	/* empty; no answer */
	IPC_CMD_FILE		= 68,	/* string path + fd: it changed */
	/*
	 * The first two messages of a freshly executed worker: its
	 * parameters with the configuration (a sealed memfd of native
	 * JSON), then the shared replay memory (a memfd).  No answers.
	 */
	IPC_CMD_INIT		= 70,	/* see struct ipc_init; + fd */
	IPC_CMD_SHM		= 72,	/* empty; + fd */
	IPC_CMD_OSTP_FWD	= 74,	/* see ipc_enc_dgram: maybe yours */
	IPC_CMD_OSTP_TAKE	= 76,	/* as OSTP_HANDOFF: take it on */
	/*
	 * Operating the daemon (common/ctlproto.h): the worker answers a
	 * REPORT with one or more REPORT_ANS of the same sequence, the
	 * last one flagged.
	 */
	IPC_CMD_REPORT		= 80,	/* u8 what: IPC_REPORT_* */
	IPC_CMD_REPORT_ANS	= 81,	/* u8 last, then ctl records */
	IPC_CMD_LOGLEVEL	= 82,	/* u8 level; no answer */
};
#define IPC_REPORT_COUNTERS	1
#define IPC_REPORT_CONNS	2	/* counters and open connections */

/*
 * TLS_SIGN operations with a listener's private key, which only the
 * monitor holds.  RSA_RAW: the private operation without padding (the
 * worker pads), input exactly the modulus size and smaller than the
 * modulus.  ECDSA: the signature of a digest, answered in DER.
 */
#define IPC_TLS_RSA_RAW		1
#define IPC_TLS_ECDSA		2
#define IPC_TLS_SIGN_MAX	2048	/* bytes: a 16384-bit RSA modulus */
#define IPC_TLS_DGST_MIN	20	/* SHA-1 */
#define IPC_TLS_DGST_MAX	64	/* SHA-512 */

/* What a worker is told before it enters its sandbox. */
struct ipc_init {
	uint32_t	id;
	uint32_t	gen;
	uint32_t	uid;
	uint32_t	gid;
	uint32_t	monitor_pid;
	uint8_t		seccomp_debug;
	char		*chroot_dir;	/* decoded strings are allocated */
	char		*testhook;	/* "" for none */
	char		*profile;	/* -P address, "" for none */
};

struct ipc_hdr {
	uint16_t	type;
	uint8_t		version;
	uint8_t		flags;
	uint32_t	len;
	uint32_t	seq;
};

struct ipc_msg {
	struct ipc_hdr	hdr;
	struct buf	payload;	/* view into raw[] */
	int		fd;		/* -1 when none */
	unsigned char	raw[IPC_HDR_LEN + IPC_MAX_PAYLOAD];
};

struct ipc_stats {
	uint32_t	active;
	uint64_t	accepted;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
};

const char	*ipc_type_name(int type);

/* Framing.  Decode checks version, flags and the exact length. */
int	ipc_hdr_decode(const unsigned char *, size_t, struct ipc_hdr *);
void	ipc_hdr_encode(const struct ipc_hdr *, unsigned char *);

/*
 * Send one message, optionally with a descriptor (fd >= 0).  The
 * caller keeps its copy of the descriptor.
 */
int	ipc_send(int sock, uint16_t type, uint32_t seq,
	    const struct buf *payload, int fd);
int	ipc_send_nowait(int sock, uint16_t type, uint32_t seq,
	    const struct buf *payload);
int	ipc_send_flags(int sock, uint16_t type, uint32_t seq,
	    const struct buf *payload, int fd, int flags);
/*
 * Receive one message.  Returns 0, ERR_CLOSED on EOF, ERR_SYSTEM (EAGAIN
 * possible on a non-blocking socket) or a framing error.  A message too
 * large for the buffer, truncated ancillary data, more than one fd or a
 * descriptor without IPC_F_FD is a framing error; any descriptor that
 * arrived is closed in that case.
 */
int	ipc_recv(int sock, struct ipc_msg *);
void	ipc_msg_clear(struct ipc_msg *);

/* Payload encoders and decoders shared by both sides. */
int	ipc_enc_hello(struct buf *, uint32_t id, uint32_t gen);
int	ipc_dec_hello(struct buf *, uint32_t *id, uint32_t *gen);
int	ipc_enc_status(struct buf *, int32_t status);
int	ipc_dec_status(struct buf *, int32_t *status);
int	ipc_enc_log(struct buf *, int level, const char *line);
int	ipc_dec_log(struct buf *, int *level, char **line);
int	ipc_enc_u32(struct buf *, uint32_t);
int	ipc_dec_u32(struct buf *, uint32_t *);
int	ipc_enc_name(struct buf *, const char *);
int	ipc_dec_name(struct buf *, char **, size_t maxlen);
/*
 * TPROXY reply sockets and parked BIND ports: a listener index, an
 * address (4 or 16 bytes by family, in 16) and a port.
 */
int	ipc_enc_tproxy(struct buf *, uint32_t lis, int family,
	    const unsigned char addr[16], uint16_t port);
int	ipc_dec_tproxy(struct buf *, uint32_t *lis, int *family,
	    unsigned char addr[16], uint16_t *port);
int	ipc_enc_dgram(struct buf *, uint32_t lis, int family,
	    const unsigned char addr[16], uint16_t port,
	    const unsigned char *d, size_t len);
int	ipc_dec_dgram(struct buf *, uint32_t *lis, int *family,
	    unsigned char addr[16], uint16_t *port, const unsigned char **d,
	    size_t *len);
int	ipc_enc_socket(struct buf *, int family, int type, uint32_t mark,
	    const char *iface);
int	ipc_dec_socket(struct buf *, int *family, int *type, uint32_t *mark,
	    char **iface);
int	ipc_enc_watch(struct buf *, uint32_t period_ms, const char *path);
int	ipc_dec_watch(struct buf *, uint32_t *period_ms, char **path);
/* TLS_SIGN: p points into b's memory (a view) on decode. */
int	ipc_enc_tls_sign(struct buf *, uint32_t lis, int op,
	    const unsigned char *p, size_t len);
int	ipc_dec_tls_sign(struct buf *, uint32_t *lis, int *op,
	    const unsigned char **p, size_t *len);
/* TLS_SIGN_ANS: a status, then the signature when it is 0. */
int	ipc_enc_tls_sig(struct buf *, int32_t status,
	    const unsigned char *p, size_t len);
int	ipc_dec_tls_sig(struct buf *, int32_t *status,
	    const unsigned char **p, size_t *len);
int	ipc_enc_stats(struct buf *, const struct ipc_stats *);
int	ipc_enc_init(struct buf *, const struct ipc_init *);
int	ipc_dec_init(struct buf *, struct ipc_init *);
void	ipc_init_clear(struct ipc_init *);
int	ipc_dec_stats(struct buf *, struct ipc_stats *);

#endif
