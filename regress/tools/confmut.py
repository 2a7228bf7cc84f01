#!/usr/bin/python3
"""Configuration files with one value changed to the wrong kind: every
object, array and scalar of a few rich files (native, gost, OSTP 0.4
server and client) in turn becomes a number, a string, an array, an
object, null or true.  ostpd -t must accept or refuse each with a
clear line, and never die of a signal.  Prints one line per bad
outcome and "N variants" at the end; exit 1 when any was bad."""
import copy, json, os, subprocess, sys, tempfile

ostpd, tmp = sys.argv[1], sys.argv[2]
KEY = "alice-0123456789abcdef"
FILES = {
    "native": {
        "log": {"level": "info"},
        "metrics": "127.0.0.1:9100",
        "inbounds": [
            "socks5://127.0.0.1:2000",
            {"tag": "fwd", "url": "tcp://127.0.0.1:2001/127.0.0.1:80"},
            {"type": "local_proxy", "tag": "lp", "listen": "127.0.0.1:1080"},
            {"type": "tun", "tag": "cap", "name": "ostpm0",
             "net": "10.215.0.1/24", "mtu": 1500,
             "routes": ["10.214.0.0/24"], "dns": "10.215.0.2",
             "fake_ip": "198.18.0.0/15", "auto_route": True, "mark": 7,
             "exclude": ["10.1.0.0/16"], "sniff": True},
            {"type": "ostp", "tag": "srv", "listen": "127.0.0.1:50000",
             "access_keys": [KEY, {"access_key": "k2x", "name": "x",
                                   "limit_bytes": 1000}],
             "mtu": 1350, "max_sessions": 10, "local_access": False},
        ],
        "outbounds": [
            {"type": "direct", "tag": "direct"},
            {"type": "block", "tag": "block"},
            {"type": "ostp", "tag": "tunnel", "server": "127.0.0.1:50000",
             "access_key": KEY, "mtu": 1200,
             "transport": {"mode": "uot", "junk_pc": [2, 5],
                           "tcp_fragmentation": True}},
            {"type": "ostp", "tag": "tunnel2", "server": "127.0.0.1:50000",
             "access_key": KEY,
             "transport": {"mode": "udp", "ttl_desync": True,
                           "ttl_desync_count": 2}},
            {"type": "ostp", "tag": "tunnel3", "server": "127.0.0.1:50000",
             "access_key": KEY,
             "transport": {"mode": "uot", "tls": True, "tls_sni": "a.b",
                           "ws_path": "/w"},
             "mux": {"enabled": True, "sessions": 2}},
            {"type": "ostp", "tag": "tunnel4", "server": "127.0.0.1:50000",
             "access_key": KEY, "stun": "127.0.0.1:3478",
             "turn": {"server": "127.0.0.1:3479", "username": "u",
                      "password": "p"}},
            {"tag": "chain", "type": "chain",
             "hops": ["socks5://127.0.0.1:1", "ss://aes-256-gcm:p@127.0.0.1:2"]},
        ],
        "routing": {"rules": [
            {"ip_cidr": ["10.0.0.0/8"], "port": [80, "8000-8010"],
             "outbound": "block"},
            {"inbound": ["fwd"], "domain_suffix": ["example.com"],
             "domain": ["a.example"], "outbound": "direct"}],
            "default_outbound": "direct"},
        "mux": {"enabled": False, "sessions": 4},
    },
    "gost": {
        "Debug": True, "Retries": 2, "Mark": 5, "Interface": "lo",
        "ServeNodes": ["socks5://127.0.0.1:2002", "http://127.0.0.1:2003"],
        "ChainNodes": ["socks5://127.0.0.1:1"],
        "Routes": [{"Retries": 1, "ServeNodes": ["tcp://127.0.0.1:2004/127.0.0.1:80"],
                    "ChainNodes": ["relay://127.0.0.1:3"], "Mark": 1}],
    },
    "srv04": {
        "mode": "server", "listen": ["127.0.0.1:50002", "127.0.0.1:50003"],
        "access_keys": [KEY, {"access_key": "bob-0123456789", "name": "bob",
                              "limit_bytes": 5}],
        "debug": False, "domain": "vpn.example.org",
        "api": {"enabled": False}, "tls": {"enabled": False},
        "fallback": {"target": "127.0.0.1:80", "listen": "127.0.0.1:50004"},
        "transport": {"mode": "udp"}, "local_access": True,
    },
    "cli04": {
        "mode": "client", "server": "127.0.0.1:50000", "access_key": KEY,
        "mtu": 1140, "socks5_bind": "127.0.0.1:1088",
        "tun": {"enable": False, "dns": "1.1.1.1"}, "debug": True,
        "exclude": {"domains": [".lan"], "ips": ["10.0.0.0/8"],
                    "processes": []},
        "mux": {"enabled": True, "sessions": 2},
        "transport": {"mode": "udp", "tcp_fragmentation": False,
                      "junk_pc": [2, 5]},
    },
}
WRONG = [7, "x", [], {}, None, True, [{}], {"k": 1}]


def paths(v, p=()):
    yield p
    if isinstance(v, dict):
        for k in v:
            yield from paths(v[k], p + (k,))
    elif isinstance(v, list):
        for i, e in enumerate(v):
            yield from paths(e, p + (i,))


def put(v, p, w):
    v = copy.deepcopy(v)
    if not p:
        return w
    t = v
    for k in p[:-1]:
        t = t[k]
    t[p[-1]] = w
    return v


bad = n = 0
f = os.path.join(tmp, "mut.json")
for name, doc in FILES.items():
    for p in paths(doc):
        for w in WRONG:
            with open(f, "w") as o:
                json.dump(put(doc, p, w), o)
            r = subprocess.run([ostpd, "-t", "-C", f], capture_output=True,
                               text=True, timeout=20)
            n += 1
            err = r.stderr.strip().splitlines()
            why = None
            if r.returncode < 0 or r.returncode >= 128:
                why = "died (%d)" % r.returncode
            elif "Sanitizer" in r.stderr or "runtime error" in r.stderr:
                why = "sanitizer report"
            elif r.returncode != 0 and not err:
                why = "refused without a reason"
            elif r.returncode != 0 and len(err) > 2:
                why = "refused with %d lines" % len(err)
            if why:
                bad += 1
                print("%s %s = %s: %s %s" % (name, "/".join(map(str, p)),
                      json.dumps(w), why, " | ".join(err[:3])))
print("%d variants" % n)
sys.exit(1 if bad else 0)
