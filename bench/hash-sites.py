#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the call sites of the siphash functions in a module as kprobe targets.

Usage: hash-sites.py MODULE.ko [FUNCTION...]

Reads `objdump -dr MODULE.ko` and prints, space-separated, one
FUNCTION@SYMBOL+0xOFFSET per call of a FUNCTION (a relocation against it in
a call, or a jmp for a tail call): FUNCTION is the callee, SYMBOL+0xOFFSET
the kprobe target for guest/bench.sh (BENCH_HASH_SITES). lib/siphash.c
is notrace in Debian's kernel, so the calls are counted where the module
makes them. Without FUNCTIONs: every siphash entry point of
<linux/siphash.h> the module calls (siphash() is an inline that calls
__siphash_unaligned or __siphash_aligned; siphash_1u64() and the other
fixed-size forms are functions of their own; hsiphash alike). A summary,
sites per function, goes to stderr.

Fails (status 1) when there is no call site, or when the module refers to
one of those functions other than by a call (its address taken): calls
through a pointer have no call site to count, so counts would be short.
"""
import re
import subprocess
import sys

# The out-of-line functions of include/linux/siphash.h.
SIPHASH_FNS = re.compile(r"^(__h?siphash_(un)?aligned|h?siphash_[1-4]u(32|64))$")


def sites_of(ko, wanted):
    """[(function, 'SYMBOL+0xOFFSET')] of the calls, [str] of the problems."""
    out = subprocess.run(["objdump", "-dr", ko], check=True,
                         capture_output=True, text=True).stdout
    func, base, insn = None, 0, None
    sites, problems = [], []
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if m:
            base, func, insn = int(m.group(1), 16), m.group(2), None
            continue
        # relocation: "\t\t\tOFFSET: R_X86_64_TYPE\tSYMBOL[+-0xADDEND]"
        m = re.match(r"^\s+([0-9a-f]+): (R_X86_64_\w+)\s+(\S+?)"
                     r"(?:[-+]0x[0-9a-f]+)?$", line)
        if m:
            fn = m.group(3)
            if not wanted(fn):
                continue
            where = f"{func}+0x{int(m.group(1), 16) - base:x}"
            if func and insn and insn[1] in ("call", "jmp") and \
                    insn[0] < int(m.group(1), 16) < insn[0] + 16:
                sites.append((fn, f"{func}+0x{insn[0] - base:x}"))
            else:
                problems.append(f"{fn} referenced at {where} "
                                f"({insn[1] if insn else 'no instruction'}), "
                                f"not called: calls through it cannot be "
                                f"counted")
            continue
        # instruction: "  ADDR:\tBYTES\tMNEMONIC OPERANDS"; a continuation
        # line of a long instruction has no mnemonic
        parts = line.split("\t")
        m = re.match(r"^\s+([0-9a-f]+):$", parts[0])
        if m and len(parts) >= 3 and parts[2].strip():
            toks = [t for t in parts[2].split()
                    if t not in ("cs", "ds", "notrack", "bnd")]
            mn = toks[0] if toks else ""
            insn = (int(m.group(1), 16),
                    {"callq": "call", "jmpq": "jmp"}.get(mn, mn))
    return sites, problems


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ko = sys.argv[1]
    names = set(sys.argv[2:])
    sites, problems = sites_of(
        ko, (lambda f: f in names) if names else SIPHASH_FNS.match)
    per = {}
    for fn, _ in sites:
        per[fn] = per.get(fn, 0) + 1
    print(f"hash-sites: {ko}: {len(sites)} call sites: " +
          (", ".join(f"{fn} {n}" for fn, n in sorted(per.items())) or
           "none"), file=sys.stderr)
    for p in problems:
        print(f"hash-sites: {ko}: {p}", file=sys.stderr)
    if not sites or problems:
        return 1
    print(" ".join(f"{fn}@{site}" for fn, site in sites))
    return 0


if __name__ == "__main__":
    sys.exit(main())
