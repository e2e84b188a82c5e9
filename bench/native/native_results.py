# SPDX-License-Identifier: GPL-2.0
"""The native section of bench/RESULTS.md, from bench/native/run.sh's output.

Used by bench/mkresults.py (--native). Reads the "native:" lines the three
drivers print (one per workload per run), the "native-env:" lines run.sh
adds (machine, versions, commands), the "native-ir:" lines (callgrind
instruction counts of every phase function, and of the calls each makes into
its map) and the "native-code:" lines (tophash_lookup_rcu() in tophash.ko
and in the native object), and returns the section as Markdown text. The
"native-tp:" and "native-tp-ir:" lines (times and counts of tophash with its
tracepoints compiled in but off vs compiled out) make a section of their own.

Medians are over the runs; ratios are medians of per-run ratios (the three
implementations ran back to back in each run, so noise that hits one
tends to hit the others), as speed ratios: peer ns/op / tophash ns/op, so
above 1 tophash is faster. A checksum that differs between the
implementations for the same workload is an error (NativeError), not a
timing: the drivers did not do the same work.
"""
import os
import statistics
import sys

# "a=1 b=2" lines are parsed as bench/mkresults.py parses the guest's
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mkresults import parse_kv, ratio_cell  # noqa: E402

IMPLS = ("tophash", "go", "abseil")
IMPL_LABEL = {"tophash": "tophash", "go": "Go 1.19 map", "abseil": "abseil"}
SIZE_LABEL = {1024: "1k", 131072: "128k", 4194304: "4M"}
# (tophash workload, peers' workload, label)
ROWS = [
    ("insert", "insert", "insert (from empty, growth included)"),
    ("lookup_hit", "lookup_hit",
     "lookup, hit: `tophash_lookup()` (one `rcu_read_lock()` per lookup)"),
    ("lookup_hit_rcu64", "lookup_hit",
     "lookup, hit: `tophash_lookup_rcu()`, 64 per `rcu_read_lock()` "
     "(peers: their plain lookup)"),
    ("lookup_miss", "lookup_miss", "lookup, miss: `tophash_lookup()`"),
    ("lookup_miss_rcu64", "lookup_miss",
     "lookup, miss: `tophash_lookup_rcu()`, 64 per `rcu_read_lock()` "
     "(peers: their plain lookup)"),
    ("lookup_hit_batch64", "lookup_hit",
     "lookup, hit: `tophash_lookup_batch_rcu()`, 64 keys per call (a batch "
     "API the peers lack: they run their plain lookup; not a target row)"),
    ("lookup_miss_batch64", "lookup_miss",
     "lookup, miss: `tophash_lookup_batch_rcu()`, 64 keys per call (not a "
     "target row)"),
    ("lookup_hit_dep", "lookup_hit_dep",
     "lookup, hit, dependent chain (diagnostic: each key depends on the "
     "previous value, so lookups cannot overlap)"),
    ("delete", "delete", "delete (all keys)"),
    ("churn", "churn", "churn 50/50 insert/delete at n/2 entries"),
]
# Workloads whose checksums must agree between implementations.
CHECKED = ("insert", "lookup_hit", "lookup_miss", "lookup_hit_dep", "delete",
           "churn")
TARGET_SIZES = (131072, 4194304)
# Issue 10's targets: (workload, size, peer, minimum speed ratio)
SPEED_TARGETS = [
    ("lookup_hit", 131072, "go", 1.5),
    ("lookup_hit", 4194304, "go", 1.0),
    ("lookup_miss", 131072, "go", 1.5),
    ("lookup_miss", 4194304, "go", 1.5),
    ("insert", 131072, "go", 1.2),
    ("insert", 4194304, "go", 1.2),
    ("delete", 131072, "go", 1.0),
    ("delete", 4194304, "go", 1.0),
    ("lookup_hit", 131072, "abseil", 0.5),
]
# Callgrind rows: (phase function, label), and the map entry point whose
# calls from it are counted per implementation.
IR_ROWS = [
    ("inserts", "insert (from empty, growth included)"),
    ("lookups_hit", "lookup, hit"),
    ("lookups_miss", "lookup, miss"),
    ("lookups_dep", "lookup, hit, dependent chain"),
    ("deletes", "delete (all keys)"),
    ("churn", "churn 50/50 insert/delete at n/2 entries"),
    ("lookups_rcu_hit", "lookup, hit: `tophash_lookup_rcu()` 64 per section"),
    ("lookups_rcu_miss", "lookup, miss: `tophash_lookup_rcu()` 64 per section"),
    ("lookups_batch_hit", "lookup, hit: `tophash_lookup_batch_rcu()`"),
    ("lookups_batch_miss", "lookup, miss: `tophash_lookup_batch_rcu()`"),
]
ENTRY = {"tophash": {"lookups_hit": "tophash_lookup_rcu",
                     "lookups_miss": "tophash_lookup_rcu",
                     "inserts": "tophash_update", "deletes": "tophash_delete"},
         "go": {"lookups_hit": "runtime.mapaccess2_fast64",
                "lookups_miss": "runtime.mapaccess2_fast64",
                "inserts": "runtime.mapassign_fast64",
                "deletes": "runtime.mapdelete_fast64"}}


class NativeError(Exception):
    pass


def parse(path):
    nsop = {}    # (impl, n, workload) -> {run: ns/op}
    ops = {}     # (impl, n, workload) -> ops of one measurement
    checks = {}  # (impl, n, workload) -> {check}
    env = {}
    ir = []      # dicts
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("native-env: "):
                k, _, v = line[len("native-env: "):].partition("=")
                env[k] = v
            elif line.startswith("native-ir: "):
                ir.append(parse_kv(line[len("native-ir: "):]))
            elif line.startswith("native-code: "):
                d = parse_kv(line[len("native-code: "):])
                env["code_" + d["obj"]] = d
            elif line.startswith("native: "):
                d = parse_kv(line[len("native: "):])
                key = (d["impl"], int(d["n"]), d["workload"])
                nsop.setdefault(key, {})[d["run"]] = float(d["nsop"])
                ops[key] = int(d["ops"])
                checks.setdefault(key, set()).add(d["check"])
    return nsop, ops, checks, env, ir


def verify(checks, sizes):
    """Every implementation did the same work: equal checksums."""
    bad = []
    for n in sizes:
        for w in CHECKED:
            seen = {impl: checks.get((impl, n, w)) for impl in IMPLS}
            vals = set()
            for impl, v in seen.items():
                if v is None:
                    continue
                if len(v) != 1:
                    bad.append(f"n={n} {w}: {impl} differs between runs {sorted(v)}")
                vals |= v
            if len(vals) > 1:
                bad.append(f"n={n} {w}: checksums differ: " +
                           ", ".join(f"{i}={sorted(v)}" for i, v in seen.items() if v))
        for w, peer in (("lookup_hit_rcu64", "lookup_hit"),
                        ("lookup_miss_rcu64", "lookup_miss"),
                        ("lookup_hit_batch64", "lookup_hit"),
                        ("lookup_miss_batch64", "lookup_miss")):
            a, b = checks.get(("tophash", n, w)), checks.get(("tophash", n, peer))
            if a and b and a != b:
                bad.append(f"n={n} {w}: checksum {sorted(a)} != {peer}'s {sorted(b)}")
    if bad:
        raise NativeError("the implementations did not do the same work:\n  " +
                          "\n  ".join(bad))


def _med(d):
    return statistics.median(d.values()) if d else None


def _ratios(th, peer):
    """Per-run speed ratios peer/tophash over the runs both have."""
    return [peer[r] / th[r] for r in th if r in peer and th[r] > 0]


def _ns(d):
    if not d:
        return "-"
    v = sorted(d.values())
    m = statistics.median(v)
    if len(v) == 1:
        return f"{m:.1f}"
    return f"{m:.1f} ({v[0]:.1f}-{v[-1]:.1f})"


def _size(n):
    return SIZE_LABEL.get(n, f"{n:,}")


def section(path, command):
    nsop, ops, checks, env, ir = parse(path)
    sizes = sorted({k[1] for k in nsop})
    verify(checks, sizes)
    nruns = len({r for v in nsop.values() for r in v})
    o = []
    o.append("# Natively on the host: tophash (userspace build) vs Go 1.19 map "
             "vs abseil flat_hash_map")
    o.append("")
    o.append("Generated by `bench/mkresults.py --native` from a "
             "`make bench-native` run (`bench/native/run.sh`). Do not edit: "
             "rerun `make bench-native` (or `make bench`, which ends with it).")
    o.append("")
    o.append("## Machine and run")
    o.append("")
    o.append("| | |")
    o.append("|---|---|")
    o.append(f"| CPU | {env.get('cpu', '?')}, {env.get('nproc', '?')} CPUs "
             f"(`nproc`), hypervisor: {env.get('hypervisor') or 'none'}; "
             f"{env.get('caches', '?')} |")
    o.append(f"| memory, kernel | {env.get('mem', '?')}, Linux "
             f"{env.get('kernel', '?')}; transparent huge pages "
             f"`{env.get('thp', '?')}` |")
    o.append(f"| hardware counters | {env.get('perf_counters', '?')} "
             f"(`perf stat -e instructions true`); instruction counts below "
             f"are from callgrind |")
    o.append(f"| compilers, libraries | {env.get('gcc', '?')}; "
             f"{env.get('gxx', '?')}; {env.get('go', '?')}; "
             f"{env.get('absl', '?')}; {env.get('urcu', '?')}; "
             f"{env.get('glibc', '?')} |")
    o.append(f"| tophash build | `{env.get('build_tophash', '?')}` |")
    o.append(f"| Go build | `{env.get('build_go', '?')}` (a plain `go build`; "
             f"runtime defaults, GOGC=100) |")
    o.append(f"| abseil build | `{env.get('build_abseil', '?')}` |")
    o.append(f"| command | `{command}` |")
    o.append(f"| runs | {env.get('runs', nruns)} interleaved runs: "
             f"`{env.get('run_command', '?')}`; at least "
             f"{int(env.get('target', '0')):,} operations per measurement; "
             f"malloc huge pages (`glibc.malloc.hugetlb=1`) for tophash and "
             f"abseil: {'yes' if env.get('glibc_thp') == '1' else 'no'} |")
    o.append(f"| runtime | {env.get('elapsed', '?')} s (builds, runs, "
             f"callgrind) |")
    o.append("")

    o.append("## How to read this")
    o.append("")
    o.append(
        "Three drivers, one per implementation (`bench/native/`: "
        "`tophash_native.c`, `go_native.go`, `absl_native.cc`), run the same "
        "plan on the same keys (`bench/native/keys.h`): 8-byte keys "
        "`splitmix64` of the index, 8-byte values; hits are keys 0..n-1, "
        "misses keys n..2n-1 of the same stream (disjoint). For n entries "
        "and at least T operations per measurement, max(1, T/n) fresh maps "
        "(no size hint): insert the n keys, look every hit up, every miss, "
        "every hit again as a dependent chain, delete every key, each phase "
        "timed; ns/op is the phase time over the operations. Churn: a map "
        "holding n/2 keys, then T/2 pairs (insert the next key of a ring of "
        "2n, delete the oldest), 2 operations per pair. Each driver checks "
        "its results and prints a checksum; the three must agree (they do in "
        "this run, or this file would not have been written). Each run "
        "executes, for each n, the three drivers back to back in an order "
        "that rotates from run to run. Cells are the median ns/op over the "
        "runs (with the range); ratios are the median of per-run speed "
        "ratios, the peer's ns/op over tophash's (with the range): above 1 "
        "tophash is faster.")
    o.append("")
    o.append(
        "The tophash driver includes `kmod/tophash_core.c` unchanged, built "
        "against `selftests/core/shim` with `-DTH_SHIM_BENCH`: libc's "
        "`memcpy`/`memcmp`/`memset` (the test builds use word-wise atomic "
        "copies for ThreadSanitizer), no test hooks or jitter, tracepoints "
        "compiled in but off (as a booted kernel has them: jump labels, see "
        "the tracepoint section below), no lockdep bookkeeping, bucket "
        "arrays of 2 MiB and more on transparent huge pages (a 2 MiB-aligned "
        "mapping with `MADV_HUGEPAGE`), as a 6.1 x86-64 kernel's "
        "`kvzalloc()` maps them (vmalloc with `VM_ALLOW_HUGE_VMAP`). What a "
        "kernel pays, the shim pays as the kernel does: the map's default "
        "hash (the keyed multiply-mix) and its fixed-size path for 8-byte "
        "keys and values; the writer mutex as the kernel's fast path, one "
        "cmpxchg to lock and one to unlock; `rcu_read_lock()` and "
        "`rcu_read_unlock()` as Debian's 6.1 kernel runs them "
        "(`CONFIG_PREEMPT_RCU`): an out-of-line call that counts the "
        "thread's nesting, and on unlock a check of a per-thread word, "
        "about 10 instructions a section, where liburcu's memb flavour "
        "(which the tests use) costs 23 and its qsbr flavour nothing. The "
        "grace periods come from liburcu's qsbr flavour (the one reader "
        "thread is the writer, which qsbr takes offline while it waits), and "
        "RCU-deferred frees run on the writer's thread after a grace period "
        "every 64 callbacks, inside timed phases when growth queues them (a "
        "map destroyed between repetitions is flushed untimed). Go: "
        "`map[uint64]uint64` (the runtime's `_fast64` paths, AES-NI hash), "
        "garbage collection running when the runtime decides, timed phases "
        "included; Go's heap asks for transparent huge pages itself, glibc's "
        "malloc does not unless told. abseil: `flat_hash_map<uint64_t, "
        "uint64_t>` with `absl::Hash`, `m[k] = v`, `find`, `erase`. Inserts "
        "are upserts in all three (`TOPHASH_ANY`, like Go's `m[k] = v`).")
    o.append("")
    ko, nat = env.get("code_ko"), env.get("code_native")
    if ko and nat:
        same = ko.get("constants") == nat.get("constants")
        o.append(
            "**Is the native build the code the kernel runs?** `run.sh` "
            "disassembles `tophash_lookup_rcu()` in the `tophash.ko` that "
            "`make bench` loads and in the native driver: "
            f"{ko['insns']} vs {nat['insns']} instructions, "
            f"{ko['prefetch']} vs {nat['prefetch']} prefetches, "
            f"{ko['mul']} vs {nat['mul']} multiplies, and "
            f"{'the same' if same else '**different**'} 64-bit constants "
            f"(`{ko.get('constants', '')}`"
            + ("" if same else f" vs `{nat.get('constants', '')}`") +
            "). The kernel's differs by its function-entry hooks "
            "(`__fentry__`, a return thunk), the shim's by how it spins on "
            "an odd sequence count; the search itself is the same code. "
            "`make check` fails when either has no prefetch "
            "(`selftests/core/check-prefetch.sh`).")
        o.append("")

    results = []   # (n, workload, peer, median speed ratio)
    for n in sizes:
        o.append(f"## n = {n:,} ({_size(n)}) entries")
        o.append("")
        o.append("| workload | ops | tophash ns/op | Go ns/op | abseil ns/op "
                 "| tophash vs Go | tophash vs abseil |")
        o.append("|---|---:|---:|---:|---:|---:|---:|")
        for tw, pw, label in ROWS:
            th = nsop.get(("tophash", n, tw), {})
            go = nsop.get(("go", n, pw), {})
            ab = nsop.get(("abseil", n, pw), {})
            if not (th or go or ab):
                continue
            nops = ops.get(("tophash", n, tw)) or ops.get(("go", n, pw)) or 0
            gcell, gr = ratio_cell(_ratios(th, go))
            acell, ar = ratio_cell(_ratios(th, ab))
            o.append(f"| {label} | {nops:,} | {_ns(th)} | {_ns(go)} | "
                     f"{_ns(ab)} | {gcell} | {acell} |")
            for peer, r in (("Go", gr), ("abseil", ar)):
                if r is not None:
                    results.append((n, tw, peer, r))
        o.append("")

    o.append("## Ratios at a glance (speed ratio, above 1 tophash is faster)")
    o.append("")
    hdr = "| workload |"
    sep = "|---|"
    for peer in ("Go", "abseil"):
        for n in sizes:
            hdr += f" vs {peer} {_size(n)} |"
            sep += "---:|"
    o.append(hdr)
    o.append(sep)
    for tw, pw, label in ROWS:
        row = f"| {tw} |"
        any_ = False
        for peer in ("go", "abseil"):
            for n in sizes:
                rs = _ratios(nsop.get(("tophash", n, tw), {}),
                             nsop.get((peer, n, pw), {}))
                if rs:
                    any_ = True
                    row += f" {statistics.median(rs):.2f} |"
                else:
                    row += " - |"
        if any_:
            o.append(row)
    o.append("")

    o.append("## Do lookups overlap? (dependent-chain time / independent time)")
    o.append("")
    o.append("The same hits timed twice: independently (the CPU may start the "
             "next lookup's memory accesses while one waits for a cache "
             "miss) and as a dependent chain (it cannot). The quotient is how "
             "much the independent loop gained from overlapping lookups: "
             "about 1 means each lookup paid its full memory latency alone.")
    o.append("")
    o.append("| n | tophash | Go | abseil |")
    o.append("|---|---:|---:|---:|")
    for n in sizes:
        row = f"| {_size(n)} |"
        for impl in IMPLS:
            dep = nsop.get((impl, n, "lookup_hit_dep"), {})
            ind = nsop.get((impl, n, "lookup_hit"), {})
            qs = [dep[r] / ind[r] for r in dep if r in ind and ind[r] > 0]
            row += f" {statistics.median(qs):.2f} |" if qs else " - |"
        o.append(row)
    o.append("")

    o.extend(ir_section(ir))

    o.extend(tp_section(path, env))

    o.append("## Targets (natively)")
    o.append("")
    o.append("Issue 10's targets, as speed ratios (the median per-run ratio, "
             "peer's ns/op over tophash's) and instruction counts. The lookup "
             "rows are `tophash_lookup()`, one `rcu_read_lock()` per lookup, "
             "against the peers' plain lookup; the `tophash_lookup_rcu()` "
             "rows (64 lookups per section) are beside them for reference.")
    o.append("")
    o.append("| target | n | measured | | with `tophash_lookup_rcu()`, 64 per section |")
    o.append("|---|---|---:|---|---:|")
    for tw, n, peer, lim in SPEED_TARGETS:
        if n not in sizes:
            continue
        pw = tw
        rs = _ratios(nsop.get(("tophash", n, tw), {}), nsop.get((peer, n, pw), {}))
        alt = ""
        if tw.startswith("lookup"):
            ra = _ratios(nsop.get(("tophash", n, tw + "_rcu64"), {}),
                         nsop.get((peer, n, pw), {}))
            alt = f"{statistics.median(ra):.2f}x" if ra else "-"
        what = f"{tw} >= {lim:g}x {IMPL_LABEL[peer]}"
        if not rs:
            o.append(f"| {what} | {_size(n)} | - | not measured | {alt} |")
            continue
        m = statistics.median(rs)
        o.append(f"| {what} | {_size(n)} | {m:.2f}x | "
                 f"{'met' if m >= lim else '**missed**'} | {alt} |")
    o.extend(ir_target(ir))
    o.append("")
    # The batch API is reported beside the targets, never as meeting one.
    bl = []
    for n in TARGET_SIZES:
        for tw, pw, what in (("lookup_hit_batch64", "lookup_hit", "hits"),
                             ("lookup_miss_batch64", "lookup_miss", "misses")):
            th = nsop.get(("tophash", n, tw), {})
            cells = []
            for peer in ("go", "abseil"):
                rs = _ratios(th, nsop.get((peer, n, pw), {}))
                if rs:
                    cells.append(f"{statistics.median(rs):.2f}x {peer}")
            if cells:
                bl.append(f"{_size(n)} {what} " + ", ".join(cells))
    if bl:
        o.append("Not a target (the peers have no batch call, and a caller "
                 "needs its keys in hand to use it): with "
                 "`tophash_lookup_batch_rcu()`, 64 keys per call, which hashes "
                 "8 keys and prefetches their buckets before it searches them, "
                 "so their cache misses overlap: " + "; ".join(bl) + ".")
        o.append("")
    wins = [(n, lbl, peer, r) for n, lbl, peer, r in results if r >= 1.0]
    losses = [(n, lbl, peer, r) for n, lbl, peer, r in results if r < 1.0]
    o.append(f"tophash is slower in {len(losses)} of the {len(results)} "
             f"(size, workload, peer) comparisons above (median speed ratio "
             f"below 1).")
    o.append("")
    if wins:
        o.append("Where tophash is faster:")
        o.append("")
        for n, lbl, peer, r in wins:
            o.append(f"- {_size(n)}, {lbl}: {r:.2f}x {peer}")
        o.append("")
    o += drain_lines(path)
    return "\n".join(o).rstrip() + "\n"


def drain_lines(path):
    """The native-drain: lines (each driver's -D) as a table."""
    rows = []
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("native-drain: "):
                rows.append(parse_kv(line[len("native-drain: "):].rstrip("\n")))
    if not rows:
        return []
    fresh = {d["impl"]: float(d["bytes_per_entry"]) for d in rows
             if d["map"] == "fresh"}
    base = {d["impl"]: int(d["delete_ns"]) for d in rows if d["map"] == "noshrink"}

    def total(d):
        return int(d["delete_ns"]) + int(d.get("settle_ns", 0))
    base_total = {d["impl"]: total(d) for d in rows if d["map"] == "noshrink"}
    o = ["## Memory after a 90% drain (issue 12)", "",
         f"Each driver's `-D` (n = {rows[0]['n']}): the keys go in, 9 in 10 "
         "go out again in key order (timed), then the map's bytes: tophash's "
         "own count (after the finisher's steps and a grace period), Go's "
         "`HeapAlloc` difference after a GC, abseil's `capacity()` x (slot + "
         "control byte). Neither Go's map nor abseil's flat_hash_map shrinks on "
         "erase. `fresh` is a new map holding the kept keys only. A "
         "shrinking tophash's deletes do no evacuation (its inserts and "
         "background finisher do): `settle` is the time the finisher's steps "
         "then took, here run back to back; the last column counts it "
         "against the drain.", "",
         "| impl | map | live | bytes per live entry | vs its fresh map | "
         "delete rate vs no shrink | settle ms | deletes + settle vs no shrink |",
         "|---|---|---:|---:|---:|---:|---:|---:|"]
    for d in rows:
        bpe = float(d["bytes_per_entry"])
        vs = f"{bpe / fresh[d['impl']]:.2f}x" if d["impl"] in fresh else "-"
        rate = both = "-"
        if d["map"] not in ("fresh",) and d["impl"] in base:
            rate = f"{base[d['impl']] / max(int(d['delete_ns']), 1):.2f}x"
            both = f"{base_total[d['impl']] / max(total(d), 1):.2f}x"
        settle = f"{int(d['settle_ns']) / 1e6:.1f}" if "settle_ns" in d else "-"
        o.append(f"| {d['impl']} | {d['map']} | {int(d['live']):,} | "
                 f"{bpe:.2f} | {vs} | {rate} | {settle} | {both} |")
    o.append("")
    return o


# ---- instructions per operation (run.sh's "native-ir" lines) ----

def _ir_tables(ir):
    """{(impl, n, fn): (ir, ops)} and {(impl, n, fn): (callee, ir, calls)}."""
    fns, calls = {}, {}
    for d in ir:
        key = (d["impl"], int(d["n"]), d["fn"])
        if d.get("kind", "fn") == "fn":
            ops = int(d.get("ops", d.get("lookups", 0)))
            fns[key] = (int(d["ir"]), ops)
        elif ENTRY.get(d["impl"], {}).get(d["fn"]) == d.get("callee"):
            calls[key] = (d["callee"], int(d["ir"]), int(d["calls"]))
    return fns, calls


def ir_section(ir):
    fns, calls = _ir_tables(ir)
    if not fns:
        return []
    o = []
    o.append("## Instructions per operation (callgrind)")
    o.append("")
    o.append(
        "No hardware counters here, so the counts come from callgrind (an "
        "instruction count, not a timing: noise cannot move it): each driver "
        "once per size below, one map (`-t n`), every phase function's "
        "inclusive instructions over the operations it did (the loop, the "
        "key stream and the map's calls together). Go runs under callgrind "
        "with `GOGC=off GODEBUG=cpu.rdtscp=off,asyncpreemptoff=1`: no "
        "collection and no preemption signal inside the counted phases (the "
        "timed runs above keep the runtime's defaults). The \"map's own "
        "call\" columns count only the calls into the map from that phase "
        "(callgrind's call tree: `tophash_lookup_rcu()`, `tophash_update()`, "
        "`tophash_delete()`; Go's `runtime.mapaccess2_fast64`, "
        "`mapassign_fast64`, `mapdelete_fast64`); abseil inlines its map, "
        "so it has none. tophash's lookup phases call `tophash_lookup()`, "
        "inlined here: its `rcu_read_lock()`/`rcu_read_unlock()` (the model "
        "of Debian's, about 8 instructions) are in the phase's count, not "
        "in the call's.")
    o.append("")
    for n in sorted({k[1] for k in fns}):
        o.append(f"At n = {n:,} ({_size(n)}):")
        o.append("")
        o.append("| workload | tophash | Go | abseil | tophash's own call | "
                 "Go's own call |")
        o.append("|---|---:|---:|---:|---:|---:|")
        for fn, label in IR_ROWS:
            cells = []
            for impl in IMPLS:
                v = fns.get((impl, n, fn))
                cells.append(f"{v[0] / v[1]:,.1f}" if v and v[1] else "-")
            if all(c == "-" for c in cells):
                continue
            for impl in ("tophash", "go"):
                c = calls.get((impl, n, fn))
                cells.append(f"{c[1] / c[2]:,.1f}" if c and c[2] else "-")
            o.append(f"| {label} | " + " | ".join(cells) + " |")
        o.append("")
    return o


def ir_target(ir):
    """The instruction target: tophash's lookup call per hit against Go's
    map access per hit, at the first size counted."""
    fns, calls = _ir_tables(ir)
    ns = sorted({k[1] for k in calls})
    if not ns:
        return ["| instructions per lookup hit <= Go's map access | - | "
                "not counted (no callgrind in this run) | | |"]
    n = 131072 if 131072 in ns else ns[0]
    th, go = calls.get(("tophash", n, "lookups_hit")), calls.get(("go", n, "lookups_hit"))
    if not th or not go:
        return [f"| instructions per lookup hit <= Go's map access | {_size(n)} "
                "| missing | | |"]
    a, b = th[1] / th[2], go[1] / go[2]
    lf = fns.get(("tophash", n, "lookups_hit"))
    gf = fns.get(("go", n, "lookups_hit"))
    loop = (f"whole loops: tophash {lf[0] / lf[1]:.0f}, Go {gf[0] / gf[1]:.0f}"
            if lf and gf else "")
    return [f"| instructions per lookup hit <= Go's map access "
            f"(`tophash_lookup_rcu()` vs `mapaccess2_fast64`) | {_size(n)} | "
            f"{a:.1f} vs {b:.1f} | {'met' if a <= b else '**missed**'} | "
            f"{loop} |"]


# ---- tracepoints compiled in but off vs compiled out (run.sh's "native-tp") ----

# (callgrind phase function, timed workloads, label)
TP_ROWS = [
    ("inserts", ("insert",), "insert (from empty, growth included)"),
    ("deletes", ("delete",), "delete (all keys)"),
    ("churn", ("churn",), "churn 50/50 insert/delete at n/2 entries"),
    (("lookups_hit", "lookups_miss"), ("lookup_hit", "lookup_miss"),
     "lookup, hits + misses (control: fires no tracepoint)"),
]
TP_TARGET = 2.0   # percent: compiled in but off vs compiled out


def parse_tp(path):
    """run.sh's tracepoint-cost lines: times per pair and callgrind counts."""
    ns = {}      # (build, n, workload) -> {pair: ns}
    checks = {}  # (n, workload, pair) -> {build: check}
    ir = {}      # (build, n, fn) -> (ir, ops)
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("native-tp: "):
                d = parse_kv(line[len("native-tp: "):])
                key = (d["build"], int(d["n"]), d["workload"])
                ns.setdefault(key, {})[d["run"]] = float(d["ns"])
                checks.setdefault((int(d["n"]), d["workload"], d["run"]),
                                  {})[d["build"]] = d["check"]
            elif line.startswith("native-tp-ir: "):
                d = parse_kv(line[len("native-tp-ir: "):])
                ir[(d["build"], int(d["n"]), d["fn"])] = (int(d["ir"]),
                                                          int(d["ops"]))
    bad = [f"n={n} {w} pair {r}: {c}" for (n, w, r), c in sorted(checks.items())
           if len(set(c.values())) != 1]
    if bad:
        raise NativeError("the off and compiled-out builds did not do the same "
                          "work:\n  " + "\n  ".join(bad))
    return ns, ir


def _tp_ir(ir, build, n, fns):
    """(instructions, operations) of a phase function, or of several
    summed (the hits and the misses of the lookup row)."""
    if isinstance(fns, str):
        fns = (fns,)
    got = [ir.get((build, n, fn)) for fn in fns]
    if not all(got):
        return None
    return (sum(g[0] for g in got), sum(g[1] for g in got))


def _tp_ratios(ns, n, workloads):
    """Per-pair time ratios off / compiled out, workloads' times summed."""
    off = [ns.get(("off", n, w), {}) for w in workloads]
    out = [ns.get(("notrace", n, w), {}) for w in workloads]
    pairs = set.intersection(*(set(d) for d in off + out)) if off else set()
    return [sum(d[p] for d in off) / sum(d[p] for d in out)
            for p in pairs if sum(d[p] for d in out) > 0]


def _tp_rcell(rs):
    if not rs:
        return "-"
    m = statistics.median(rs)
    return f"{m:.3f} ({min(rs):.3f}-{max(rs):.3f})"


def tp_section(path, env):
    ns, ir = parse_tp(path)
    if not ns and not ir:
        return []
    sizes = sorted({k[1] for k in ns} | {k[1] for k in ir})
    o = []
    o.append("## Tracepoints compiled in but off vs compiled out (natively)")
    o.append("")
    o.append(
        "Issue 4's target: the tracepoints, compiled in but disabled, cost at "
        f"most {TP_TARGET:g}% against the same code with them compiled out. "
        "Two builds of the tophash driver from the same sources, userspace, "
        "gcc -O2 (the tophash build line above): **off** (`-DTH_SHIM_BENCH`), "
        "each `trace_<event>()` guarded as x86 guards a disabled kernel "
        "tracepoint, modelled with `asm goto`: the site is a 5-byte NOP "
        "(`0f 1f 44 00 00`) that nothing patches, the event's call sits out "
        "of line at the jump target, and the compiler still computes what "
        "the arguments need and it cannot sink there "
        f"({env.get('tp_sites', '?')} sites in the binary); **compiled out** "
        "(`-DNOTRACE` too, as kmod/'s `-DNOTRACE` build for `make bench`): "
        "every `trace_<event>()` empty and `trace_<event>_enabled()` false, "
        "as `include/linux/tracepoint.h` makes them, so the compiler drops "
        "what only the events used. `.text` bytes: "
        f"{env.get('tp_text', '?')}. Sources: {env.get('tp_core', '?')} "
        "(the working tree as built).")
    o.append("")
    o.append(
        "Instructions per operation are callgrind's counts (deterministic: "
        "noise cannot move them): each build once per size on the same keys "
        "and hash seed (`-t 1 -c -s 1`: n inserts into an empty map, growth "
        "included, n hits and n misses, n deletes, n/2 churn pairs), the inclusive "
        "instructions of each phase's loop function over its operations. "
        "Times: the two builds alternated in pairs (off first in odd pairs), "
        "each pair on the same keys and hash seed, "
        f"`{env.get('tp_run_command', '?')}`; the ratio is off's time over "
        "compiled out's, per pair, median (range): above 1, off is slower. "
        "Lookups fire no tracepoint: that row is the control; its "
        "instructions should not differ and its time ratio shows the noise.")
    o.append("")
    o.append(
        "Not measured here: the kernel's own compiler flags (`-mno-red-zone`, "
        "`-fno-strict-aliasing`, return thunks, `-fno-PIE` and the rest) and "
        "objtool's jump-label rewrite (Debian's kernel assembles a `jmp` and "
        "objtool turns it into a 2- or 5-byte NOP); what the event does when "
        "enabled; the guest under QEMU TCG (the in-guest section's "
        "\"Tracepoint cost\" measures that, where the control moves by tens "
        "of percent).")
    o.append("")
    o.append("| n | workload | instructions/op, off | instructions/op, "
             "compiled out | off vs compiled out (instructions) | "
             "time ratio off / compiled out | pairs |")
    o.append("|---|---|---:|---:|---:|---:|---:|")
    worst = None   # (pct, n, label, ratios)
    counted = []
    for n in sizes:
        for fn, workloads, label in TP_ROWS:
            a, b = _tp_ir(ir, "off", n, fn), _tp_ir(ir, "notrace", n, fn)
            rs = _tp_ratios(ns, n, workloads)
            if not (a and b) and not rs:
                continue
            if a and b:
                ia, ib = a[0] / a[1], b[0] / b[1]
                pct = (a[0] - b[0]) / b[0] * 100
                cells = f"{ia:,.1f} | {ib:,.1f} | **{pct:+.2f}%**"
                counted.append((n, fn))
                if worst is None or pct > worst[0]:
                    worst = (pct, n, label, rs)
            else:
                cells = "- | - | -"
            o.append(f"| {_size(n)} | {label} | {cells} | {_tp_rcell(rs)} | "
                     f"{len(rs)} |")
    o.append("")
    o.append(f"| target | instructions (callgrind) | verdict | time ratio "
             f"beside it |")
    o.append("|---|---|---|---|")
    tgt = (f"compiled in but off <= {TP_TARGET:g}% over compiled out, every "
           "workload and size counted")
    if worst is None:
        o.append(f"| {tgt} | not counted (no callgrind in this run) | "
                 "not settled | - |")
    else:
        pct, n, label, rs = worst
        ok = pct <= TP_TARGET
        sizes_c = ", ".join(_size(x) for x in sorted({c[0] for c in counted}))
        o.append(f"| {tgt} | worst: {pct:+.2f}% ({label}, {_size(n)}; "
                 f"counted at {sizes_c}) | "
                 f"{'**met**' if ok else '**missed**'} | "
                 f"{_tp_rcell(rs)} for the same workload and size |")
    o.append("")
    return o
