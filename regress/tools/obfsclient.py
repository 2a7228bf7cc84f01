"""gost v2's ohttp and otls clients as spec 2.7 and 2.8 describe them,
written apart from ostpd's codecs: a SOCKS5 CONNECT to an echo server
through an ostpd socks5+ohttp / socks5+otls listener, then bytes both
ways.  Also the refusals: a non-GET to ohttp gets 503, a non-handshake
record to otls a close.

usage: obfsclient.py ohttp|otls|ohttp-bad|otls-bad PORT ECHOPORT"""
import base64
import hashlib
import os
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def recvn(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += d
    return b


def socks5_req(port):
    return (b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
            struct.pack(">H", port))


def ohttp(port, eport):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16))
    head = (b"GET / HTTP/1.1\r\nHost: example.com\r\n"
            b"User-Agent: Chrome/78.0.3904.106\r\nConnection: Upgrade\r\n"
            b"Sec-Websocket-Key: " + key + b"\r\nUpgrade: websocket\r\n\r\n")
    s.sendall(head + socks5_req(eport))
    resp = b""
    while b"\r\n\r\n" not in resp:
        resp += s.recv(4096)
    hd, rest = resp.split(b"\r\n\r\n", 1)
    lines = hd.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 101 Switching Protocols", lines[0]
    want = base64.b64encode(hashlib.sha1(key + GUID).digest())
    assert b"Sec-WebSocket-Accept: " + want in lines, hd
    assert b"Server: nginx/1.10.0" in lines, hd
    rest += recvn(s, 2 + 10 - len(rest)) if len(rest) < 12 else b""
    assert rest[:2] == b"\x05\x00" and rest[3] == 0, rest
    data = os.urandom(100000)
    s.sendall(data)
    got = recvn(s, len(data))
    assert got == data, "echo differs"
    print("ohttp ok")


def client_hello(payload):
    sid = os.urandom(32)
    suites = bytes.fromhex("c02cc030009fcca9cca8ccaac02bc02f009ec024c028006b"
                           "c023c0270067c00ac0140039c009c0130033009d009c003d"
                           "003c0035002f00ff")
    host = b"example.com"
    ext = struct.pack(">HH", 0x23, len(payload)) + payload
    sni = struct.pack(">HBH", len(host) + 3, 0, len(host)) + host
    ext += struct.pack(">HH", 0, len(sni)) + sni
    ext += bytes.fromhex("000b000403010002")
    ext += bytes.fromhex("000a000a0008001d001700190018")
    ext += bytes.fromhex("000d0020001e06010602060305010502050304010402"
                         "040303010302030302010202020300")[:4 + 0x20]
    ext += bytes.fromhex("00160000") + bytes.fromhex("00170000")
    body = (b"\x03\x03" + struct.pack(">I", int(time.time())) + os.urandom(28) +
            b"\x20" + sid + struct.pack(">H", len(suites)) + suites +
            b"\x01\x00" + struct.pack(">H", len(ext)) + ext)
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs, sid


def record(s):
    h = recvn(s, 5)
    n = struct.unpack(">H", h[3:5])[0]
    return h, recvn(s, n)


def otls(port, eport):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    hello, sid = client_hello(socks5_req(eport))
    s.sendall(hello)
    h, b = record(s)
    assert h[:3] == b"\x16\x03\x01" and len(b) == 91, (h, len(b))
    assert b[0] == 2 and b[38] == 32 and b[39:71] == sid, "ServerHello does not echo the id"
    h, b = record(s)
    assert h == b"\x14\x03\x03\x00\x01" and b == b"\x01", (h, b)
    got = b""
    first = True
    while len(got) < 12:
        h, b = record(s)
        assert h[:3] == (b"\x16\x03\x03" if first else b"\x17\x03\x03"), h
        first = False
        got += b
    assert got[:2] == b"\x05\x00" and got[2:4] == b"\x05\x00", got
    data = os.urandom(100000)
    for i in range(0, len(data), 16384):
        c = data[i:i + 16384]
        s.sendall(b"\x17\x03\x03" + struct.pack(">H", len(c)) + c)
    echo = got[12:]
    while len(echo) < len(data):
        h, b = record(s)
        assert h[:3] == b"\x17\x03\x03" and len(b) <= 16384, h
        echo += b
    assert echo == data, "echo differs"
    print("otls ok")


def ohttp_bad(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        resp += d
    assert resp.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), resp
    print("ohttp refusal ok")


def otls_bad(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x17\x03\x03\x00\x05hello")
    assert s.recv(4096) == b"", "otls answered garbage"
    print("otls refusal ok")


mode, port = sys.argv[1], int(sys.argv[2])
if mode == "ohttp":
    ohttp(port, int(sys.argv[3]))
elif mode == "otls":
    otls(port, int(sys.argv[3]))
elif mode == "ohttp-bad":
    ohttp_bad(port)
else:
    otls_bad(port)
