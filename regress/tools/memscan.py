#!/usr/bin/env python3
"""memscan.py PID STRING: print how many times STRING occurs in the
readable private memory of process PID (root only: reads /proc/PID/mem).
Used to prove that a secret of the monitor never reaches a worker."""
import re
import sys


def main():
    pid, needle = sys.argv[1], sys.argv[2].encode()
    found = 0
    with open(f"/proc/{pid}/maps") as maps, \
            open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            lo, hi, perms = int(m[1], 16), int(m[2], 16), m[3]
            if perms[0] != "r" or "[vvar]" in line or "[vsyscall]" in line:
                continue
            # Sanitizer builds reserve terabytes of shadow memory: it
            # holds shadow bytes, never the program's data.
            if hi - lo > 1 << 32:
                continue
            tail = b""
            off = lo
            while off < hi:
                n = min(1 << 20, hi - off)
                try:
                    mem.seek(off)
                    data = mem.read(n)
                except OSError:
                    data = b""
                off += n
                if not data:
                    tail = b""
                    continue
                buf = tail + data
                found += buf.count(needle)
                # too short to hold a match: none is counted twice
                tail = buf[-(len(needle) - 1):]
    print(found)


main()
