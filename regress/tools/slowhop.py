#!/usr/bin/env python3
"""A SOCKS5 hop that keeps its clients waiting, and a client for it.

  slowhop.py hop PORT GATE [MAXWAIT]
      SOCKS5 without authentication on 127.0.0.1:PORT.  Each connection
      reads the method request, prints "waiting", and answers only once
      the file GATE exists (or MAXWAIT seconds, default 3, have passed);
      then CONNECT to the target and relay.  A connection that sends
      nothing (a latency probe) is closed quietly.

  slowhop.py dial PROXY_PORT HOST PORT USER PASS
      A SOCKS5 client (with RFC 1929 when USER is not "-") through the
      proxy on 127.0.0.1:PROXY_PORT to HOST:PORT; sends a line and
      expects it echoed.  Prints "ok" or "refused <why>" and exits 0,
      or "broken <why>" and exits 1 when the proxy misbehaved (a reset
      or an EOF where an answer was due).

Loopback only: the scenario tests start it.
"""
import os
import socket
import sys
import threading
import time

from nettool import recvn


_out = threading.Lock()


def say(line):
    """One whole line per event, whatever the threads do."""
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def hop(port, gate, maxwait="3"):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(64)

    def one(c):
        try:
            if not c.recv(1, socket.MSG_PEEK):
                c.close()
                return
            ver, n = recvn(c, 2)
            recvn(c, n)
            say("waiting")
            end = time.monotonic() + float(maxwait)
            while not os.path.exists(gate) and time.monotonic() < end:
                time.sleep(0.02)
            c.sendall(bytes([5, 0]))
            v, cmd, rsv, atyp = recvn(c, 4)
            if atyp == 1:
                host = socket.inet_ntop(socket.AF_INET, recvn(c, 4))
            elif atyp == 4:
                host = socket.inet_ntop(socket.AF_INET6, recvn(c, 16))
            else:
                host = recvn(c, recvn(c, 1)[0]).decode()
            port = int.from_bytes(recvn(c, 2), "big")
            try:
                t = socket.create_connection((host, port), timeout=5)
            except OSError:
                c.sendall(bytes([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]))
                c.close()
                return
            c.sendall(bytes([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
            say("connected %s:%d" % (host, port))
            threading.Thread(target=pipe, args=(t, c), daemon=True).start()
            pipe(c, t)
        except (OSError, EOFError, ValueError) as e:
            say("connection failed: %s" % e)
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def dial(pport, host, port, user, pw):
    try:
        s = socket.create_connection(("127.0.0.1", int(pport)), timeout=30)
        if user != "-":
            s.sendall(b"\x05\x01\x02")
        else:
            s.sendall(b"\x05\x01\x00")
        v, m = recvn(s, 2)
        if m == 0xff:
            print("refused no acceptable method")
            return 0
        if m == 2:
            u, p = user.encode(), pw.encode()
            s.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
            if recvn(s, 2)[1] != 0:
                print("refused bad password")
                return 0
        h = host.encode()
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(h)]) + h +
                  int(port).to_bytes(2, "big"))
        rep = recvn(s, 4)
        if rep[1] != 0:
            print("refused reply %d" % rep[1])
            return 0
        alen = {1: 4, 4: 16}.get(rep[3]) or recvn(s, 1)[0]
        recvn(s, alen + 2)
        s.sendall(b"through the slow hop\n")
        if recvn(s, 21) != b"through the slow hop\n":
            print("broken wrong echo")
            return 1
        s.close()
        print("ok")
        return 0
    except (OSError, EOFError) as e:
        print("broken %s" % e)
        return 1


def main():
    if sys.argv[1] == "hop":
        hop(*sys.argv[2:5])
        return 0
    if sys.argv[1] == "dial":
        return dial(*sys.argv[2:7])
    print("usage: slowhop.py hop|dial ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
