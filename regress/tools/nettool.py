#!/usr/bin/env python3
"""Test peers for the scenario tests: an echo server, a verifying
client, and an sd_notify listener.  Loopback and test namespaces only."""
import hashlib
import os
import select
import socket
import sys
import threading
import time


def echo_server(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(512)

    def serve(c):
        try:
            while True:
                d = c.recv(262144)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def one_transfer(host, port, size, results, idx, pause=0.0, halfclose=True):
    """Send size random bytes, read the echo, compare digests; without
    halfclose the sender never shuts its side: the reader stops at size
    bytes (for transports that cannot carry a half-close)."""
    try:
        data = os.urandom(size)
        s = socket.create_connection((host, int(port)), timeout=60)

        def writer():
            try:
                if pause > 0:
                    # half, a silence (a relay gives its pipes back),
                    # then the rest on the same connection
                    s.sendall(data[:size // 2])
                    time.sleep(pause)
                    s.sendall(data[size // 2:])
                else:
                    s.sendall(data)
                if halfclose:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        t = threading.Thread(target=writer)
        t.start()
        h = hashlib.sha256()
        n = 0
        while halfclose or n < size:
            b = s.recv(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        t.join()
        s.close()
        results[idx] = (n == size and
                        h.digest() == hashlib.sha256(data).digest())
        if not results[idx]:
            print("transfer %d: got %d of %d bytes, digest %s" %
                  (idx, n, size, "ok" if n == size else "mismatch"))
    except OSError as e:
        print("transfer %d: %s" % (idx, e))
        results[idx] = False


def xfer(host, port, size, conns, pause="0", halfclose=True):
    size, conns, pause = int(size), int(conns), float(pause)
    results = [None] * conns
    threads = [threading.Thread(target=one_transfer,
                                args=(host, port, size, results, i, pause,
                                      halfclose))
               for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    ok = sum(1 for r in results if r)
    print("%d/%d transfers of %d bytes byte-exact" % (ok, conns, size))
    return 0 if ok == conns else 1


def notify_listen(path, want, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(float(timeout))
    try:
        while True:
            msg = s.recv(4096).decode()
            print(msg, flush=True)
            if want in msg.split("\n"):
                return 0
    except socket.timeout:
        return 1


def dns_server(host, port, aaaa=None):
    """Answers A queries for *.test with 127.0.0.1 (and AAAA with aaaa,
    when given), NXDOMAIN otherwise."""
    v6 = socket.inet_pton(socket.AF_INET6, aaaa) if aaaa else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    while True:
        q, peer = s.recvfrom(2048)
        if len(q) < 12:
            continue
        # question name
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            n = q[i]
            labels.append(q[i + 1:i + 1 + n].decode(errors="replace"))
            i += 1 + n
        qend = i + 5
        name = ".".join(labels).lower()
        qtype = int.from_bytes(q[i + 1:i + 3], "big") if qend <= len(q) else 0
        # an OPT with a client subnet option: say so (family/prefix addr)
        o = qend
        if q[10:12] == b"\x00\x01" and len(q) >= o + 11 and q[o] == 0:
            rd, o = q[o + 11:o + 11 + int.from_bytes(q[o + 9:o + 11], "big")], 0
            while o + 4 <= len(rd):
                code = int.from_bytes(rd[o:o + 2], "big")
                ln = int.from_bytes(rd[o + 2:o + 4], "big")
                if code == 8 and ln >= 4:
                    print("ecs %d/%d %s" % (rd[o + 5], rd[o + 6],
                          rd[o + 8:o + 4 + ln].hex()), flush=True)
                o += 4 + ln
        hdr = bytearray(q[:12])
        hdr[2] = 0x81 | (q[2] & 0x01)
        if name.endswith(".test") and qtype == 1:
            hdr[3] = 0x80
            hdr[6:8] = (1).to_bytes(2, "big")
            ans = (b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big")
                   + (60).to_bytes(4, "big") + (4).to_bytes(2, "big")
                   + bytes([127, 0, 0, 1]))
        elif name.endswith(".test") and qtype == 28 and v6:
            hdr[3] = 0x80
            hdr[6:8] = (1).to_bytes(2, "big")
            ans = (b"\xc0\x0c" + (28).to_bytes(2, "big") + (1).to_bytes(2, "big")
                   + (60).to_bytes(4, "big") + (16).to_bytes(2, "big") + v6)
        elif name.endswith(".test"):
            hdr[3] = 0x80
            hdr[6:8] = (0).to_bytes(2, "big")
            ans = b""
        else:
            hdr[3] = 0x83
            hdr[6:8] = (0).to_bytes(2, "big")
            ans = b""
        hdr[8:12] = bytes(4)
        s.sendto(bytes(hdr) + q[12:qend] + ans, peer)


def bad_dns(host, port):
    """Answers every query with garbage, in turn: random bytes, the
    query cut short with QR set, a wrong id, an answer whose record
    runs past the end, and a compression loop."""
    import os
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    n = 0
    while True:
        q, peer = s.recvfrom(2048)
        if len(q) < 12:
            continue
        kind = n % 5
        n += 1
        hdr = bytearray(q[:12])
        hdr[2] |= 0x80
        if kind == 0:
            out = q[:2] + os.urandom(40)
        elif kind == 1:
            out = bytes(hdr) + q[12:len(q) // 2]
        elif kind == 2:
            hdr[0] ^= 0xff
            out = bytes(hdr) + q[12:]
        elif kind == 3:
            hdr[6:8] = (1).to_bytes(2, "big")
            hdr[10:12] = bytes(2)
            qend = q.index(0, 12) + 5
            out = (bytes(hdr) + q[12:qend] + b"\xc0\x0c\x00\x01\x00\x01"
                   + b"\x00\x00\x00\x3c\x00\x04\x7f")
        else:
            hdr[6:8] = (1).to_bytes(2, "big")
            hdr[10:12] = bytes(2)
            qend = q.index(0, 12) + 5
            out = (bytes(hdr) + q[12:qend] + b"\xc0\x22\x00\x01\x00\x01"
                   + b"\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01")
        s.sendto(out, peer)


def udp_echo(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    while True:
        d, peer = s.recvfrom(65535)
        s.sendto(d, peer)


def udp_check(host, port, count):
    """Send count distinct datagrams, one at a time; print how many came
    back intact, and the source port the echo server saw (its reply is
    the datagram itself, so only round trips are counted)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(2)
    good = 0
    for i in range(int(count)):
        d = b"dgram-%d-" % i + os.urandom(16 + i * 37 % 1400)
        s.sendto(d, (host, int(port)))
        try:
            r, _ = s.recvfrom(65535)
            good += r == d
        except socket.timeout:
            pass
    print(good)


def socks_udp(proxy, host, port, count):
    """Round trips through a SOCKS5 UDP association (python3-socks)."""
    import socks
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, "127.0.0.1", int(proxy))
    s.settimeout(3)
    good = 0
    for i in range(int(count)):
        d = b"sdgram-%d-" % i + os.urandom(16 + i * 53 % 1200)
        s.sendto(d, (host, int(port)))
        try:
            r, src = s.recvfrom(65535)
            good += r == d and src[1] == int(port)
        except socket.timeout:
            pass
    print(good)


def proxy_echo(url, host, port):
    """One round trip to an echo server through a proxy URL
    (socks5://, socks4://, http:// with user:pass@): 0 when the bytes
    came back."""
    import socks
    from urllib.parse import unquote, urlsplit
    u = urlsplit(url)
    kind = {"socks5": socks.SOCKS5, "socks5h": socks.SOCKS5,
            "socks4": socks.SOCKS4, "socks4a": socks.SOCKS4,
            "http": socks.HTTP}[u.scheme]
    s = socks.socksocket()
    s.set_proxy(kind, u.hostname, u.port, rdns=u.scheme.endswith(("a", "h")),
                username=unquote(u.username) if u.username else None,
                password=unquote(u.password) if u.password else None)
    s.settimeout(10)
    data = os.urandom(1000)
    try:
        s.connect((host, int(port)))
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            b = s.recv(len(data) - len(got))
            if not b:
                break
            got += b
    except (OSError, socks.ProxyError) as e:
        print("through %s: %s" % (url, e))
        return 1
    return 0 if got == data else 1


def doh_server(cert, key, port, upstream):
    """A DNS-over-HTTPS upstream (RFC 8484 POST) that asks a local UDP
    server; it counts the queries it served in doh-count next to cert."""
    import http.server
    import ssl

    count = [0]

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            q = self.rfile.read(n)
            ok = (self.path == "/dns-query" and
                  self.headers.get("Content-Type") == "application/dns-message")
            ans = b""
            if ok:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.settimeout(3)
                u.sendto(q, ("127.0.0.1", int(upstream)))
                try:
                    ans = u.recvfrom(65535)[0]
                except socket.timeout:
                    ok = False
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "application/dns-message")
            self.send_header("Content-Length", str(len(ans)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(ans)
            count[0] += 1
            with open(os.path.join(os.path.dirname(cert), "doh-count"), "w") as f:
                f.write("%d\n" % count[0])

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("short read")
        b += c
    return b


def gost_socks5(port, cert, key, creds):
    """A SOCKS5 server choosing methods as gost v2 does (0x80 when
    offered, 0x82 instead with credentials; then TLS at once, RFC 1929
    inside it for 0x82) that echoes what a CONNECT carries.  Logs one
    line per connection: the methods offered, the one chosen, the user.
    """
    import ssl
    user, _, pw = creds.partition(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(16)

    def one(c):
        first = c.recv(1, socket.MSG_PEEK)
        if not first:
            c.close()  # a port probe
            return
        try:
            ver, n = recvn(c, 2)
            offered = recvn(c, n)
            if 0x80 in offered or 0x82 in offered:
                chosen = 0x82 if user else 0x80
            else:
                chosen = 0x02 if user else 0x00
            c.sendall(bytes([5, chosen]))
            s = ctx.wrap_socket(c, server_side=True) if chosen >= 0x80 else c
            got = "-"
            if chosen in (0x02, 0x82):
                v, ul = recvn(s, 2)
                u = recvn(s, ul)
                pl = recvn(s, 1)[0]
                pwd = recvn(s, pl)
                ok = u.decode() == user and pwd.decode() == pw
                s.sendall(bytes([1, 0 if ok else 1]))
                got = u.decode()
                if not ok:
                    raise EOFError("bad password")
            v, cmd, rsv, atyp = recvn(s, 4)
            alen = {1: 4, 4: 16}.get(atyp) or recvn(s, 1)[0]
            recvn(s, alen + 2)
            s.sendall(bytes([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
            print("offered %s chose %02x user %s" % (
                ",".join("%02x" % m for m in offered), chosen, got),
                flush=True)
            while True:
                b = s.recv(65536)
                if not b:
                    break
                s.sendall(b)
            s.close()
        except (OSError, EOFError, ValueError) as e:
            print("connection failed: %s" % e, flush=True)
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def hold(host, port, count, secs, ready, watch=""):
    """Open count connections, each echoing one byte, then keep them
    idle for secs (at most) and write count to the ready file.  With
    watch: exit 0 as soon as the far side has closed every one of them,
    1 if some are still open after secs."""
    conns = []
    for i in range(int(count)):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(b"x")
        if s.recv(1) != b"x":
            sys.exit("connection %d: no echo" % i)
        conns.append(s)
    with open(ready + ".tmp", "w") as f:
        f.write("%d\n" % len(conns))
    os.rename(ready + ".tmp", ready)
    if not watch:
        time.sleep(float(secs))
        for s in conns:
            s.close()
        return
    deadline = time.time() + float(secs)
    live = list(conns)
    while live and time.time() < deadline:
        r, _, _ = select.select(live, [], [], 0.2)
        for s in r:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                live.remove(s)
    print("%d of %d still open" % (len(live), len(conns)))
    sys.exit(1 if live else 0)


def gost_peer(lhost, lport, shost, sport, mtu, report):
    """A gost tun:// peer in the middle: relays datagrams between the
    first client and a tun:// server, and checks that each one is one
    plain IP packet (its length field the datagram's) of at most mtu
    bytes, as gost's peer reads them.  Writes "datagrams bad max" to
    report twice a second."""
    mtu = int(mtu)
    ls = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ls.bind((lhost, int(lport)))
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.connect((shost, int(sport)))
    for s in (ls, up):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    client = None
    n = bad = big = 0
    last = 0.0
    while True:
        r, _, _ = select.select([ls, up], [], [], 0.5)
        for s in r:
            d, a = s.recvfrom(65535)
            n += 1
            big = max(big, len(d))
            v = d[0] >> 4 if d else 0
            if v == 4 and len(d) >= 20:
                ok = int.from_bytes(d[2:4], "big") == len(d)
            elif v == 6 and len(d) >= 40:
                ok = int.from_bytes(d[4:6], "big") + 40 == len(d)
            else:
                ok = False
            if not ok or len(d) > mtu:
                bad += 1
            if s is ls:
                client = a
                up.send(d)
            elif client is not None:
                ls.sendto(d, client)
        if time.time() - last >= 0.5:
            last = time.time()
            with open(report + ".tmp", "w") as f:
                f.write("%d %d %d\n" % (n, bad, big))
            os.rename(report + ".tmp", report)


def main():
    cmd = sys.argv[1]
    if cmd == "gostpeer":
        gost_peer(*sys.argv[2:8])
        return
    if cmd == "hold":
        hold(*sys.argv[2:8])
        return
    if cmd == "gostsocks5":
        gost_socks5(*sys.argv[2:6])
        return
    if cmd == "doh":
        doh_server(*sys.argv[2:6])
        return
    if cmd == "socksudp":
        socks_udp(*sys.argv[2:6])
        return
    if cmd == "proxyecho":
        sys.exit(proxy_echo(*sys.argv[2:5]))
    if cmd == "udpcheck":
        udp_check(*sys.argv[2:5])
        return
    if cmd == "echo":
        echo_server(sys.argv[2], sys.argv[3])
    elif cmd == "xfer":
        sys.exit(xfer(*sys.argv[2:7]))
    elif cmd == "roundtrip":
        sys.exit(xfer(*sys.argv[2:6], halfclose=False))
    elif cmd == "udpecho":
        udp_echo(sys.argv[2], sys.argv[3])
    elif cmd == "dns":
        dns_server(sys.argv[2], sys.argv[3],
                   sys.argv[4] if len(sys.argv) > 4 else None)
    elif cmd == "baddns":
        bad_dns(sys.argv[2], sys.argv[3])
    elif cmd == "notify":
        sys.exit(notify_listen(*sys.argv[2:5]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
