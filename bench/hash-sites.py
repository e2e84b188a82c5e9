#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the call sites of a function in a module as kprobe targets.

Usage: hash-sites.py MODULE.ko [FUNCTION]   (default __siphash_unaligned)

Reads `objdump -dr MODULE.ko` and prints one SYMBOL+0xOFFSET per call of
FUNCTION (a relocation against it right after a call instruction), for
bench/guest-bench.sh to put kprobes on: lib/siphash.c is notrace in Debian's
kernel, so the calls are counted where tophash makes them.
"""
import re
import subprocess
import sys


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ko = sys.argv[1]
    fn = sys.argv[2] if len(sys.argv) > 2 else "__siphash_unaligned"
    out = subprocess.run(["objdump", "-dr", ko], check=True,
                         capture_output=True, text=True).stdout
    func, base, insn, sites = None, 0, None, []
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if m:
            base, func, insn = int(m.group(1), 16), m.group(2), None
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*(\S+)", line)
        if m and not re.search(r"R_X86_64", line):
            insn = (int(m.group(1), 16), m.group(2))
            continue
        m = re.search(r"R_X86_64_\w+\s+(\S+?)(?:[-+]0x[0-9a-f]+)?$", line)
        if m and m.group(1) == fn and func and insn and \
                insn[1].startswith("call"):
            sites.append(f"{func}+0x{insn[0] - base:x}")
    print(" ".join(sites))
    return 0 if sites else 1


if __name__ == "__main__":
    sys.exit(main())
