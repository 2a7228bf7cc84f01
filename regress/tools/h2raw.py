#!/usr/bin/env python3
"""Hand-written HTTP/2 frames for regress/h2.sh (no h2 package here):
a CONNECT tunnel, and peers that misbehave.  Loopback only.

h2raw.py MODE PORT [AUTHORITY [tls]]
  connect   CONNECT AUTHORITY, expect 200, echo "ping" through the tunnel
            (tls: over TLS with ALPN h2, as to an http2 listener)
  garbage   the preface, then bytes that are no frame: GOAWAY or close
  flow      DATA past the stream's window: FLOW_CONTROL_ERROR (PORT a
            forwarder whose target never answers: nothing is consumed)
  silent    answer no PING: a server with ping= closes the session
  noalpn    TLS without ALPN, then the preface: the h2 listener closes
  hole      listen on PORT with a full backlog: connects there hang
  sink      listen on PORT with a tiny buffer and never accept
  rst       RST_STREAM and WINDOW_UPDATE for streams that never were
  idle      open a session and stay quiet: the server ends it (GOAWAY
            NO_ERROR) within AUTHORITY seconds, not before half of them
"""
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUP = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 1, 4, 1


def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + \
        struct.pack(">I", sid) + payload


def lit(name, value):
    # literal header field without indexing, new name, no Huffman
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def recv_exact(s, n):
    d = b""
    while len(d) < n:
        k = s.recv(n - len(d))
        if not k:
            raise EOFError("closed after %d of %d bytes" % (len(d), n))
        d += k
    return d


def read_frame(s):
    h = recv_exact(s, 9)
    n = struct.unpack(">I", b"\0" + h[:3])[0]
    sid = struct.unpack(">I", h[5:9])[0] & 0x7fffffff
    return h[3], h[4], sid, recv_exact(s, n)


def start(port, tls=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        s = ctx.wrap_socket(s)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    return s


def until(s, want):
    """Frames until want(t, flags, sid, payload) says so; acks SETTINGS."""
    while True:
        t, fl, sid, p = read_frame(s)
        if t == SETTINGS and not fl & ACK:
            s.sendall(frame(SETTINGS, ACK, 0))
        r = want(t, fl, sid, p)
        if r is not None:
            return r


def ended(s):
    """GOAWAY's error code, or -1 when the connection just closed."""
    try:
        return until(s, lambda t, fl, sid, p:
                     struct.unpack(">I", p[4:8])[0] if t == GOAWAY else None)
    except (EOFError, ConnectionResetError):
        return -1


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "hole":
        ls = socket.socket()
        ls.bind(("127.0.0.1", port))
        ls.listen(0)
        # never accepted: these fill the queue, later SYNs are dropped
        held = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            held.append(c)
        while True:
            time.sleep(3600)
    if mode == "sink":
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ls.bind(("127.0.0.1", port))
        ls.listen(8)
        while True:
            time.sleep(3600)
    auth = sys.argv[3].encode() if len(sys.argv) > 3 else b"127.0.0.1:1"
    if mode == "noalpn":
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                     timeout=10))
        s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, ssl.SSLError):
            pass
        print("noalpn: closed")
        return
    s = start(port, len(sys.argv) > 4 and sys.argv[4] == "tls")
    if mode == "connect":
        s.sendall(frame(HEADERS, END_HEADERS, 1,
                        lit(b":method", b"CONNECT") + lit(b":authority", auth)))
        # :status 200 is the static table's entry 8
        st = until(s, lambda t, fl, sid, p: p[:1] if t == HEADERS else None)
        if st != b"\x88":
            sys.exit("answer %r, not 200" % st)
        s.sendall(frame(DATA, 0, 1, b"ping"))
        got = until(s, lambda t, fl, sid, p: p if t == DATA and p else None)
        if got != b"ping":
            sys.exit("tunnel gave %r" % got)
        s.sendall(frame(DATA, END_STREAM, 1))
        print("CONNECT: 200, the tunnel echoes")
    elif mode == "garbage":
        s.sendall(b"\xff" * 9 + b"this is no frame at all" * 10)
        code = ended(s)
        print("garbage: GOAWAY %d" % code)
    elif mode == "flow":
        # the server's SETTINGS acknowledged: its window applies
        until(s, lambda t, fl, sid, p:
              True if t == SETTINGS and not fl & ACK else None)
        s.sendall(frame(HEADERS, END_HEADERS, 1,
                        lit(b":method", b"CONNECT") + lit(b":authority", auth)))
        chunk = b"x" * 16384
        try:
            # the stream's window is 256 KiB; the sink takes little
            for _ in range(128):
                s.sendall(frame(DATA, 0, 1, chunk))
        except OSError:
            pass
        # the session ends: GOAWAY(FLOW_CONTROL_ERROR)
        code = until(s, lambda t, fl, sid, p:
                     struct.unpack(">I", p[4:8])[0] if t == GOAWAY
                     else None)
        if code != 3:
            sys.exit("GOAWAY %d, not FLOW_CONTROL_ERROR" % code)
        if ended(s) != -1:
            sys.exit("the session went on after GOAWAY")
        print("flow: GOAWAY(FLOW_CONTROL_ERROR), closed")
    elif mode == "silent":
        pings = [0]

        def count(t, fl, sid, p):
            if t == PING and not fl & ACK:
                pings[0] += 1
            return None
        s.settimeout(15)
        try:
            until(s, count)
        except (EOFError, ConnectionResetError):
            pass
        if pings[0] == 0:
            sys.exit("closed without a PING")
        print("silent: closed after %d PING" % pings[0])
    elif mode == "idle":
        limit = float(sys.argv[3])
        t0 = time.time()
        s.settimeout(limit + 5)
        code = ended(s)
        took = time.time() - t0
        # the server's clock started at its accept, before this one
        # (after the handshake): "not at once" is what can be asserted
        if code not in (0, -1) or took > limit or took < limit / 4:
            sys.exit("idle: GOAWAY %d after %.1f s" % (code, took))
        print("idle: GOAWAY %d after %.1f s" % (code, took))
    elif mode == "rst":
        s.sendall(frame(RST, 0, 99, struct.pack(">I", 8)) +
                  frame(WINUP, 0, 77, struct.pack(">I", 1000)))
        code = ended(s)
        print("rst: GOAWAY %d" % code)


if __name__ == "__main__":
    main()
