#!/usr/bin/env python3
"""A Shadowsocks AEAD (SIP004) client for the scenario tests, written from
the specification with python3-cryptography: an implementation
independent of ostpd's, able to send what a real client never would
(replayed salts, corrupted and truncated chunks).  Loopback only.

  sstool.py echo METHOD PW SPORT THOST TPORT     one round trip via ss://
  sstool.py replay METHOD PW SPORT THOST TPORT   the same bytes twice
  sstool.py corrupt METHOD PW SPORT THOST TPORT  a bad second chunk
  sstool.py garbage SPORT                        random bytes (a prober)
  sstool.py udp METHOD PW SPORT THOST TPORT      one datagram via ssu://
  sstool.py mitm LPORT SPORT FILE                pass one connection on,
                                                 recording its first bytes
  sstool.py replayfile SPORT FILE                send them again
"""
import hashlib
import os
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEYLEN = {"aes-128-gcm": 16, "aes-256-gcm": 32, "chacha20-ietf-poly1305": 32}


def master_key(method, pw):
    n = KEYLEN[method]
    key, d = b"", b""
    while len(key) < n:
        d = hashlib.md5(d + pw.encode()).digest()
        key += d
    return key[:n]


class Dir:
    def __init__(self, method, key, salt):
        sub = HKDF(algorithm=hashes.SHA1(), length=len(key), salt=salt,
                   info=b"ss-subkey").derive(key)
        self.a = (ChaCha20Poly1305 if "chacha" in method else AESGCM)(sub)
        self.n = 0

    def nonce(self):
        v = self.n.to_bytes(12, "little")
        self.n += 1
        return v

    def seal(self, p):
        return self.a.encrypt(self.nonce(), p, None)

    def open(self, c):
        return self.a.decrypt(self.nonce(), c, None)


def addr(host, port):
    try:
        return b"\x01" + socket.inet_aton(host) + struct.pack(">H", port)
    except OSError:
        h = host.encode()
        return b"\x03" + bytes([len(h)]) + h + struct.pack(">H", port)


def chunk(d, p):
    return d.seal(struct.pack(">H", len(p))) + d.seal(p)


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += x
    return b


def read_reply(s, method, key, want):
    salt = recv_exact(s, len(key))
    d = Dir(method, key, salt)
    out = b""
    while len(out) < want:
        n = struct.unpack(">H", d.open(recv_exact(s, 18)))[0]
        out += d.open(recv_exact(s, n + 16))
    return out


def first_bytes(method, key, thost, tport, payload):
    salt = os.urandom(len(key))
    d = Dir(method, key, salt)
    return salt + chunk(d, addr(thost, tport) + payload), d


def main():
    mode = sys.argv[1]
    if mode == "mitm":
        replay_proxy(*sys.argv[2:5])
        return
    if mode == "replayfile":
        replay_file(*sys.argv[2:4])
        return
    if mode == "garbage":
        s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), 5)
        s.sendall(os.urandom(200))
        s.settimeout(1.5)
        try:
            got = s.recv(100)
            # a prober must learn nothing: neither data nor a quick close
            print("answered" if got else "closed-early")
        except socket.timeout:
            print("silent")
        return
    method, pw, sport, thost, tport = sys.argv[2:7]
    key = master_key(method, pw)
    sport, tport = int(sport), int(tport)
    if mode == "udp":
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(5)
        salt = os.urandom(len(key))
        msg = b"datagram-" + os.urandom(8).hex().encode()
        u.sendto(salt + Dir(method, key, salt).seal(addr(thost, tport) + msg),
                 ("127.0.0.1", sport))
        r, _ = u.recvfrom(65535)
        p = Dir(method, key, r[:len(key)]).open(r[len(key):])
        want = addr(thost, tport) + msg
        print("ok" if p == want else "mismatch %r" % p)
        return
    s = socket.create_connection(("127.0.0.1", sport), 5)
    s.settimeout(5)
    msg = b"ping-" + os.urandom(8).hex().encode()
    first, d = first_bytes(method, key, thost, tport, msg)
    s.sendall(first)
    if read_reply(s, method, key, len(msg)) != msg:
        print("mismatch")
        return
    if mode == "echo":
        print("ok")
    elif mode == "corrupt":
        bad = bytearray(chunk(d, b"second"))
        bad[20] ^= 0x55
        s.sendall(bytes(bad))
        s.settimeout(3)
        try:
            print("answered" if s.recv(100) else "closed")
        except (socket.timeout, ConnectionResetError):
            print("closed")
    elif mode == "replay":
        s2 = socket.create_connection(("127.0.0.1", sport), 5)
        s2.sendall(first)
        s2.settimeout(1.5)
        try:
            got = s2.recv(100)
            print("answered" if got else "closed-early")
        except socket.timeout:
            print("rejected")



def replay_proxy(listen, target, out):
    """Between a Shadowsocks client and server: pass one connection on,
    keeping the client's first bytes in out (for a replay later)."""
    import threading
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(listen)))
    ls.listen(4)
    c, _ = ls.accept()
    u = socket.create_connection(("127.0.0.1", int(target)), 5)
    first = c.recv(65536)
    with open(out, "wb") as f:
        f.write(first)
    u.sendall(first)

    def pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    t = threading.Thread(target=pipe, args=(u, c), daemon=True)
    t.start()
    pipe(c, u)
    t.join(5)


def replay_file(port, path):
    """Send recorded first bytes again: a server must not answer."""
    with open(path, "rb") as f:
        first = f.read()
    s = socket.create_connection(("127.0.0.1", int(port)), 5)
    s.sendall(first)
    s.settimeout(1.5)
    try:
        got = s.recv(100)
        print("answered" if got else "closed-early")
    except socket.timeout:
        print("rejected")


if __name__ == "__main__":
    main()
