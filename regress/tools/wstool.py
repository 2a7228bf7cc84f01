"""WebSocket peers from python3-websockets for the ws transport tests.

  wstool.py echo URL COUNT SIZE      a client: COUNT binary messages of
                                     SIZE random bytes echoed back
  wstool.py bridge PORT PATH HOST P  a server on PORT/PATH bridging each
                                     WebSocket to TCP HOST:P (wstunnel)
  wstool.py bad PORT PATH KIND       raw bytes that break the protocol
                                     after an upgrade; the server must
                                     close the connection
"""
import asyncio
import base64
import os
import socket
import sys

import websockets


async def echo(url, count, size):
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        for i in range(count):
            data = os.urandom(size)
            await ws.send(data)
            got = b""
            while len(got) < len(data):
                m = await ws.recv()
                got += m
            if got != data:
                sys.exit("message %d: echo differs" % i)
    print("%d messages of %d bytes echoed" % (count, size))


async def bridge(port, path, host, tport):
    async def one(ws, rpath=None):
        rpath = rpath if rpath is not None else ws.path
        if rpath != path:
            await ws.close(1008)
            return
        reader, writer = await asyncio.open_connection(host, tport)

        async def up():
            try:
                async for m in ws:
                    writer.write(m)
                    await writer.drain()
            finally:
                writer.write_eof()

        async def down():
            while True:
                d = await reader.read(65536)
                if not d:
                    break
                await ws.send(d)
            await ws.close()

        await asyncio.gather(up(), down(), return_exceptions=True)
        writer.close()

    async with websockets.serve(one, "127.0.0.1", port, max_size=None,
                                compression=None):
        await asyncio.Future()


def bad(port, path, kind):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(4096)
        if not d:
            sys.exit("closed during the upgrade")
        head += d
    if not head.startswith(b"HTTP/1.1 101"):
        if kind == "path" and head.startswith(b"HTTP/1.1 404"):
            print("404 for a wrong path")
            return
        sys.exit("no 101: %r" % head[:40])
    if kind == "path":
        sys.exit("a wrong path was upgraded")
    frames = {
        "rsv": b"\xc2\x80" + b"\0\0\0\0",              # RSV1 set
        "unmasked": b"\x82\x05hello",                   # client must mask
        "bigping": b"\x89\xfe\x00\x80" + b"\0" * 4 + b"x" * 128,
        "garbage": b"\x8f\x84" + os.urandom(8),      # opcode 0xF
    }
    s.sendall(frames[kind])
    s.settimeout(10)
    got = b""
    while True:
        try:
            d = s.recv(4096)
        except ConnectionResetError:
            break
        except socket.timeout:
            sys.exit("%s: the connection stayed open" % kind)
        if not d:
            break
        got += d
    if got and got[0] & 0x0f != 0x8:
        sys.exit("answered with something else than a close: %r" % got[:8])
    print("%s: closed" % kind)


cmd = sys.argv[1]
if cmd == "echo":
    asyncio.run(echo(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
elif cmd == "bridge":
    asyncio.run(bridge(int(sys.argv[2]), sys.argv[3], sys.argv[4],
                       int(sys.argv[5])))
else:
    bad(int(sys.argv[2]), sys.argv[3], sys.argv[4])
