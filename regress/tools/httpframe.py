#!/usr/bin/env python3
"""Peers for regress/httpframe.sh (HTTP framing, RFC 9112 section 6):

  origin PORT LOG   an origin that answers every request with 200 "ok"
                    and appends every byte it receives to LOG
  bad PORT          an origin whose answer has the shape that the
                    request path names (see BAD_RESPONSES)
  check PROXY ORIGIN BAD LOG AUTHPROXY
                    the client: request smuggling shapes (400, never
                    forwarded), bad response shapes (502), chunked
                    bodies framed exactly, oversized heads with more
                    data behind them (431 read every time), and after
                    every refusal a request that must be served

Loopback only."""
import socket
import sys
import threading
import time

TIMEOUT = 10


def read_head(c, buf):
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return None, buf
        buf += d
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def read_body(c, head, rest):
    """Skip a request body framed by Content-Length or chunked."""
    low = head.lower()
    if b"\r\ncontent-length:" in low:
        n = int(low.split(b"\r\ncontent-length:")[1].split(b"\r\n")[0])
        while len(rest) < n:
            d = c.recv(65536)
            if not d:
                break
            rest += d
    elif b"\r\ntransfer-encoding:" in low:
        while b"0\r\n\r\n" not in rest:
            d = c.recv(65536)
            if not d:
                break
            rest += d


def origin(port, logpath):
    lock = threading.Lock()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(64)

    def serve(c):
        got = b""
        try:
            c.settimeout(TIMEOUT)
            head, rest = read_head(c, b"")
            got = (head or b"") + rest
            if head is not None:
                read_body(c, head, rest)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                          b"Connection: close\r\n\r\nok")
            # what else arrives before the proxy closes is recorded too
            c.settimeout(0.5)
            while True:
                d = c.recv(65536)
                if not d:
                    break
                got += d
        except OSError:
            pass
        finally:
            c.close()
            with lock, open(logpath, "ab") as f:
                f.write(b"=== connection\n" + got + b"\n")

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


R = b"HTTP/1.1 200 OK\r\nServer: bad\r\n"
BAD_RESPONSES = {
    "cl-te": R + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"0\r\n\r\n",
    "te-cl": R + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
             b"0\r\n\r\n",
    "cl-cl": R + b"Content-Length: 2\r\nContent-Length: 7\r\n\r\nokokoko",
    "cl-same": R + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    "cl-list": R + b"Content-Length: 2, 7\r\n\r\nokokoko",
    "cl-sign": R + b"Content-Length: +2\r\n\r\nok",
    "cl-neg": R + b"Content-Length: -1\r\n\r\nok",
    "cl-huge": R + b"Content-Length: 99999999999999999999\r\n\r\nok",
    "te-identity": R + b"Transfer-Encoding: identity\r\n\r\nok",
    "te-chunked-identity": R + b"Transfer-Encoding: chunked, identity"
                               b"\r\n\r\n0\r\n\r\n",
    "te-space": R + b"Transfer-Encoding: chunked \r\n\r\n0\r\n\r\n",
    "te-tab": R + b"Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n",
    "te-colon": R + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "te-twice": R + b"Transfer-Encoding: chunked\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te-http10": b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\n\r\n",
    "obs-fold": R + b"X-A: 1\r\n Transfer-Encoding: chunked\r\n"
                    b"Content-Length: 2\r\n\r\nok",
    "bare-lf": R + b"X-A: 1\nContent-Length: 2\r\n\r\nok",
    "bare-cr": R + b"X-A: 1\rContent-Length: 2\r\n\r\nok",
}
# A chunked answer, then what must never reach the client: bytes past
# its last chunk (a second "response"), or a chunk without its CRLF.
CHUNKED = {
    "chunk-excess": R + b"Transfer-Encoding: chunked\r\n\r\n"
                    b"2\r\nok\r\n0\r\n\r\n"
                    b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled",
    "chunk-nocrlf": R + b"Transfer-Encoding: chunked\r\n\r\n"
                    b"2\r\nokXX0\r\n\r\n",
    "chunk-overflow": R + b"Transfer-Encoding: chunked\r\n\r\n"
                      b"10000000000000002\r\nok\r\n0\r\n\r\n",
    "chunk-good": R + b"Transfer-Encoding: chunked\r\n\r\n"
                  b"2;x=1\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n",
}


def bad_origin(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(64)

    def serve(c):
        try:
            c.settimeout(TIMEOUT)
            head, rest = read_head(c, b"")
            if head is None:
                return
            name = head.split(b" ")[1].decode().strip("/")
            c.sendall(BAD_RESPONSES.get(name) or CHUNKED[name])
            # chunk-excess: stay open, as a keep-alive origin would
            if name == "chunk-excess":
                time.sleep(1)
        except (OSError, KeyError):
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


FAILS = []


def fail(msg):
    print("FAIL " + msg, flush=True)
    FAILS.append(msg)


def conv(port, data, shut=True, timeout=TIMEOUT, until=None):
    """Send data, optionally half-close, read to the end (or until the
    answer ends with until).  A client that half-closes before its
    answer has left, for the proxy: so only refusals are sent so."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        while until is None or not got.endswith(until):
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError as e:
        got += ("<%s>" % e).encode()
    s.close()
    return got


def served(proxy, origin_port, tag):
    """The proxy still serves: a plain request reaches the origin."""
    got = conv(proxy, b"GET http://127.0.0.1:%d/ok-%s HTTP/1.1\r\n"
               b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n" %
               (origin_port, tag.encode()), shut=False)
    if not got.startswith(b"HTTP/1.1 200") or not got.endswith(b"ok"):
        fail("not served after %s: %r" % (tag, got[:80]))


def smuggle_requests(o):
    H = b"POST http://127.0.0.1:%d/smuggle-%%s HTTP/1.1\r\n" \
        b"Host: 127.0.0.1\r\n" % o
    body = b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    return [
        ("cl-te", H + b"Content-Length: %d\r\nTransfer-Encoding: chunked"
         b"\r\n\r\n" % len(body) + body),
        ("te-cl", H + b"Transfer-Encoding: chunked\r\nContent-Length: 5"
         b"\r\n\r\n" + body),
        ("cl-cl", H + b"Content-Length: 5\r\nContent-Length: %d\r\n\r\n" %
         len(body) + body),
        ("cl-same", H + b"Content-Length: %d\r\nContent-Length: %d"
         b"\r\n\r\n" % (len(body), len(body)) + body),
        ("cl-list", H + b"Content-Length: 5, %d\r\n\r\n" % len(body) + body),
        ("cl-sign", H + b"Content-Length: +%d\r\n\r\n" % len(body) + body),
        ("cl-neg", H + b"Content-Length: -1\r\n\r\n" + body),
        ("cl-hex", H + b"Content-Length: 0x10\r\n\r\n" + body),
        ("cl-huge", H + b"Content-Length: 18446744073709551617\r\n\r\n" +
         body),
        ("te-chunked-identity", H + b"Transfer-Encoding: chunked, identity"
         b"\r\n\r\n" + body),
        ("te-identity", H + b"Transfer-Encoding: identity\r\n\r\n" + body),
        ("te-xchunked", H + b"Transfer-Encoding: xchunked\r\n\r\n" + body),
        ("te-lead-space", H + b"Transfer-Encoding:  chunked\r\n\r\n" + body),
        ("te-trail-space", H + b"Transfer-Encoding: chunked \r\n\r\n" +
         body),
        ("te-tab", H + b"Transfer-Encoding:\tchunked\r\n\r\n" + body),
        ("te-trail-tab", H + b"Transfer-Encoding: chunked\t\r\n\r\n" + body),
        ("te-colon", H + b"Transfer-Encoding : chunked\r\n\r\n" + body),
        ("te-twice", H + b"Transfer-Encoding: chunked\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n" + body),
        ("te-twice-identity", H + b"Transfer-Encoding: chunked\r\n"
         b"Transfer-Encoding: identity\r\n\r\n" + body),
        ("te-http10", b"POST http://127.0.0.1:%d/smuggle-te-http10 "
         b"HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" % o + body),
        ("obs-fold", H + b"X-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n" +
         body),
        ("obs-fold-te", H + b"Transfer-Encoding: gzip,\r\n chunked\r\n\r\n" +
         body),
        ("bare-lf", H + b"X-A: 1\nTransfer-Encoding: chunked\r\n\r\n" +
         body),
        ("bare-lf-end", H.replace(b"\r\n", b"\n") + b"\n"),
        ("bare-cr", H + b"X-A: 1\rTransfer-Encoding: chunked\r\n\r\n" +
         body),
        ("nul", H + b"X-A: 1\x00\r\n\r\n"),
        ("connect-cl-te", b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n"
         b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" % o +
         body),
    ]


def check(proxy, origin_port, bad_port, origin_log, auth_proxy):
    proxy, o, b, pa = int(proxy), int(origin_port), int(bad_port), \
        int(auth_proxy)
    served(proxy, o, "start")

    # 1. request smuggling shapes: 400, closed, nothing forwarded
    for name, req in smuggle_requests(o):
        if b"%s" in req:
            req = req.replace(b"%s", name.encode(), 1)
        got = conv(proxy, req)
        if not got.startswith(b"HTTP/1.1 400 "):
            fail("request %s: got %r, want 400" % (name, got[:60]))
        served(proxy, o, name)
    # ... and with a body of 1 MB behind the refused head, unread
    for i in range(3):
        req = dict(smuggle_requests(o))["cl-te"].replace(b"%s", b"big", 1)
        got = conv(proxy, req + b"x" * (1 << 20))
        if not got.startswith(b"HTTP/1.1 400 "):
            fail("cl-te with 1 MB behind: got %r" % got[:60])
    served(proxy, o, "400-big")

    # 2. legitimate framings still pass
    for name, req in [
        ("cl", b"POST http://127.0.0.1:%d/good-cl HTTP/1.1\r\n"
         b"Host: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
        ("chunked", b"POST http://127.0.0.1:%d/good-chunked HTTP/1.1\r\n"
         b"Host: x\r\nTransfer-Encoding: Chunked\r\nConnection: close"
         b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("keepalive-cl", b"POST http://127.0.0.1:%d/good-ka HTTP/1.1\r\n"
         b"Host: x\r\nContent-Length: 5\r\n\r\nhello"),
    ]:
        got = conv(proxy, req % o, shut=False, until=b"ok")
        if not got.startswith(b"HTTP/1.1 200") or not got.endswith(b"ok"):
            fail("good request %s: got %r" % (name, got[:80]))

    # 3. bad response shapes from the origin: 502 (keep-alive client)
    for name in BAD_RESPONSES:
        got = conv(proxy, b"GET http://127.0.0.1:%d/%s HTTP/1.1\r\n"
                   b"Host: x\r\n\r\n" % (b, name.encode()), shut=False)
        if not got.startswith(b"HTTP/1.1 502 "):
            fail("response %s: got %r, want 502" % (name, got[:60]))
        served(proxy, o, "response-" + name)

    # 4. chunked answers are framed exactly
    s = socket.create_connection(("127.0.0.1", proxy), timeout=TIMEOUT)
    s.sendall(b"GET http://127.0.0.1:%d/chunk-excess HTTP/1.1\r\n"
              b"Host: x\r\n\r\n" % b)
    got = b""
    try:
        while not got.endswith(b"0\r\n\r\n"):
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError as e:
        got += ("<%s>" % e).encode()
    if not got.startswith(b"HTTP/1.1 200") or b"smuggled" in got or \
            not got.endswith(b"0\r\n\r\n"):
        fail("chunk-excess: first answer %r" % got)
    # the connection stays; the next answer is the next origin's
    s.sendall(b"GET http://127.0.0.1:%d/ok-after-chunked HTTP/1.1\r\n"
              b"Host: x\r\nConnection: close\r\n\r\n" % o)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError as e:
        got += ("<%s>" % e).encode()
    s.close()
    if b"smuggled" in got or not got.startswith(b"HTTP/1.1 200") or \
            not got.endswith(b"ok"):
        fail("chunk-excess: second answer %r" % got)
    for name in ("chunk-nocrlf", "chunk-overflow"):
        got = conv(proxy, b"GET http://127.0.0.1:%d/%s HTTP/1.1\r\n"
                   b"Host: x\r\n\r\n" % (b, name.encode()), shut=False)
        # 502 if the head had not gone out yet, else the body is cut
        # where it went wrong and the connection closed
        if got.startswith(b"HTTP/1.1 502 "):
            pass
        elif not got.startswith(b"HTTP/1.1 200") or \
                b"0\r\n\r\n" in got or b"okXX" in got or b"<" in got:
            fail("%s: got %r" % (name, got))
        served(proxy, o, name)
    got = conv(proxy, b"GET http://127.0.0.1:%d/chunk-good HTTP/1.1\r\n"
               b"Host: x\r\nConnection: close\r\n\r\n" % b, shut=False)
    if not got.startswith(b"HTTP/1.1 200") or \
            not got.endswith(b"2;x=1\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n"):
        fail("chunk-good: got %r" % got)

    # 5. an oversized head with much more behind it, never read while
    # sending: the 431 must arrive every time, not a reset
    big = b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nX-Big: " % o + \
        b"a" * (64 * 1024) + b"\r\n\r\n"
    for i in range(20):
        got = conv(proxy, big + b"b" * (1 << 20), shut=(i % 10 != 9))
        if not got.startswith(b"HTTP/1.1 431 "):
            fail("431 round %d: got %r" % (i, got[:60]))
    served(proxy, o, "431")

    # 6. 407 with a body behind the request, on a listener with users
    for i in range(5):
        got = conv(pa, b"POST http://127.0.0.1:%d/smuggle-noauth HTTP/1.1"
                   b"\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
                   (o, 1 << 20) + b"c" * (1 << 20))
        if not got.startswith(b"HTTP/1.1 407 "):
            fail("407 round %d: got %r" % (i, got[:60]))
    got = conv(pa, b"GET http://127.0.0.1:%d/ok-auth HTTP/1.1\r\n"
               b"Host: x\r\nProxy-Authorization: Basic dTpw\r\n"
               b"Connection: close\r\n\r\n" % o, shut=False)
    if not got.startswith(b"HTTP/1.1 200") or not got.endswith(b"ok"):
        fail("not served with a password: %r" % got[:80])

    # nothing of a refused request reached the origin
    time.sleep(0.6)
    with open(origin_log, "rb") as f:
        log = f.read()
    if b"smuggle" in log or b"/smuggled" in log:
        fail("a refused request reached the origin")
    for tag in (b"ok-start", b"good-chunked", b"good-cl", b"ok-431",
                b"ok-after-chunked", b"ok-auth"):
        if tag not in log:
            fail("%s did not reach the origin" % tag.decode())
    print("%d failures" % len(FAILS), flush=True)
    return 1 if FAILS else 0


def main():
    cmd = sys.argv[1]
    if cmd == "origin":
        origin(sys.argv[2], sys.argv[3])
    elif cmd == "bad":
        bad_origin(sys.argv[2])
    elif cmd == "check":
        sys.exit(check(*sys.argv[2:7]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
