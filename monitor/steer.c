/*
 * The OSTP port's steering program (steer.h).  Sessions are named by a
 * session id that is masked with a per-key secret, so nothing in a
 * datagram tells the kernel which worker holds its session; what does
 * is the source address.  The worker that creates a session, or sees
 * it move, asks the monitor to map the address to its socket; the
 * program below looks every datagram's source up in that map.  An
 * address not in it (a handshake, a session that just moved, noise)
 * goes to one of the current generation's sockets by the kernel's
 * 4-tuple hash; a worker that cannot place a datagram hands it to the
 * others through the monitor, and the owner then maps the address.
 *
 * The program is a few dozen instructions assembled here, so no BPF
 * compiler or loader library is needed; only the monitor (root) loads
 * it and updates the maps.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_ether.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "steer.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF	51
#endif
#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF	52
#endif

static long
sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int
map_create(int type, unsigned int ksize, unsigned int vsize,
    unsigned int max)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = ksize;
	a.value_size = vsize;
	a.max_entries = max;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int
map_update(int fd, const void *key, const void *val, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)val;
	a.flags = flags;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) == 0 ? 0 : -1;
}

static int
map_delete(int fd, const void *key)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	return sys_bpf(BPF_MAP_DELETE_ELEM, &a) == 0 ? 0 : -1;
}

/* Instructions, spelled as the kernel's own filter.h would. */
#define I(c, d, s, o, i)	((struct bpf_insn){ .code = (c), \
	.dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_R(d, s)	I(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_K(d, k)	I(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define ADD_K(d, k)	I(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, k)
#define ADD32_K(d, k)	I(BPF_ALU | BPF_ADD | BPF_K, d, 0, 0, k)
#define MOD32_R(d, s)	I(BPF_ALU | BPF_MOD | BPF_X, d, s, 0, 0)
#define LDX(sz, d, s, o) I(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o) I(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST(sz, d, o, k)	I(BPF_ST | BPF_MEM | (sz), d, 0, o, k)
#define JEQ_K(d, k, o)	I(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, k)
#define JNE_K(d, k, o)	I(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, k)
#define JA(o)		I(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL(f)		I(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()		I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP(d, fd)	I(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, \
	0, fd), I(0, 0, 0, 0, 0)

#define R0	0
#define R1	1
#define R2	2
#define R3	3
#define R4	4
#define R5	5
#define R6	6
#define R7	7
#define R8	8
#define FP	10

/*
 * Stack: the address key at fp-24 (struct steer_key: address 16,
 * port 2, family 1, padding 5), a u32 map index at fp-32.  Jump
 * offsets count instructions after the jump; LD_MAP is two.
 */
#define MD(f)	((int16_t)offsetof(struct sk_reuseport_md, f))

static int
prog_load(struct steer *st, char *log, size_t loglen)
{
	const int v4 = htons(ETH_P_IP), v6 = htons(ETH_P_IPV6);
	struct bpf_insn p[] = {
		/* 0 */ MOV_R(R6, R1),
		ST(BPF_DW, FP, -24, 0),
		ST(BPF_DW, FP, -16, 0),
		ST(BPF_DW, FP, -8, 0),
		ST(BPF_W, FP, -32, 0),
		/* 5 */ LDX(BPF_W, R2, R6, MD(eth_protocol)),
		JEQ_K(R2, v4, 10),			/* -> 17 */
		JNE_K(R2, v6, 36),			/* -> 44 HASH */
		/* 8: IPv6 source, 8 bytes into the IP header */
		MOV_R(R1, R6),
		MOV_K(R2, 8),
		MOV_R(R3, FP),
		ADD_K(R3, -24),
		MOV_K(R4, 16),
		MOV_K(R5, BPF_HDR_START_NET),
		CALL(BPF_FUNC_skb_load_bytes_relative),
		/* 15 */ JNE_K(R0, 0, 28),		/* -> 44 */
		JA(8),					/* -> 25 PORT */
		/* 17: IPv4 source, 12 bytes in */
		MOV_R(R1, R6),
		MOV_K(R2, 12),
		MOV_R(R3, FP),
		ADD_K(R3, -24),
		MOV_K(R4, 4),
		MOV_K(R5, BPF_HDR_START_NET),
		CALL(BPF_FUNC_skb_load_bytes_relative),
		/* 24 */ JNE_K(R0, 0, 19),		/* -> 44 */
		/* 25 PORT: the UDP header's source port; data starts there */
		MOV_R(R1, R6),
		MOV_K(R2, 0),
		MOV_R(R3, FP),
		ADD_K(R3, -8),
		MOV_K(R4, 2),
		CALL(BPF_FUNC_skb_load_bytes),
		/* 31 */ JNE_K(R0, 0, 12),		/* -> 44 */
		LDX(BPF_W, R2, R6, MD(eth_protocol)),
		ST(BPF_B, FP, -6, 6),
		JNE_K(R2, v4, 1),
		ST(BPF_B, FP, -6, 4),
		/* 36 */ LD_MAP(R1, st->addrs),
		MOV_R(R2, FP),
		ADD_K(R2, -24),
		CALL(BPF_FUNC_map_lookup_elem),
		/* 41 */ JEQ_K(R0, 0, 2),		/* -> 44 */
		LDX(BPF_W, R1, R0, 0),
		JA(20),					/* -> 64 SELECT */
		/* 44 HASH: cfg[0] sockets now, cfg[1 + hash % n] the one */
		ST(BPF_W, FP, -32, 0),
		LD_MAP(R1, st->cfg),
		MOV_R(R2, FP),
		ADD_K(R2, -32),
		CALL(BPF_FUNC_map_lookup_elem),
		/* 50 */ JEQ_K(R0, 0, 21),		/* -> 72 PASS */
		LDX(BPF_W, R7, R0, 0),
		JEQ_K(R7, 0, 19),			/* -> 72 */
		LDX(BPF_W, R8, R6, MD(hash)),
		MOD32_R(R8, R7),
		ADD32_K(R8, 1),
		STX(BPF_W, FP, R8, -32),
		LD_MAP(R1, st->cfg),
		MOV_R(R2, FP),
		ADD_K(R2, -32),
		CALL(BPF_FUNC_map_lookup_elem),
		/* 62 */ JEQ_K(R0, 0, 9),		/* -> 72 */
		LDX(BPF_W, R1, R0, 0),
		/* 64 SELECT: the slot in r1 */
		STX(BPF_W, FP, R1, -32),
		MOV_R(R1, R6),
		LD_MAP(R2, st->socks),
		MOV_R(R3, FP),
		ADD_K(R3, -32),
		MOV_K(R4, 0),
		CALL(BPF_FUNC_sk_select_reuseport),
		/*
		 * 72 PASS; a failed choice (an empty slot) is left to the
		 * kernel's hash over the whole group
		 */
		MOV_K(R0, SK_PASS),
		EXIT(),
	};
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_REUSEPORT;
	a.insns = (uint64_t)(uintptr_t)p;
	a.insn_cnt = sizeof(p) / sizeof(p[0]);
	a.license = (uint64_t)(uintptr_t)"ISC";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = (uint32_t)loglen;
	a.log_level = log != NULL ? 1 : 0;
	return (int)sys_bpf(BPF_PROG_LOAD, &a);
}

int
steer_new(struct steer *st, char *err, size_t errlen)
{
	char log[16384];

	memset(st, 0, sizeof(*st));
	st->prog = st->addrs = st->cfg = st->socks = -1;
	if ((st->addrs = map_create(BPF_MAP_TYPE_LRU_HASH,
	    sizeof(struct steer_key), sizeof(uint32_t), STEER_ADDRS)) == -1 ||
	    (st->cfg = map_create(BPF_MAP_TYPE_ARRAY, sizeof(uint32_t),
	    sizeof(uint32_t), 1 + STEER_SLOTS)) == -1 ||
	    (st->socks = map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
	    sizeof(uint32_t), sizeof(uint64_t), STEER_SLOTS)) == -1) {
		snprintf(err, errlen, "cannot make a BPF map: %s",
		    strerror(errno));
		steer_free(st);
		return -1;
	}
	log[0] = '\0';
	if ((st->prog = prog_load(st, NULL, 0)) == -1) {
		int e = errno;

		/* once more, for the verifier's word on it */
		(void)prog_load(st, log, sizeof(log));
		snprintf(err, errlen, "cannot load the BPF program: %s%s%.200s",
		    strerror(e), log[0] != '\0' ? ": " : "", log);
		steer_free(st);
		return -1;
	}
	return 0;
}

void
steer_free(struct steer *st)
{
	if (st->prog != -1)
		close(st->prog);
	if (st->addrs != -1)
		close(st->addrs);
	if (st->cfg != -1)
		close(st->cfg);
	if (st->socks != -1)
		close(st->socks);
	st->prog = st->addrs = st->cfg = st->socks = -1;
}

/* The group's program, through any one of its sockets. */
int
steer_attach(struct steer *st, int fd)
{
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF,
	    &st->prog, sizeof(st->prog));
}

/* A bound socket of the group takes a free slot. */
int
steer_slot_add(struct steer *st, int fd, unsigned int *slot)
{
	uint32_t k;
	uint64_t v = (uint64_t)fd;

	for (k = 0; k < STEER_SLOTS && st->used[k]; k++)
		;
	if (k == STEER_SLOTS) {
		errno = ENOSPC;
		return -1;
	}
	if (map_update(st->socks, &k, &v, BPF_ANY) != 0)
		return -1;
	st->used[k] = 1;
	*slot = k;
	return 0;
}

/* The kernel empties a closed socket's slot itself; ours to reuse. */
void
steer_slot_del(struct steer *st, unsigned int slot)
{
	uint32_t k = slot;

	if (slot >= STEER_SLOTS)
		return;
	(void)map_delete(st->socks, &k);
	st->used[slot] = 0;
}

/* New handshakes go to these sockets (the current generation). */
int
steer_current(struct steer *st, const unsigned int *slots, unsigned int n)
{
	uint32_t k, v;

	if (n > STEER_SLOTS) {
		errno = EINVAL;
		return -1;
	}
	/* the slots first, then the count that makes them used */
	for (k = 0; k < n; k++) {
		v = slots[k];
		if (map_update(st->cfg, &(uint32_t){ k + 1 }, &v,
		    BPF_ANY) != 0)
			return -1;
	}
	k = 0;
	v = n;
	return map_update(st->cfg, &k, &v, BPF_ANY);
}

/* The key a datagram from this (unmapped) address is looked up by. */
int
steer_key(const struct sockaddr *sa, struct steer_key *k)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(k->addr, &s4->sin_addr, 4);
		memcpy(k->port, &s4->sin_port, 2);
		k->family = 4;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)sa;

		memcpy(k->addr, &s6->sin6_addr, 16);
		memcpy(k->port, &s6->sin6_port, 2);
		k->family = 6;
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

int
steer_addr_set(struct steer *st, const struct steer_key *k,
    unsigned int slot)
{
	uint32_t v = slot;

	return map_update(st->addrs, k, &v, BPF_ANY);
}

int
steer_addr_del(struct steer *st, const struct steer_key *k)
{
	if (map_delete(st->addrs, k) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Only if it still points at slot: another may have taken it since. */
int
steer_addr_del_if(struct steer *st, const struct steer_key *k,
    unsigned int slot)
{
	union bpf_attr a;
	uint32_t v;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)st->addrs;
	a.key = (uint64_t)(uintptr_t)k;
	a.value = (uint64_t)(uintptr_t)&v;
	if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) != 0)
		return errno == ENOENT ? 0 : -1;
	if (v != slot)
		return 0;
	return steer_addr_del(st, k);
}

/*
 * The port's TCP carriers (UDP-over-TCP, spec 2.13) are one more
 * SO_REUSEPORT group with a socket per worker.  A session that moves
 * to a new connection (spec 2.10) must find the worker that holds it,
 * and nothing at the SYN names the session; the client's address
 * does.  So a classic program picks the socket from a hash of the
 * source address alone (not the port): every connection of one client
 * address reaches the same worker.  Sockets are in the group in the
 * order they were opened, which is the workers' (mon_sock.c).
 */
int
steer_tcp_attach(int fd, unsigned int n)
{
	struct sock_filter p[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    SKF_AD_OFF + SKF_AD_PROTOCOL),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 2, 0),
		/* 2: IPv4, the source 12 bytes into the IP header */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12),
		BPF_JUMP(BPF_JMP | BPF_JA, 9, 0, 0),	/* -> 13 MIX */
		/* 4: IPv6, the source's four words folded */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 8),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 20),
		/* 13 MIX: Fibonacci hashing, the high bits folded down */
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { sizeof(p) / sizeof(p[0]), p };

	if (n == 0)
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
	    sizeof(prog));
}
