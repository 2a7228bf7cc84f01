#!/usr/bin/env python3
"""memscan.py PID STRING: print how many times STRING occurs in the
readable private memory of process PID (root only: reads /proc/PID/mem).
memscan.py PID --hex HEX...: one count per needle, given in hex (binary
secrets: key primes, scalars), on one line.
Used to prove that a secret of the monitor never reaches a worker."""
import re
import sys


def scan(pid, needles):
    found = [0] * len(needles)
    keep = max(len(n) for n in needles) - 1
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
                for i, needle in enumerate(needles):
                    # a match lying wholly in the kept tail was counted
                    # with the chunk before
                    found[i] += buf.count(needle) - tail.count(needle)
                tail = buf[-keep:] if keep > 0 else b""
    return found


def main():
    pid = sys.argv[1]
    if sys.argv[2] == "--hex":
        needles = [bytes.fromhex(h) for h in sys.argv[3:]]
        print(" ".join(str(n) for n in scan(pid, needles)))
    else:
        print(scan(pid, [sys.argv[2].encode()])[0])


main()
