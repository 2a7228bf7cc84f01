#!/usr/bin/env python3
"""soak.py: the load tool and the driver of bench/soak.sh.

    soak.py echo PORT...            echo server (one process)
    soak.py client [options]        CONNS relayed connections with churn
    soak.py drive [options]         SIGHUP / SIGKILL schedule, fd and RSS
                                    samples, the report and its verdict

client holds CONNS connections through ostpd, half to a tcp:// forwarder
and half through a SOCKS5 listener.  Each sends a message every few
seconds and checks that the same bytes come back; after a random lifetime
it closes (half of them by shutdown and a wait for the far side's EOF)
and a new connection takes its place.  Every connection that ends
otherwise (EOF, reset, wrong bytes, no answer in time) is a "break",
every connect() that fails is a "connect failure"; both are written to an
events file with the wall-clock time so that drive can match them with
the kills.  Loopback only; every phase is bounded.
"""
import argparse
import asyncio
import gc
import json
import os
import random
import re
import resource
import signal
import socket
import struct
import sys
import time

CONNECT_TIMEOUT = 10.0
ECHO_TIMEOUT = 10.0


def raise_nofile():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ---------------------------------------------------------------- echo

class Echo(asyncio.Protocol):
    def connection_made(self, tr):
        self.tr = tr

    def data_received(self, data):
        self.tr.write(data)

    def pause_writing(self):
        self.tr.pause_reading()

    def resume_writing(self):
        self.tr.resume_reading()

    def eof_received(self):
        return False    # close once what was written is flushed


async def echo_main(a):
    raise_nofile()
    loop = asyncio.get_running_loop()
    for p in a.ports:
        await loop.create_server(Echo, "127.0.0.1", p, backlog=4096,
                                 reuse_address=True)
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), a.max_secs)
    except asyncio.TimeoutError:
        pass


# -------------------------------------------------------------- client

BLOCK = random.randbytes(1 << 20) if hasattr(random, "randbytes") else \
    os.urandom(1 << 20)

# connection states
C_CONN, C_METHOD, C_REPLY, C_RUN, C_HALF, C_DONE = range(6)
PHASE = {C_CONN: "connect", C_METHOD: "socks-method",
         C_REPLY: "socks-reply", C_RUN: "echo", C_HALF: "half-close"}


class Stats:
    def __init__(self):
        self.made = 0           # connections that completed connect()
        self.ready = 0          # ... and the proxy handshake
        self.churn_close = 0    # ended by us with close()
        self.churn_half = 0     # ended by us with shutdown + EOF
        self.broken = 0
        self.cfail = 0
        self.msgs = 0
        self.bytes = 0
        self.big = 0
        self.conn_lat = []      # connect + handshake + first echo, s
        self.rtt = []           # echo round trips, s (sampled)
        self.lag_max = 0.0
        self.lag_events = []    # (t, lag) where the loop was > 0.5 s late
        self.active_min = None  # after ramp-up
        self.active_max = 0


class Conn(asyncio.Protocol):
    def __init__(self, cl, kind, n, t0):
        self.cl = cl
        self.kind = kind
        self.n = n
        self.t0 = t0
        self.state = C_CONN
        self.tr = None
        self.inbuf = b""
        self.expect = None      # memoryview of the message in flight
        self.got = 0
        self.sent_at = 0.0
        self.seq = 0
        self.first = True
        self.life = random.uniform(cl.a.life_min, cl.a.life_max)
        self.timer = None       # echo / handshake / half-close deadline
        self.next = None        # next message

    # -- helpers
    def arm(self, secs, why):
        self.disarm()
        self.timer = self.cl.loop.call_later(secs, self.timeout, why)

    def disarm(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def timeout(self, why):
        self.timer = None
        self.brk("timeout " + why)

    def brk(self, why):
        if self.state == C_DONE:
            return
        phase = PHASE.get(self.state, "?")
        if self.state == C_RUN and self.expect is None:
            phase = "idle"
        self.state = C_DONE
        self.cl.broken(self, phase, why)
        self.stop(True)

    def stop(self, abort=False):
        """Ours to end: a break aborts, a planned end closes."""
        self.state = C_DONE
        self.disarm()
        if self.next is not None:
            self.next.cancel()
            self.next = None
        if self.tr is not None:
            if abort:
                self.tr.abort()
            else:
                self.tr.close()
        self.cl.gone(self)

    # -- asyncio.Protocol
    def connection_made(self, tr):
        self.tr = tr
        if self.cl.stopping:
            self.state = C_DONE
            tr.close()
            return
        self.cl.stats.made += 1
        if self.kind == "socks":
            self.state = C_METHOD
            tr.write(b"\x05\x01\x00")
            self.arm(ECHO_TIMEOUT, "socks")
        else:
            self.start()

    def start(self):
        self.state = C_RUN
        self.cl.stats.ready += 1
        self.send()

    def send(self):
        self.next = None
        if self.state != C_RUN:
            return
        st = self.cl.stats
        if random.random() < self.cl.a.big_frac:
            n = random.randint(64 << 10, 512 << 10)
            st.big += 1
        else:
            n = random.randint(16, 2048)
        off = random.randrange(0, len(BLOCK) - n)
        self.seq += 1
        msg = struct.pack("!IIQ", self.n, self.seq,
                          int(time.time() * 1e6)) + BLOCK[off:off + n]
        self.expect = memoryview(msg)
        self.got = 0
        self.sent_at = time.monotonic()
        self.tr.write(msg)
        self.arm(ECHO_TIMEOUT, "echo")

    def data_received(self, data):
        if self.state in (C_METHOD, C_REPLY):
            self.handshake(data)
        elif self.state == C_RUN:
            self.echoed(data)
        elif self.state == C_HALF:
            self.brk("data after shutdown")

    def handshake(self, data):
        self.inbuf += data
        if self.state == C_METHOD:
            if len(self.inbuf) < 2:
                return
            if self.inbuf[:2] != b"\x05\x00":
                return self.brk("socks method %r" % self.inbuf[:2])
            self.inbuf = self.inbuf[2:]
            self.state = C_REPLY
            self.tr.write(b"\x05\x01\x00\x01" + socket.inet_aton(
                "127.0.0.1") + struct.pack("!H", self.cl.a.socks_target))
        if self.state == C_REPLY and len(self.inbuf) >= 10:
            if self.inbuf[:4] != b"\x05\x00\x00\x01":
                return self.brk("socks reply %r" % self.inbuf[:4])
            rest, self.inbuf = self.inbuf[10:], b""
            if rest:
                return self.brk("bytes after the socks reply")
            self.start()

    def echoed(self, data):
        st = self.cl.stats
        if self.expect is None:
            return self.brk("unasked data")
        n = len(data)
        if self.got + n > len(self.expect) or \
                self.expect[self.got:self.got + n] != data:
            return self.brk("echo mismatch")
        self.got += n
        if self.got < len(self.expect):
            self.arm(ECHO_TIMEOUT, "echo")
            return
        now = time.monotonic()
        st.msgs += 1
        st.bytes += len(self.expect)
        if self.first:
            st.conn_lat.append(now - self.t0)
            self.first = False
        elif random.random() < 0.05:
            st.rtt.append(now - self.sent_at)
        self.expect = None
        self.disarm()
        gap = random.uniform(self.cl.a.gap_min, self.cl.a.gap_max)
        if self.cl.stopping:
            return
        if now - self.t0 + gap >= self.life:
            self.churn()
        else:
            self.next = self.cl.loop.call_later(gap, self.send)

    def churn(self):
        """The planned end: close(), or shutdown and wait for EOF."""
        if random.random() < 0.5:
            self.cl.stats.churn_close += 1
            self.stop()
            return
        self.state = C_HALF
        self.tr.write_eof()
        self.arm(ECHO_TIMEOUT, "half-close")

    def eof_received(self):
        if self.state == C_HALF:
            self.cl.stats.churn_half += 1
            self.stop()
        else:
            self.brk("eof")
        return False

    def connection_lost(self, exc):
        if self.state != C_DONE:
            self.brk("reset" if exc is not None else "closed")


class Client:
    def __init__(self, a):
        self.a = a
        self.loop = asyncio.get_running_loop()
        self.stats = Stats()
        self.conns = set()      # connections, connecting ones too
        self.pending = 0        # connects under way
        self.n = 0
        self.stopping = False
        self.ev = open(a.events, "w")
        self.ready_at = None

    def log(self, rec):
        self.ev.write(json.dumps(rec) + "\n")

    def broken(self, c, phase, why):
        self.stats.broken += 1
        self.log({"t": time.time(), "ev": "break", "kind": c.kind,
                  "phase": phase, "why": why,
                  "age": round(time.monotonic() - c.t0, 3)})

    def gone(self, c):
        if c in self.conns:
            self.conns.discard(c)
            if not self.stopping:
                self.spawn()

    def spawn(self):
        self.n += 1
        kind = "fwd" if self.n % 2 else "socks"
        if self.a.socks is None:
            kind = "fwd"
        self.pending += 1
        self.loop.create_task(self.open_one(kind, self.n))

    async def open_one(self, kind, n):
        port = self.a.fwd if kind == "fwd" else self.a.socks
        if self.stopping:       # spawned just before the wind-down
            self.pending -= 1
            return
        t0 = time.monotonic()
        c = Conn(self, kind, n, t0)
        self.conns.add(c)
        try:
            await asyncio.wait_for(self.loop.create_connection(
                lambda: c, "127.0.0.1", port), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            self.pending -= 1
            self.conns.discard(c)
            if self.stopping:
                return
            self.stats.cfail += 1
            self.log({"t": time.time(), "ev": "cfail", "kind": kind,
                      "why": type(e).__name__ + " " + str(e),
                      "secs": round(time.monotonic() - t0, 3)})
            if not self.stopping:
                # keep the count, but without a busy loop of failures
                self.loop.call_later(0.1, self.spawn)
            return
        self.pending -= 1

    async def lag_watch(self):
        st = self.stats
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.1)
            lag = time.monotonic() - t - 0.1
            st.lag_max = max(st.lag_max, lag)
            if lag > 0.5:
                st.lag_events.append((round(time.time(), 3),
                                      round(lag, 3)))

    async def run(self):
        a, st = self.a, self.stats
        lag = self.loop.create_task(self.lag_watch())
        t_start = time.monotonic()
        self.t_start = time.time()
        deadline = t_start + a.max_secs
        stop = asyncio.Event()
        for s in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(s, stop.set)
        # ramp-up at a.ramp connections a second
        started = 0
        while started < a.conns and not stop.is_set():
            want = min(a.conns, int((time.monotonic() - t_start) *
                                    a.ramp) + 1)
            while started < want:
                self.spawn()
                started += 1
            await asyncio.sleep(0.01)
        # Fewer full collections among the long-lived connections: a
        # collection of them all stalls the loop.
        gc.freeze()
        gc.set_threshold(50000, 50, 50)
        last = 0.0
        while not stop.is_set() and time.monotonic() < deadline:
            active = len(self.conns) - self.pending
            if self.ready_at is None and active >= a.conns * 0.98:
                self.ready_at = time.time()
                with open(a.ready + ".tmp", "w") as f:
                    f.write("%.3f\n" % self.ready_at)
                os.rename(a.ready + ".tmp", a.ready)
            if self.ready_at is not None:
                st.active_max = max(st.active_max, active)
                if st.active_min is None or active < st.active_min:
                    st.active_min = active
            now = time.monotonic()
            if now - last >= 10:
                last = now
                print("soak client: %d active, %d made, %d broken, %d "
                      "connect failures, loop lag max %.3f s" %
                      (active, st.made, st.broken, st.cfail, st.lag_max),
                      flush=True)
                self.ev.flush()
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        # wind down: our own closes, not breaks
        self.stopping = True
        for c in list(self.conns):
            c.state = C_DONE
            c.disarm()
            if c.next is not None:
                c.next.cancel()
            if c.tr is not None:
                c.tr.close()
        end = time.monotonic() + 10
        while self.pending > 0 and time.monotonic() < end:
            await asyncio.sleep(0.1)
        lag.cancel()
        self.ev.close()
        return self.summary()

    def summary(self):
        st = self.stats

        def q(v, p):
            if not v:
                return None
            v = sorted(v)
            return round(v[min(len(v) - 1, int(p * len(v)))], 4)
        return {
            "made": st.made, "ready": st.ready,
            "churn_close": st.churn_close, "churn_half": st.churn_half,
            "broken": st.broken, "cfail": st.cfail, "msgs": st.msgs,
            "bytes": st.bytes, "big": st.big,
            "conn_lat_p50": q(st.conn_lat, .5),
            "conn_lat_p99": q(st.conn_lat, .99),
            "conn_lat_max": q(st.conn_lat, 1),
            "conn_lat_over_1s": sum(1 for x in st.conn_lat if x > 1),
            "rtt_p50": q(st.rtt, .5), "rtt_p99": q(st.rtt, .99),
            "rtt_max": q(st.rtt, 1),
            "lag_max": round(st.lag_max, 3), "lag_events": st.lag_events,
            "ready_at": self.ready_at,
            "cpu_secs": round(sum(resource.getrusage(
                resource.RUSAGE_SELF)[:2]), 1),
            "wall_secs": round(time.time() - self.t_start, 1),
            "active_min": st.active_min, "active_max": st.active_max,
        }


async def client_main(a):
    lim = raise_nofile()
    if lim < a.conns + 1000:
        sys.exit("soak.py: RLIMIT_NOFILE %d is too low for %d connections"
                 % (lim, a.conns))
    s = await Client(a).run()
    with open(a.summary, "w") as f:
        json.dump(s, f)


# --------------------------------------------------------------- drive

def proc_children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == ppid:
            out.append(int(d))
    return sorted(out)


def proc_usage(pid):
    """{fds, sockets, pipes, rss (KiB)} of a process, or None if gone."""
    d = "/proc/%d/fd" % pid
    try:
        names = os.listdir(d)
        u = {"fds": 0, "sockets": 0, "pipes": 0}
        for n in names:
            # one closed since the listing is not counted at all
            try:
                t = os.readlink(d + "/" + n)
            except OSError:
                continue
            u["fds"] += 1
            if t.startswith("socket:"):
                u["sockets"] += 1
            elif t.startswith("pipe:"):
                u["pipes"] += 1
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    u["rss"] = int(line.split()[1])
                    return u
    except OSError:
        return None
    return None


RE_WORKER = re.compile(r"worker (\d+) generation (\d+)( \(draining\))?: "
                       r"pid (-?\d+), (\w+)")
RE_STATS = re.compile(r"worker (\d+) \(pid (\d+), generation (\d+)\): "
                      r"(\d+) active connections, (\d+) accepted")


class Driver:
    def __init__(self, a):
        self.a = a
        self.logpos = os.path.getsize(a.log)
        self.samples = []       # dicts
        self.kills = []
        self.hups = []
        if not a.report_only:
            self.out = open(os.path.join(a.out, "drive.log"), "w")

    def note(self, msg):
        line = "%.3f %s" % (time.time(), msg)
        self.out.write(line + "\n")
        self.out.flush()
        if self.a.verbose:
            print("soak: " + msg, flush=True)

    def read_log(self):
        with open(self.a.log, errors="replace") as f:
            f.seek(self.logpos)
            text = f.read()
        # only whole lines
        cut = text.rfind("\n") + 1
        self.logpos += len(text[:cut].encode("utf-8", "replace"))
        return text[:cut]

    def dump(self):
        """SIGUSR1: {pid: {id, gen, draining, state, active}}."""
        self.read_log()
        os.kill(self.a.monitor, signal.SIGUSR1)
        workers, seen, text = {}, set(), ""
        end = time.monotonic() + 3
        while time.monotonic() < end:
            time.sleep(0.05)
            text += self.read_log()
            for m in RE_WORKER.finditer(text):
                pid = int(m.group(4))
                if pid > 0:
                    workers.setdefault(pid, {
                        "id": int(m.group(1)), "gen": int(m.group(2)),
                        "draining": m.group(3) is not None,
                        "state": m.group(5), "active": None})
            for m in RE_STATS.finditer(text):
                pid = int(m.group(2))
                if pid in workers:
                    workers[pid]["active"] = int(m.group(4))
                    workers[pid]["accepted"] = int(m.group(5))
                    seen.add(pid)
            if workers and seen >= set(workers):
                break
        return workers

    def sample(self, label):
        t = time.time()
        ws = self.dump()
        rec = {"t": t, "label": label, "procs": []}
        u = proc_usage(self.a.monitor)
        if u:
            u.update({"role": "monitor", "pid": self.a.monitor})
            rec["procs"].append(u)
        for pid in proc_children(self.a.monitor):
            u = proc_usage(pid)
            if u is None:
                continue
            w = ws.get(pid, {})
            u.update({
                "role": "worker", "pid": pid, "id": w.get("id"),
                "gen": w.get("gen"), "draining": w.get("draining"),
                "active": w.get("active")})
            rec["procs"].append(u)
        self.samples.append(rec)
        self.note("sample %s %s" % (label, json.dumps(rec["procs"])))
        self.note("at %.3f" % t)
        return rec

    def kill_one(self, k):
        ws = self.dump()
        cur = [(pid, w) for pid, w in ws.items() if not w["draining"] and
               w["state"] == "running" and w["active"] is not None]
        if not cur:
            self.note("kill %d: no running worker" % k)
            return
        gen = max(w["gen"] for _, w in cur)
        cur = sorted([c for c in cur if c[1]["gen"] == gen],
                     key=lambda c: c[1]["id"])
        pid, w = cur[k % len(cur)]
        t = time.time()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            self.note("kill %d: pid %d gone" % (k, pid))
            return
        rec = {"t": t, "pid": pid, "id": w["id"], "gen": w["gen"],
               "active": w["active"]}
        self.kills.append(rec)
        self.note("kill %s" % json.dumps(rec))

    def run(self):
        a = self.a
        end = time.monotonic() + a.ready_timeout
        while not os.path.exists(a.ready):
            if time.monotonic() > end:
                print("soak: FAIL the client did not reach %d connections "
                      "in %d s" % (a.conns, a.ready_timeout))
                return 1
            if not alive(a.client) or not alive(a.monitor):
                print("soak: FAIL the client or ostpd died during ramp-up")
                return 1
            time.sleep(0.2)
        time.sleep(a.settle)
        t0 = time.monotonic()
        self.t0 = time.time()
        self.sample("start")
        off = min(a.hup or a.kill, a.kill or a.hup) / 2
        nexthup = a.hup if a.hup else None
        nextkill = a.kill - off if a.kill else None
        nextsample = a.every
        nkill = 0
        while True:
            el = time.monotonic() - t0
            if el >= a.secs:
                break
            if not alive(a.monitor):
                print("soak: FAIL ostpd's monitor died")
                break
            if nexthup is not None and el >= nexthup:
                self.hups.append(time.time())
                os.kill(a.monitor, signal.SIGHUP)
                self.note("SIGHUP")
                nexthup += a.hup
                continue
            if nextkill is not None and el >= nextkill:
                self.kill_one(nkill)
                nkill += 1
                nextkill += a.kill
                continue
            if el >= nextsample:
                self.sample("run")
                nextsample += a.every
                continue
            time.sleep(0.2)
        self.sample("end")
        # the client closes its connections and writes its summary
        if alive(a.client):
            os.kill(a.client, signal.SIGTERM)
        end = time.monotonic() + 60
        while alive(a.client) and time.monotonic() < end:
            time.sleep(0.2)
        # idle: every connection gone, one generation left
        end = time.monotonic() + 45
        while time.monotonic() < end:
            ws = self.dump()
            if ws and all(w["active"] == 0 for w in ws.values()) and \
                    len({w["gen"] for w in ws.values()}) == 1 and \
                    len(proc_children(a.monitor)) == len(ws):
                break
            time.sleep(1)
        self.sample("idle")
        return report(self)


def reload_run(d):
    """The driver's record from its drive.log: to report again."""
    with open(os.path.join(d.a.out, "drive.log")) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        p = line.split(" ", 2)
        if p[1] == "sample":
            label, js = p[2].split(" ", 1)
            d.samples.append({"t": float(p[0]), "label": label,
                              "procs": json.loads(js)})
        elif p[1] == "kill" and p[2].startswith("{"):
            d.kills.append(json.loads(p[2]))
        elif p[1] == "SIGHUP":
            d.hups.append(float(p[0]))
    d.t0 = next(x["t"] for x in d.samples if x["label"] == "start")
    return report(d)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def fmt_kb(kb):
    return "%.1f MiB" % (kb / 1024.0)


def report(d):
    a = d.a
    res = []

    def verdict(ok, what):
        res.append(ok)
        print("%s %s" % ("PASS" if ok else "FAIL", what))

    try:
        with open(a.summary) as f:
            s = json.load(f)
    except (OSError, ValueError):
        print("FAIL no client summary (%s)" % a.summary)
        return 1
    events = []
    with open(a.events) as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    breaks = [e for e in events if e["ev"] == "break"]
    cfails = [e for e in events if e["ev"] == "cfail"]
    win = a.window
    inwin = {i: [] for i in range(len(d.kills))}
    late = {i: [] for i in range(len(d.kills))}
    other = []
    for e in breaks:
        for i, k in enumerate(d.kills):
            if k["t"] - 0.05 <= e["t"] <= k["t"] + win:
                inwin[i].append(e)
                break
            if k["t"] + win < e["t"] <= k["t"] + a.late:
                late[i].append(e)
                break
        else:
            other.append(e)
    nlate = sum(len(v) for v in late.values())

    print()
    print("soak: %d connections (half SOCKS5) for %d s after ramp-up, "
          "%d workers, SIGHUP every %s s, SIGKILL every %s s" %
          (a.conns, a.secs, a.workers, a.hup or "-", a.kill or "-"))
    print("connections made          %d (%d completed the handshake)" %
          (s["made"], s["ready"]))
    print("active after ramp-up      min %s max %s" %
          (s["active_min"], s["active_max"]))
    print("closed by churn           %d (%d close, %d shutdown + EOF)" %
          (s["churn_close"] + s["churn_half"], s["churn_close"],
           s["churn_half"]))
    print("echoes checked            %d (%.1f MB, %d of 64-512 KiB)" %
          (s["msgs"], s["bytes"] / 1e6, s["big"]))
    print("connect+handshake+echo    p50 %s s, p99 %s s, max %s s, "
          "%d over 1 s" % (s["conn_lat_p50"], s["conn_lat_p99"],
                           s["conn_lat_max"], s["conn_lat_over_1s"]))
    print("echo round trip           p50 %s s, p99 %s s, max %s s" %
          (s["rtt_p50"], s["rtt_p99"], s["rtt_max"]))
    print("client loop lag           max %s s (%d spells over 0.5 s); "
          "client CPU %.0f%% of one core" %
          (s["lag_max"], len(s["lag_events"]),
           100.0 * s.get("cpu_secs", 0) / max(1, s.get("wall_secs", 1))))
    print("SIGHUPs sent              %d" % len(d.hups))
    print("kills                     %d" % len(d.kills))
    tot_active = tot_win = 0
    for i, k in enumerate(d.kills):
        why = {}
        for e in inwin[i]:
            why[e["why"]] = why.get(e["why"], 0) + 1
        print("  kill %d at +%.0f s: worker %d gen %d pid %d, %d active; "
              "%d broken within %g s %s, %d in the %g s after" %
              (i + 1, k["t"] - d.t0, k["id"], k["gen"], k["pid"],
               k["active"], len(inwin[i]), win, json.dumps(why),
               len(late[i]), a.late - win))
        tot_active += k["active"]
        tot_win += len(inwin[i])
    print("broken within %g s of a kill  %d (the killed workers had %d "
          "active)" % (win, tot_win, tot_active))
    print("broken %g-%g s after a kill %d (noticed late: the client's "
          "loop lagged)" % (win, a.late, nlate))
    print("broken at other times     %d" % len(other))
    for e in other[:20]:
        print("  %s" % json.dumps(e))
    print("connect failures          %d" % len(cfails))
    for e in cfails[:20]:
        print("  %s" % json.dumps(e))

    # the fd / RSS table
    print()
    print("%-8s %-22s %7s %7s %7s %6s %6s %10s" %
          ("sample", "process", "active", "fds", "sockets", "pipes",
           "other", "RSS"))

    def row(label, name, act, p):
        print("%-8s %-22s %7s %7s %7s %6s %6s %10s" %
              (label, name, act, p["fds"], p["sockets"], p["pipes"],
               p["fds"] - p["sockets"] - p["pipes"], fmt_kb(p["rss"])))
    bylabel = {}
    for smp in d.samples:
        bylabel.setdefault(smp["label"], smp)
    for label in ("start", "end", "idle"):
        smp = bylabel.get(label)
        if smp is None:
            continue
        for p in smp["procs"]:
            if p["role"] == "monitor":
                row(label, "monitor", "-", p)
            else:
                row(label, "worker %s gen %s%s" % (
                    p["id"], p["gen"], " (drain)" if p["draining"] else
                    ""), p["active"] if p["active"] is not None else "?", p)
    mon = [p for smp in d.samples for p in smp["procs"]
           if p["role"] == "monitor"]
    wk = [p for smp in d.samples for p in smp["procs"]
          if p["role"] == "worker"]

    def peak(name, ps, act):
        m = {k: max(p[k] for p in ps) for k in ("fds", "sockets", "pipes",
                                                 "rss")}
        m["other"] = max(p["fds"] - p["sockets"] - p["pipes"] for p in ps)
        print("%-8s %-22s %7s %7s %7s %6s %6s %10s" %
              ("peak", name, act, m["fds"], m["sockets"], m["pipes"],
               m["other"], fmt_kb(m["rss"])))
    if mon:
        peak("monitor", mon, "-")
    if wk:
        peak("any worker", wk, max((p["active"] or 0) for p in wk))
    print("samples: %d, every %d s (peaks are per column); sockets: 2 per "
          "active connection, plus listeners and the monitor channel" %
          (len(d.samples), a.every))

    # the monitor's log over the whole run
    with open(a.log, errors="replace") as f:
        text = f.read()
    count = {k: len(re.findall(p, text)) for k, p in {
        "reloaded": r"configuration reloaded \(generation",
        "reload failed": r"reload failed",
        "killed by 9": r"killed by signal 9; restarting",
        "other deaths": r"worker \d+ \(generation \d+\) (exited with|"
                        r"killed by signal (?!9;))",
        "drain cut": r"drain time is over",
        "killing": r"killing worker",
        "accept errors": r": accept: ",
        "fatal": r"fatal|out of memory",
    }.items()}
    print("monitor log: %s" % json.dumps(count))

    print()
    verdict(len(cfails) == 0, "connect failures: %d (the listeners always "
            "accepted)" % len(cfails))
    verdict(len(other) == 0, "connections broken outside the %g s after a "
            "kill: %d" % (a.late, len(other)))
    slack = max(20, tot_active // 50)
    verdict(len(d.kills) == 0 or tot_win + nlate <= tot_active + slack,
            "broken after kills (%d) <= the killed workers' active "
            "connections (%d) + %d" % (tot_win + nlate, tot_active, slack))
    if d.kills:
        verdict(tot_win > 0, "the kills cut connections (the attribution "
                "works): %d" % tot_win)
    verdict(count["killed by 9"] == len(d.kills) and count["other deaths"]
            == 0 and count["killing"] == 0 and count["drain cut"] == 0 and
            count["fatal"] == 0, "no worker died but the %d killed; no "
            "drain cut" % len(d.kills))
    verdict(count["reloaded"] == len(d.hups) and count["reload failed"] ==
            0, "%d of %d reloads took effect" % (count["reloaded"],
                                                 len(d.hups)))
    verdict(count["accept errors"] == 0, "accept errors in the log: %d" %
            count["accept errors"])
    st, en, idle = (next((p for p in bylabel.get(lb, {"procs": []})
                          ["procs"] if p["role"] == "monitor"), None)
                    for lb in ("start", "end", "idle"))
    if st and en and idle:
        verdict(en["fds"] <= st["fds"] and idle["fds"] <= st["fds"],
                "monitor fds start %d, end %d, idle %d" %
                (st["fds"], en["fds"], idle["fds"]))
        verdict(max(en["rss"], idle["rss"]) - st["rss"] <= a.rss_slack,
                "monitor RSS start %s, end %s, idle %s (allowed growth "
                "%s)" % (fmt_kb(st["rss"]), fmt_kb(en["rss"]),
                         fmt_kb(idle["rss"]), fmt_kb(a.rss_slack)))
    else:
        verdict(False, "monitor samples missing")
    if wk:
        np = max(p["fds"] - p["sockets"] for p in wk)
        verdict(np <= a.fd_slack, "worker descriptors other than sockets "
                "(pipes in flight or pooled, event loop): at most %d "
                "(allowed %d)" % (np, a.fd_slack))
        iw = [p for p in bylabel.get("idle", {"procs": []})["procs"]
              if p["role"] == "worker"]
        verdict(bool(iw) and all(p["active"] == 0 and p["sockets"] <= 8
                                 for p in iw),
                "idle workers: %s" % ", ".join(
                    "%d fds (%d sockets) %s" % (p["fds"], p["sockets"],
                                                fmt_kb(p["rss"]))
                    for p in iw))
    ok = all(res)
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    e.add_argument("ports", type=int, nargs="+")
    e.add_argument("--max-secs", type=float, default=3600)
    c = sub.add_parser("client")
    c.add_argument("--fwd", type=int, required=True)
    c.add_argument("--socks", type=int)
    c.add_argument("--socks-target", type=int)
    c.add_argument("--conns", type=int, default=10000)
    c.add_argument("--ramp", type=float, default=1000)
    c.add_argument("--life-min", type=float, default=5)
    c.add_argument("--life-max", type=float, default=25)
    c.add_argument("--gap-min", type=float, default=1)
    c.add_argument("--gap-max", type=float, default=5)
    c.add_argument("--big-frac", type=float, default=0.01)
    c.add_argument("--max-secs", type=float, default=3600)
    c.add_argument("--events", required=True)
    c.add_argument("--summary", required=True)
    c.add_argument("--ready", required=True)
    d = sub.add_parser("drive")
    for k in ("monitor", "client", "conns", "secs", "hup", "kill",
              "workers"):
        d.add_argument("--" + k, type=int, required=True)
    d.add_argument("--log", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--events", required=True)
    d.add_argument("--summary", required=True)
    d.add_argument("--ready", required=True)
    d.add_argument("--ready-timeout", type=int, default=120)
    d.add_argument("--settle", type=float, default=3)
    d.add_argument("--every", type=int, default=5)
    d.add_argument("--window", type=float, default=3)
    d.add_argument("--late", type=float, default=10)
    d.add_argument("--fd-slack", type=int, default=320)
    d.add_argument("--rss-slack", type=int, default=1024)   # KiB
    d.add_argument("-v", "--verbose", action="store_true")
    d.add_argument("--report-only", action="store_true",
                   help="report again from the files of a finished run")
    a = ap.parse_args()
    if a.cmd == "echo":
        asyncio.run(echo_main(a))
    elif a.cmd == "client":
        asyncio.run(client_main(a))
    elif a.report_only:
        sys.exit(reload_run(Driver(a)))
    else:
        sys.exit(Driver(a).run())


if __name__ == "__main__":
    main()
