#!/usr/bin/env python3
"""An OSTP wire v5 client for the scenario tests, written from the
specification alone (spec/ostp.md §2.1-§2.8, §3) with python3-cryptography
and hashlib: an implementation independent of ostpd's codec, able to send
what a real client never would (replays, stale and foreign handshakes,
forged and truncated datagrams).  Loopback and test namespaces only.
Each mode prints one result word on standard output; details go to
standard error.

  ostptool.py fetch PORT KEY HOST TPORT PATH    HTTP/1.0 GET through the
                                                tunnel: sha256 of the body
  ostptool.py refused PORT KEY HOST TPORT       Connect answered by Error:
                                                "refused"
  ostptool.py replay PORT KEY                   msg1 again from another
                                                socket: "ignored"
  ostptool.py inject PORT KEY HOST TPORT PATH   fetch while forged datagrams
                                                hit the server: the sha256
  ostptool.py roam PORT KEY HOST TPORT PATH      fetch, changing the source
                                                port mid-way: the sha256
  ostptool.py stall PORT KEY HOST TPORT PATH     fetch with loss at our end,
                                                then a lost ACK: the sha256
  ostptool.py junk PORT KEY                     junk, truncated and invalid
                                                datagrams: "silent"
  ostptool.py stale PORT KEY                    msg1 400 s old (and ahead):
                                                "ignored"
  ostptool.py wrongkey PORT KEY                 a handshake with another
                                                key: "ignored"
  ostptool.py arq PORT KEY                      ACK/NACK behind a gap in our
                                                nonces (§2.8): "ok"
  ostptool.py vectors                           fixed-input vectors (hex)

The server address is 127.0.0.1 unless OSTP_SERVER names another.
"""
import hashlib
import hmac
import mmap
import os
import random
import select
import socket
import struct
import sys
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

WIRE_VERSION = 5
HS_HDR = 6
DATA_HDR = 12

# inner frame kinds (§2.7)
F_HANDSHAKE, F_DATA, F_CLOSE, F_KEEPALIVE, F_NACK, F_ACK = 1, 2, 3, 4, 5, 6
# relay message tags (§3)
(M_CONNECT, M_DATA, M_KEEPALIVE, M_CLOSE, M_CONNECT_OK, M_ERROR, M_PING,
 M_PONG, M_UDP_ASSOCIATE, M_UDP_DATA) = range(1, 11)

DATA_CHUNK = 1100       # relay Data bytes per datagram (mtu 1140 - 40)


def log(*a):
    print("ostptool:", *a, file=sys.stderr, flush=True)


def be16(v):
    return struct.pack(">H", v)


def be32(v):
    return struct.pack(">I", v)


def be64(v):
    return struct.pack(">Q", v)


def hmac256(k, m):
    return hmac.new(k, m, hashlib.sha256).digest()


# --- §2.2 secrets derived from the access key (v5) -------------------------

class Keys:
    def __init__(self, key):
        self.key = key if isinstance(key, bytes) else key.encode()
        h = hashlib.sha256(self.key).digest()
        salt, self.info_b = h[:16], h[16:]
        self.prk = hmac256(salt, self.key + bytes([WIRE_VERSION]))
        self.obf_key = self.expand(b"\x01", 8)
        self.psk = self.expand(b"\x02", 32)
        pad2 = self.expand(b"\x03", 2)
        self.pad_min = 16 + pad2[0] % 64
        self.pad_max = self.pad_min + 48 + pad2[1] % 128

    def expand(self, label, n):
        # HKDF-Expand, outputs <= 32 bytes: T(1) only
        return hmac256(self.prk, self.info_b + label + b"\x01")[:n]

    def junk_marker(self, window):
        return self.expand(b"\x04" + struct.pack("<Q", window), 4)


# --- §2.4 header masking (v5) ----------------------------------------------

def mask_of(obf_key, d, hdr):
    sample = d[hdr:hdr + 32].ljust(32, b"\0")
    return hmac256(obf_key, sample)[:hdr]


def mask(obf_key, d, hdr):
    """XOR the header mask onto d[:hdr]; its own inverse."""
    if len(d) <= hdr:
        return bytes(d)
    m = mask_of(obf_key, d, hdr)
    return bytes(a ^ b for a, b in zip(d[:hdr], m)) + bytes(d[hdr:])


# --- §2.5 Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s ----------------------------

PROTO = b"Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s"


def blake2s(d):
    return hashlib.blake2s(d).digest()


def hmac_b2s(k, m):
    return hmac.new(k, m, hashlib.blake2s).digest()


def noise_hkdf(ck, ikm, n):
    t = hmac_b2s(ck, ikm)
    o1 = hmac_b2s(t, b"\x01")
    o2 = hmac_b2s(t, o1 + b"\x02")
    if n == 2:
        return o1, o2
    return o1, o2, hmac_b2s(t, o2 + b"\x03")


def pub_of(priv):
    return priv.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Noise:
    def __init__(self, psk, prologue=b""):
        self.h = blake2s(PROTO) if len(PROTO) > 32 else \
            PROTO.ljust(32, b"\0")
        self.ck = self.h
        self.k = None
        self.n = 0
        self.mix_hash(prologue)
        self.psk = psk

    def mix_hash(self, d):
        self.h = blake2s(self.h + d)

    def mix_key(self, ikm):
        self.ck, self.k = noise_hkdf(self.ck, ikm, 2)
        self.n = 0

    def mix_key_and_hash(self, ikm):
        self.ck, th, self.k = noise_hkdf(self.ck, ikm, 3)
        self.mix_hash(th)
        self.n = 0

    def _nonce(self):
        # Noise's own layout: 4 zero bytes, little-endian counter
        v = b"\0" * 4 + struct.pack("<Q", self.n)
        self.n += 1
        return v

    def encrypt_and_hash(self, p):
        c = ChaCha20Poly1305(self.k).encrypt(self._nonce(), p, self.h)
        self.mix_hash(c)
        return c

    def decrypt_and_hash(self, c):
        p = ChaCha20Poly1305(self.k).decrypt(self._nonce(), c, self.h)
        self.mix_hash(c)
        return p

    def split(self):
        return noise_hkdf(self.ck, b"", 2)

    # initiator
    def write1(self, e_priv, payload):
        self.mix_key_and_hash(self.psk)
        self.e = X25519PrivateKey.from_private_bytes(e_priv)
        epub = pub_of(self.e)
        self.mix_hash(epub)
        self.mix_key(epub)              # psk mode: e also mixes the key
        return epub + self.encrypt_and_hash(payload)

    def read2(self, msg):
        if len(msg) < 48:
            raise ValueError("msg2 short")
        re = msg[:32]
        self.mix_hash(re)
        self.mix_key(re)
        self.mix_key(self.e.exchange(X25519PublicKey.from_public_bytes(re)))
        p = self.decrypt_and_hash(msg[32:])
        return p

    # responder (vectors only)
    def read1(self, msg):
        self.mix_key_and_hash(self.psk)
        self.re = msg[:32]
        self.mix_hash(self.re)
        self.mix_key(self.re)
        return self.decrypt_and_hash(msg[32:])

    def write2(self, e_priv, payload):
        e = X25519PrivateKey.from_private_bytes(e_priv)
        epub = pub_of(e)
        self.mix_hash(epub)
        self.mix_key(epub)
        self.mix_key(e.exchange(X25519PublicKey.from_public_bytes(self.re)))
        return epub + self.encrypt_and_hash(payload)


# --- §2.3 datagrams ---------------------------------------------------------

def hs_datagram(keys, sid, noise_msg, pad):
    """A masked handshake datagram; pad: the padding bytes."""
    d = be32(sid) + be16(len(noise_msg)) + noise_msg + pad
    return mask(keys.obf_key, d, HS_HDR)


def hs_payload(ts, sid, key):
    return be64(ts) + be32(sid) + key


def make_msg1(keys, sid, ts, e_priv=None, pad=None, payload=None):
    """(datagram, Noise state) of a client msg1."""
    if e_priv is None:
        e_priv = os.urandom(32)
    if pad is None:
        pad = os.urandom(random.randint(keys.pad_min, keys.pad_max))
    if payload is None:
        payload = hs_payload(ts, sid, keys.key)
    nz = Noise(keys.psk)
    msg = nz.write1(e_priv, payload)
    return hs_datagram(keys, sid, msg, pad), nz


def aead_nonce(n):
    return b"\0" * 4 + be64(n)


def seal(keys, k, sid, n, frame):
    ct = ChaCha20Poly1305(k).encrypt(aead_nonce(n), frame, be32(sid))
    return mask(keys.obf_key, be32(sid) + be64(n) + ct, DATA_HDR)


def peek(keys, d):
    """Unmasked (sid, nonce) of a data datagram, or None."""
    if len(d) < 40:
        return None
    h = mask(keys.obf_key, d, DATA_HDR)
    return struct.unpack(">I", h[:4])[0], struct.unpack(">Q", h[4:12])[0]


def open_dgram(k, sid, n, d):
    try:
        return ChaCha20Poly1305(k).decrypt(aead_nonce(n), bytes(d[12:]),
                                           be32(sid))
    except InvalidTag:
        return None


# --- §2.7 inner frames ------------------------------------------------------

def frame(kind, stream, payload, pad=b"", rsv=None):
    if rsv is None:
        rsv = os.urandom(2)
    return (bytes([1, kind]) + rsv + be16(stream) + be32(len(payload)) +
            be16(len(pad)) + payload + pad)


def frame_parse(p):
    if len(p) < 12:
        return None
    kind = p[1]
    stream, plen, padlen = struct.unpack(">HIH", p[4:12])
    if kind < 1 or kind > 6 or 12 + plen + padlen > len(p):
        return None
    return kind, stream, p[12:12 + plen]


def ack_payload(ranges):
    return bytes([len(ranges)]) + b"".join(be64(a) + be64(b)
                                           for a, b in ranges)


def ack_parse(p):
    if not p:
        return []
    n = p[0]
    if len(p) < 1 + 16 * n:
        return None
    return [struct.unpack(">QQ", p[1 + 16 * i:17 + 16 * i]) for i in range(n)]


# --- §3 relay messages ------------------------------------------------------

def m_connect(addr):
    a = addr.encode()
    return bytes([M_CONNECT]) + be16(len(a)) + a


def m_data(b):
    return bytes([M_DATA]) + be16(len(b)) + b


def m_simple(tag):
    return bytes([tag])


def m_ping(ts):
    return bytes([M_PING]) + be16(8) + be64(ts)


def m_error(text):
    t = text.encode()
    return bytes([M_ERROR]) + be16(len(t)) + t


def msg_parse(p):
    """(tag, value) of one relay message, or None."""
    if not p:
        return None
    tag = p[0]
    if tag in (M_KEEPALIVE, M_CLOSE, M_CONNECT_OK, M_UDP_ASSOCIATE):
        return tag, None
    if tag in (M_CONNECT, M_DATA, M_ERROR, M_PING, M_PONG):
        if len(p) < 3:
            return None
        n = struct.unpack(">H", p[1:3])[0]
        if len(p) < 3 + n:
            return None
        v = p[3:3 + n]
        if tag in (M_PING, M_PONG):
            if n != 8:
                return None
            v = struct.unpack(">Q", v)[0]
        elif tag in (M_CONNECT, M_ERROR):
            v = v.decode("utf-8", "replace")
        return tag, v
    if tag == M_UDP_DATA:
        if len(p) < 3:
            return None
        an = struct.unpack(">H", p[1:3])[0]
        if len(p) < 5 + an:
            return None
        dn = struct.unpack(">H", p[3 + an:5 + an])[0]
        if len(p) < 5 + an + dn:
            return None
        return tag, (p[3:3 + an].decode("utf-8", "replace"),
                     p[5 + an:5 + an + dn])
    return None


# --- a minimal reliable client (§2.5, §2.8) --------------------------------

def server_addr(port):
    return (os.environ.get("OSTP_SERVER", "127.0.0.1"), int(port))


def udp_socket(addr):
    fam = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.connect(addr)
    s.setblocking(False)
    return s


def quiet(socks, secs):
    """True when none of socks receives anything within secs."""
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return True
        r, _, _ = select.select(socks, [], [], left)
        for s in r:
            try:
                d = s.recv(65535)
            except OSError:
                continue
            log("answer of %d bytes on port %d" %
                (len(d), s.getsockname()[1]))
            return False


class Session:
    RTO = 0.2           # first retransmission of our own data frames
    RTO_MAX = 2.0

    def __init__(self, keys, addr, sock=None):
        self.keys = keys
        self.addr = addr
        self.sock = sock or udp_socket(addr)
        self.sid = None
        self.tx = 0                     # next nonce we send
        self.hist = {}          # nonce -> [dgram, tracked, sent, tries]
        self.E = 0                      # next nonce we expect
        self.rxbuf = {}                 # nonce -> frame or None (ack/nack)
        self.gap_since = None
        self.ack_pending = False
        self.last_ack = 0.0
        self.last_nack = 0.0
        self.last_dup_ack = 0.0
        self.events = []                # (stream, tag, value) delivered
        self.peer_closed = False
        self.bad = 0                    # datagrams that did not open
        self.sent_log = []              # our authentic datagrams, in order
        self.on_send = None
        self.drop = 0.0                 # induced loss of received datagrams
        self.reorder = 0.0              # and reordering (held 5-30 ms)
        self.held = []

    # handshake: up to `attempts` fresh sessions, `wait` s each
    def handshake(self, attempts=4, wait=1.2, ts=None):
        for i in range(attempts):
            sid = random.getrandbits(32)
            now = int(time.time()) if ts is None else ts
            d1, nz = make_msg1(self.keys, sid, now)
            self.msg1 = d1
            self.sock.send(d1)
            end = time.monotonic() + wait
            while time.monotonic() < end:
                r, _, _ = select.select([self.sock], [], [],
                                        max(0, end - time.monotonic()))
                if not r:
                    break
                try:
                    d = self.sock.recv(65535)
                except OSError as e:
                    log("handshake:", e)
                    break
                if len(d) < HS_HDR + 48:
                    continue
                h = mask(self.keys.obf_key, d, HS_HDR)
                rsid, nlen = struct.unpack(">IH", h[:6])
                if rsid != sid or HS_HDR + nlen > len(h):
                    log("msg2: bad header")
                    continue
                try:
                    nz.read2(h[6:6 + nlen])
                except (InvalidTag, ValueError) as e:
                    log("msg2 does not open:", repr(e))
                    continue
                self.k_c2s, self.k_s2c = nz.split()
                self.sid = sid
                return True
            log("no msg2 for attempt %d" % (i + 1))
        return False

    # sending
    def send_frame(self, kind, stream, payload, tracked=True, pad=None,
                   lose=False):
        if pad is None:
            pad = os.urandom(random.randint(0, 32))
        n = self.tx
        self.tx += 1
        d = seal(self.keys, self.k_c2s, self.sid, n,
                 frame(kind, stream, payload, pad))
        self.hist[n] = [d, tracked, time.monotonic(), 0]
        self.sent_log.append(d)
        if not lose:
            self.sock.send(d)
        if self.on_send:
            self.on_send(self.tx)
        return n

    def send_msg(self, stream, msg):
        return self.send_frame(F_DATA, stream, msg)

    def send_ack(self):
        ranges = []
        if self.E > 0:
            ranges.append((0, self.E - 1))
        runs = []
        for n in sorted(self.rxbuf):
            if runs and runs[-1][1] + 1 == n:
                runs[-1][1] = n
            else:
                runs.append([n, n])
        ranges += [tuple(r) for r in runs[-(8 - len(ranges)):]] \
            if runs else []
        self.send_frame(F_ACK, 0, ack_payload(ranges[:8]), tracked=False,
                        pad=b"")
        self.ack_pending = False
        self.last_ack = time.monotonic()

    # receiving
    def input(self, d):
        hp = peek(self.keys, d)
        if hp is None or hp[0] != self.sid:
            self.bad += 1
            return
        n = hp[1]
        p = open_dgram(self.k_s2c, self.sid, n, d)
        if p is None:
            self.bad += 1
            return
        now = time.monotonic()
        if n < self.E:
            if now - self.last_dup_ack >= 0.01:
                self.last_dup_ack = now
                self.ack_pending = True
                self.last_ack = 0
            return
        f = frame_parse(p)
        if f is None:
            log("frame %d does not decode" % n)
            return
        kind, stream, payload = f
        if kind == F_ACK:
            for a, b in ack_parse(payload) or []:
                for k in [k for k in self.hist if a <= k <= b]:
                    del self.hist[k]
        elif kind == F_NACK and len(payload) >= 8:
            m = struct.unpack(">Q", payload[:8])[0]
            if m in self.hist:
                self.sock.send(self.hist[m][0])
        if kind in (F_DATA, F_CLOSE, F_KEEPALIVE):
            self.ack_pending = True
        self.rxbuf[n] = (kind, stream, payload)
        while self.E in self.rxbuf:
            self.deliver(*self.rxbuf.pop(self.E))
            self.E += 1
        self.gap_since = (self.gap_since or now) if self.rxbuf else None

    def deliver(self, kind, stream, payload):
        if kind == F_CLOSE:
            self.peer_closed = True
        elif kind == F_DATA:
            m = msg_parse(payload)
            if m is None:
                log("relay message does not decode on stream %d" % stream)
            else:
                self.events.append((stream, m[0], m[1]))

    def timers(self):
        now = time.monotonic()
        if self.ack_pending and now - self.last_ack >= 0.005:
            self.send_ack()
        if (self.gap_since is not None and now - self.gap_since > 0.02 and
                now - self.last_nack > 0.05):
            self.send_frame(F_NACK, 0, be64(self.E), tracked=False, pad=b"")
            self.last_nack = now
        for n, h in self.hist.items():
            d, tracked, sent, tries = h
            if tracked and now - sent > min(self.RTO * 2 ** min(tries, 6),
                                            self.RTO_MAX):
                self.sock.send(d)
                h[2] = now
                h[3] = tries + 1

    def poll(self, secs):
        """Process input and timers for up to secs; returns early when
        something was delivered."""
        end = time.monotonic() + secs
        had = len(self.events)
        while True:
            left = end - time.monotonic()
            if left <= 0 or len(self.events) > had:
                return
            r, _, _ = select.select([self.sock], [], [], min(left, 0.005))
            if r:
                for _ in range(256):
                    try:
                        d = self.sock.recv(65535)
                    except BlockingIOError:
                        break
                    except OSError as e:
                        log("recv:", e)
                        break
                    if self.drop and random.random() < self.drop:
                        continue
                    if self.reorder and random.random() < self.reorder:
                        self.held.append((time.monotonic() +
                                          random.uniform(0.005, 0.03), d))
                        continue
                    self.input(d)
            if self.held:
                now = time.monotonic()
                for t, d in [h for h in self.held if h[0] <= now]:
                    self.input(d)
                self.held = [h for h in self.held if h[0] > now]
            self.timers()

    def wait_msg(self, stream, tags, secs):
        """The first delivered (tag, value) on stream among tags."""
        end = time.monotonic() + secs
        while time.monotonic() < end:
            for i, (st, tag, v) in enumerate(self.events):
                if st == stream and tag in tags:
                    del self.events[i]
                    return tag, v
            self.events = [e for e in self.events if e[0] != stream or
                           e[1] in tags]
            self.poll(min(0.1, max(0, end - time.monotonic())))
        return None

    def ping(self, secs=3):
        ts = int(time.time() * 1000)
        self.send_msg(0, m_ping(ts))
        m = self.wait_msg(0, (M_PONG,), secs)
        return m is not None and m[1] == ts

    def close(self):
        """Session Close (§2.8): tracked, until acknowledged or answered."""
        n = self.send_frame(F_CLOSE, 0, b"")
        end = time.monotonic() + 1
        while time.monotonic() < end and n in self.hist and \
                not self.peer_closed:
            self.poll(0.05)
            self.events = []


def connect(s, host, tport, stream=1, secs=10):
    s.send_msg(stream, m_connect("%s:%s" % (host, tport)))
    return s.wait_msg(stream, (M_CONNECT_OK, M_ERROR, M_CLOSE), secs)


def http_get(s, host, tport, path, stream=1, secs=60, roam_at=None):
    """The body of an HTTP/1.0 GET on a connected stream, or None.
    roam_at: after that many bytes, go on from a new socket (a new
    source port, as behind a NAT whose mapping changed)."""
    req = ("GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n" %
           (path, host, tport)).encode()
    s.send_msg(stream, m_data(req))
    body = bytearray()
    end = time.monotonic() + secs
    while time.monotonic() < end:
        m = s.wait_msg(stream, (M_DATA, M_CLOSE, M_ERROR),
                       end - time.monotonic())
        if m is None:
            break
        if m[0] == M_DATA:
            body += m[1]
            if roam_at is not None and len(body) >= roam_at:
                roam_at = None
                old = s.sock
                s.sock = udp_socket(s.addr)
                old.close()
                log("moved to port %d at %d bytes" %
                    (s.sock.getsockname()[1], len(body)))
                # a Ping first from the new path (§2.10), so that the
                # server hears an authentic datagram from there
                s.send_msg(0, m_ping(int(time.time() * 1000)))
        elif m[0] == M_ERROR:
            log("error on the stream:", m[1])
            return None
        else:
            i = body.find(b"\r\n\r\n")
            if i < 0:
                log("no HTTP header block")
                return None
            log("status:", body[:body.find(b"\r\n")].decode("latin-1"))
            return bytes(body[i + 4:])
    log("timeout after %d bytes" % len(body))
    return None


def established(keys, port):
    s = Session(keys, server_addr(port))
    if not s.handshake():
        print("nohandshake")
        sys.exit(1)
    if not s.ping():
        print("nopong")
        sys.exit(1)
    return s


# --- modes -------------------------------------------------------------------

def do_fetch(port, key, host, tport, path, flood=False):
    keys = Keys(key)
    s = established(keys, port)
    m = connect(s, host, tport)
    if m is None or m[0] != M_CONNECT_OK:
        log("connect:", m)
        print("noconnect")
        return 1
    child = None
    if flood:
        child, shared = start_flood(s, port)
        # a third of the flood before the request, the rest during it
        end = time.monotonic() + 10
        while struct.unpack(">Q", shared[8:16])[0] < FLOOD_N // 3 and \
                time.monotonic() < end:
            s.poll(0.01)
    try:
        body = fetch_body(s, host, tport, path, flood)
    finally:
        if child:
            os.kill(child, 15)
            os.waitpid(child, 0)
            log("%d forged datagrams from another socket, %d from the "
                "session's" % (struct.unpack(">Q", shared[8:16])[0],
                               s.forged))
    if body is None:
        print("nobody")
        return 1
    if s.bad:
        log("%d datagrams did not open" % s.bad)
    s.close()
    print(hashlib.sha256(body).hexdigest())
    return 0


def fetch_body(s, host, tport, path, flood):
    if not flood:
        return http_get(s, host, tport, path)
    # forged datagrams from the session's own address too: the next
    # nonces, garbage ciphertext, header masked right
    orig_timers = s.timers
    last = [0.0]
    s.forged = 0

    def timers():
        now = time.monotonic()
        if now - last[0] > 0.002:
            last[0] = now
            n = s.tx + random.randint(0, 3)
            s.forged += 1
            s.sock.send(mask(s.keys.obf_key, be32(s.sid) + be64(n) +
                             os.urandom(random.randint(28, 600)), DATA_HDR))
        orig_timers()
    s.timers = timers
    return http_get(s, host, tport, path)


FLOOD_N = int(os.environ.get("OSTP_FLOOD", "3000"))


def start_flood(s, port):
    """A child process that sends FLOOD_N forged datagrams from another
    socket: the live session id masked right with random, near and old
    nonces and garbage ciphertext; replays of our own authentic
    datagrams (they must not move the session there); garbage."""
    shared = mmap.mmap(-1, 16)
    shared[:8] = be64(s.tx)
    s.on_send = lambda tx: shared.__setitem__(slice(0, 8), be64(tx))
    replays = list(s.sent_log)
    pid = os.fork()
    if pid:
        return pid, shared
    try:
        sock = udp_socket(server_addr(port))
        for i in range(FLOOD_N):
            tx = struct.unpack(">Q", shared[:8])[0]
            kind = i % 5
            if kind == 0:
                n = random.getrandbits(64)
            elif kind == 1:
                n = tx + random.randint(0, 64)
            elif kind == 2:
                n = random.randint(0, tx)
            if kind <= 2:
                d = mask(s.keys.obf_key, be32(s.sid) + be64(n) +
                         os.urandom(random.randint(28, 1300)), DATA_HDR)
            elif kind == 3:
                d = random.choice(replays)
            else:
                d = be32(s.sid) + os.urandom(random.randint(8, 1300))
            try:
                sock.send(d)
            except OSError:
                pass
            # drain whatever comes back (it must not be data)
            try:
                while sock.recv(65535):
                    pass
            except OSError:
                pass
            shared[8:16] = be64(i + 1)
            if i % 16 == 0:
                time.sleep(0.002)
    finally:
        os._exit(0)


def do_roam(port, key, host, tport, path):
    """A fetch that changes its source port a third of the way; the
    server must follow once an authentic datagram arrives from there."""
    keys = Keys(key)
    s = established(keys, port)
    m = connect(s, host, tport)
    if m is None or m[0] != M_CONNECT_OK:
        print("noconnect")
        return 1
    body = http_get(s, host, tport, path, roam_at=300000)
    if body is None:
        print("nobody")
        return 1
    s.close()
    print(hashlib.sha256(body).hexdigest())
    return 0


def do_stall(port, key, host, tport, path):
    """A fetch with 5% of the server's datagrams lost and 10% reordered
    at our end, then one of our ACK datagrams lost on purpose (an ACK
    is resent only when the server NACKs it, §2.8) and a Connect right
    behind it: the server must NACK the gap within its reorder window,
    not seconds later.  Prints the body's sha256, or "stalled"."""
    keys = Keys(key)
    s = established(keys, port)
    m = connect(s, host, tport)
    if m is None or m[0] != M_CONNECT_OK:
        print("noconnect")
        return 1
    s.drop, s.reorder = 0.05, 0.10
    body = http_get(s, host, tport, path)
    s.drop = s.reorder = 0.0
    if body is None:
        print("nobody")
        return 1
    s.poll(0.05)
    s.send_frame(F_ACK, 0, ack_payload([(0, max(s.E - 1, 0))]),
                 tracked=False, pad=b"", lose=True)
    t0 = time.monotonic()
    m = connect(s, host, tport, stream=3, secs=15)
    dt = time.monotonic() - t0
    log("ConnectOk %.3f s after a lost ACK datagram" % dt)
    s.close()
    if m is None or m[0] != M_CONNECT_OK or dt > 1.0:
        print("stalled")
        return 1
    print(hashlib.sha256(body).hexdigest())
    return 0


def do_refused(port, key, host, tport):
    s = established(Keys(key), port)
    m = connect(s, host, tport)
    if m is None:
        print("noanswer")
        return 1
    if m[0] == M_ERROR:
        log("error:", m[1])
        print("refused")
        s.close()
        return 0
    log("answer:", m)
    print("connected" if m[0] == M_CONNECT_OK else "closed")
    return 1


def do_replay(port, key):
    keys = Keys(key)
    s = established(keys, port)
    other = udp_socket(server_addr(port))
    other.send(s.msg1)
    # the replay's socket must hear nothing; the first session's may
    # carry its own traffic (a late ACK), but nothing else (a msg2)
    ok = True
    end = time.monotonic() + 2
    while time.monotonic() < end:
        r, _, _ = select.select([other, s.sock], [], [], 0.01)
        if other in r:
            log("answer of %d bytes to the replay" % len(other.recv(65535)))
            ok = False
        if s.sock in r:
            bad = s.bad
            s.input(s.sock.recv(65535))
            if s.bad != bad:
                log("a datagram that is not the session's at its socket")
                ok = False
        s.timers()
    alive = s.ping()
    s.close()
    if not alive:
        print("broken")
        log("the first session does not answer any more")
        return 1
    print("ignored" if ok else "answered")
    return 0 if ok else 1


def alive_after(keys, port):
    s = Session(keys, server_addr(port))
    ok = s.handshake() and s.ping()
    if ok:
        s.close()
    return ok


def do_stale(port, key):
    keys = Keys(key)
    socks = []
    now = int(time.time())
    for ts in (now - 400, now + 400):
        sk = udp_socket(server_addr(port))
        d, _ = make_msg1(keys, random.getrandbits(32), ts)
        sk.send(d)
        socks.append(sk)
    ok = quiet(socks, 2)
    if not alive_after(keys, port):
        print("dead")
        return 1
    print("ignored" if ok else "answered")
    return 0 if ok else 1


def do_wrongkey(port, key):
    keys = Keys(key)
    other = Keys("f" * len(keys.key) if keys.key != b"f" * len(keys.key)
                 else "e" * len(keys.key))
    s = Session(other, server_addr(port))
    got = s.handshake(attempts=2, wait=1.0)
    if not alive_after(keys, port):
        print("dead")
        return 1
    print("answered" if got else "ignored")
    return 1 if got else 0


def do_junk(port, key):
    """Every class of §2.11 that an outsider can send: nothing may come
    back, and a live session stays alive."""
    keys = Keys(key)
    addr = server_addr(port)
    socks = []
    probes = []
    w = int(time.time()) // 60

    def trial(name, d):
        probes.append((name, d))

    for n in (0, 1, 2, 3):
        trial("%d bytes" % n, os.urandom(n))
    for n in (100, 500, 1000):
        trial("junk marker, %d bytes" % n, keys.junk_marker(w) +
              os.urandom(n - 4))
    trial("junk marker of the previous window",
          keys.junk_marker(w - 1) + os.urandom(300))
    trial("junk marker of the next window",
          keys.junk_marker(w + 1) + os.urandom(300))
    now = int(time.time())
    for cut in (4, 5, 6, 7, 12, 38, 60, 97):
        sid = random.getrandbits(32)
        d, _ = make_msg1(keys, sid, now)
        trial("msg1 cut to %d bytes" % cut, d[:cut])
        # the same cut, masked over what is left
        plain = mask(keys.obf_key, d, HS_HDR)[:cut]
        trial("msg1 cut to %d bytes, remasked" % cut,
              mask(keys.obf_key, plain, HS_HDR))
    # valid Noise, invalid payload (§2.5 step 2c)
    sid = random.getrandbits(32)
    bad = {
        "payload of 8 bytes": be64(now),
        "payload of 11 bytes": be64(now) + be32(sid)[:3],
        "session id mismatch": hs_payload(now, sid ^ 1, keys.key),
        "key string mismatch": hs_payload(now, sid, keys.key[:-1] +
                                          bytes([keys.key[-1] ^ 1])),
        "key string longer": hs_payload(now, sid, keys.key + b"x"),
        "key string shorter": hs_payload(now, sid, keys.key[:-1]),
        "key string empty": hs_payload(now, sid, b""),
        "key string not UTF-8": hs_payload(now, sid, keys.key[:-1] + b"\xff"),
    }
    for name, pl in bad.items():
        d, _ = make_msg1(keys, sid, now, payload=pl)
        trial(name, d)
    d, _ = make_msg1(keys, sid, now, pad=b"")
    trial("msg1 noise_len past the end", d[:-1])
    for n in (4, 40, 98, 114, 200, 1400):
        trial("%d random bytes" % n, os.urandom(n))
    for n in (40, 100):
        trial("data datagram, unknown session",
              mask(keys.obf_key, be32(random.getrandbits(32)) + be64(0) +
                   os.urandom(n - 12), DATA_HDR))

    for name, d in probes:
        sk = udp_socket(addr)
        socks.append(sk)
        sk.send(d)
        # under the trial path's per-source rate (5/s, burst 20)
        time.sleep(0.15)
    answered = not quiet(socks, 1)

    # A live session: forged and broken datagrams at it (§2.11: the
    # session is not reset, nothing is answered), then a Ping.
    s = Session(keys, addr)
    if not s.handshake():
        print("nohandshake")
        return 1
    genuine = seal(keys, s.k_c2s, s.sid, s.tx,
                   frame(F_DATA, 0, m_ping(1), b""))
    plain = mask(keys.obf_key, genuine, DATA_HDR)
    live = [genuine[:n] for n in (4, 11, 12, 13, 39)]
    live.append(genuine[:-1] + bytes([genuine[-1] ^ 1]))          # tag
    live.append(genuine[:20] + bytes([genuine[20] ^ 1]) + genuine[21:])
    live.append(mask(keys.obf_key, be32(s.sid ^ 1) + plain[4:], DATA_HDR))
    live.append(mask(keys.obf_key, plain[:4] + be64(s.tx + 1) + plain[12:],
                     DATA_HDR))
    live.append(seal(keys, s.k_s2c, s.sid, s.tx,        # wrong direction
                     frame(F_DATA, 0, m_ping(1), b"")))
    live.append(seal(keys, s.k_c2s, s.sid ^ 1, s.tx,    # other sid in AAD
                     frame(F_DATA, 0, m_ping(1), b"")))
    live.append(s.msg1)                                 # its own msg1 again
    for d in live:
        s.sock.send(d)
    if not quiet([s.sock], 1):
        answered = True
        log("a broken datagram on the live session was answered")
    if not s.ping():
        print("broken")
        log("the live session does not answer a Ping after the junk")
        return 1
    s.close()
    print("answered" if answered else "silent")
    return 1 if answered else 0


def do_arq(port, key):
    """Sequencing rules of §2.8 at the server, checked with a gap we
    make on purpose: ACK and NACK frames take effect when they arrive,
    not when the gap before them is filled; the server NACKs the gap;
    it resends its own control frames (an ACK) when NACKed."""
    keys = Keys(key)
    s = established(keys, port)         # our Ping was ACKed, Pong ACKed
    bad = []
    raw = {}                            # server nonce -> datagram

    def listen(secs):
        """Server datagrams for secs: (nonce, kind, payload, bytes)."""
        got = []
        end = time.monotonic() + secs
        while time.monotonic() < end:
            r, _, _ = select.select([s.sock], [], [],
                                    max(0, end - time.monotonic()))
            if not r:
                break
            d = s.sock.recv(65535)
            hp = peek(keys, d)
            if hp is None or hp[0] != s.sid:
                continue
            p = open_dgram(s.k_s2c, s.sid, hp[1], d)
            if p is None:
                continue
            f = frame_parse(p)
            if f is not None:
                got.append((hp[1], f[0], f[2], d))
                raw.setdefault(hp[1], d)
        return got

    def send_at(n, kind, payload, stream=0):
        d = seal(keys, s.k_c2s, s.sid, n, frame(kind, stream, payload, b""))
        s.sock.send(d)
        return d

    # 1. a Ping the server answers; its ACK of the Ping and its Pong
    gap = s.tx                          # the nonce we leave out
    ts = int(time.time() * 1000)
    send_at(gap + 1, F_DATA, m_ping(ts))
    got = listen(0.6)
    pong = [g for g in got if g[1] == F_DATA and
            msg_parse(g[2]) == (M_PONG, ts)]
    nacks = [g for g in got if g[1] == F_NACK]
    if pong:
        bad.append("pong-before-gap-filled")
    if not any(struct.unpack(">Q", g[2][:8])[0] == gap for g in nacks):
        bad.append("no-nack-for-gap")
        log("server datagrams while our nonce %d is missing: %s" %
            (gap, [(g[0], g[1]) for g in got]))
    # 2. a NACK (behind the gap) for the server's first datagram of
    # step 1, which we did not acknowledge: resent at once, byte-identical
    if got:
        n1 = got[0][0]
        send_at(gap + 2, F_NACK, be64(n1))
        if not [g for g in listen(0.3) if g[3] == raw[n1]]:
            bad.append("nack-behind-gap-ignored")
            log("our NACK for server nonce %d (kind %d) behind our gap "
                "was not answered" % (n1, got[0][1]))
    else:
        bad.append("silent-during-gap")
    # 3. fill the gap: the Ping is delivered, the Pong comes
    send_at(gap, F_DATA, m_ping(ts + 1))
    s.tx = gap + 3
    got = listen(0.5)
    pongs = [g for g in got if g[1] == F_DATA and
             (msg_parse(g[2]) or (0,))[0] == M_PONG]
    if len(pongs) < 2 and not pong:
        bad.append("no-pong-after-gap-filled")
    # 4. ACK everything, behind a new gap: no retransmission after it
    top = max([g[0] for g in got] + [s.E])
    gap2 = s.tx
    send_at(gap2 + 1, F_ACK, ack_payload([(0, top)]))
    late = [g for g in listen(1.5) if g[1] == F_DATA and g[0] <= top]
    if late:
        bad.append("ack-behind-gap-ignored")
        log("retransmitted after our ACK: %s" % [g[0] for g in late])
    # 5. fill that gap; the server's ACK of it, NACKed in order (no
    # gap now): resent byte-identical
    send_at(gap2, F_DATA, m_simple(M_KEEPALIVE))
    s.tx = gap2 + 2
    acks = [g for g in listen(0.3) if g[1] == F_ACK]
    if acks:
        n = acks[0][0]
        send_at(s.tx, F_NACK, be64(n))
        s.tx += 1
        if not [g for g in listen(0.3) if g[3] == raw[n]]:
            bad.append("nacked-ack-not-resent")
            log("our in-order NACK for the server's ACK frame %d was not "
                "answered" % n)
    else:
        bad.append("keepalive-not-acked")
    s.E = max([s.E] + list(raw)) + 1
    s.rxbuf = {}
    s.hist = {}
    if not s.ping():
        bad.append("no-pong-at-end")
    s.close()
    print(",".join(bad) if bad else "ok")
    return 1 if bad else 0


# --- fixed-input vectors ---------------------------------------------------

def do_vectors():
    key = "0123456789abcdef0123456789abcdef"
    keys = Keys(key)
    e_c = bytes(range(1, 33))
    e_s = bytes(range(33, 65))
    sid = 0x01020304
    ts = 1700000000
    padbyte = b"\x5a"
    out = []

    def p(name, v):
        out.append("%s %s" % (name, v.hex() if isinstance(v, bytes) else v))
    p("obf_key", keys.obf_key)
    p("psk", keys.psk)
    p("pad_min", keys.pad_min)
    p("pad_max", keys.pad_max)
    p("junk_marker_28333333", keys.junk_marker(28333333))
    d1, nz = make_msg1(keys, sid, ts, e_priv=e_c,
                       pad=padbyte * keys.pad_min)
    p("msg1", d1)
    # the responder, from the same bytes
    h = mask(keys.obf_key, d1, HS_HDR)
    nlen = struct.unpack(">H", h[4:6])[0]
    rs = Noise(keys.psk)
    pl = rs.read1(h[6:6 + nlen])
    assert pl == hs_payload(ts, sid, keys.key)
    m2 = rs.write2(e_s, b"")
    d2 = hs_datagram(keys, sid, m2, padbyte * (keys.pad_min + 1))
    p("msg2", d2)
    h2 = mask(keys.obf_key, d2, HS_HDR)
    nz.read2(h2[6:6 + 48])
    k1, k2 = nz.split()
    assert (k1, k2) == rs.split()
    p("k_c2s", k1)
    p("k_s2c", k2)
    f = frame(F_DATA, 0, m_ping(1), b"", rsv=padbyte * 2)
    p("ping_frame", f)
    p("data_c2s_n0", seal(keys, k1, sid, 0, f))
    f = frame(F_DATA, 0, bytes([M_PONG]) + be16(8) + be64(1), b"",
              rsv=padbyte * 2)
    p("data_s2c_n0", seal(keys, k2, sid, 0, f))
    f = frame(F_ACK, 0, ack_payload([(0, 0)]), b"", rsv=padbyte * 2)
    p("ack_c2s_n1", seal(keys, k1, sid, 1, f))
    print("\n".join(out))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    mode, a = argv[1], argv[2:]
    try:
        if mode == "vectors":
            return do_vectors()
        if mode == "fetch" and len(a) == 5:
            return do_fetch(*a)
        if mode == "inject" and len(a) == 5:
            return do_fetch(*a, flood=True)
        if mode == "roam" and len(a) == 5:
            return do_roam(*a)
        if mode == "stall" and len(a) == 5:
            return do_stall(*a)
        if mode == "refused" and len(a) == 4:
            return do_refused(*a)
        if mode == "replay" and len(a) == 2:
            return do_replay(*a)
        if mode == "junk" and len(a) == 2:
            return do_junk(*a)
        if mode == "arq" and len(a) == 2:
            return do_arq(*a)
        if mode == "stale" and len(a) == 2:
            return do_stale(*a)
        if mode == "wrongkey" and len(a) == 2:
            return do_wrongkey(*a)
    except (OSError, ValueError) as e:
        log(mode + ":", e)
        print("error")
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
