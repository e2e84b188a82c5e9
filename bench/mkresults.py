#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the output of guest/bench.sh into bench/RESULTS.md.

Reads the "bench:" and "bench-env:" lines the guest printed (vm-run.sh's
stdout) and the "vm-run: accel=..." line (its stderr), and writes tables of
Mops/s and tophash/rhashtable ratios, bytes per entry and tracepoint cost.
Medians and ranges are computed here from the per-round lines; the ratios
are medians of per-round pairs (tophash and rhashtable ran back to back in
each round, so noise that hits one hits the other). Timing never fails
this script; missing rows are shown as missing.

Usage: mkresults.py --guest GUEST_OUT --vmrun VMRUN_ERR --out RESULTS.md
                    [--command CMD] [--guest-command CMD] [--elapsed SECS]
       mkresults.py --native NATIVE_OUT --out RESULTS.md [--native-command CMD]

RESULTS.md has two sections: the in-guest one (--guest) and, after a marker
line, the native one (--native: bench/native/run.sh's output, written by
bench/native/native_results.py). A run given one of them rewrites that
section and keeps the other as the file has it.
"""
import argparse
import datetime
import os
import platform
import re
import statistics
import sys

IMPLS = ("tophash", "rhashtable")
MAIN_ROWS = [
    ("insert", "insert (from empty, growth included)"),
    ("insert_pregrown", "insert into a pregrown map (no growth)"),
    ("lookup_hit", "lookup, hit"),
    ("lookup_miss", "lookup, miss"),
    ("delete", "delete (all keys)"),
    ("churn", "churn 50/50 at steady entries"),
    ("readers", "2 readers, no writer (sum)"),
    ("readers_writer", "2 readers + 1 writer (readers' sum)"),
    ("writer", "the writer (insert+delete ops)"),
    ("readers_cpu", "readers, per CPU-second, no writer"),
    ("readers_writer_cpu", "readers, per CPU-second, with writer"),
    ("writer_cpu", "writer, per CPU-second"),
    ("hash", "hash only: multiply-mix (tophash) vs jhash2 (rhashtable)"),
]
# (name, key size) -> (minimum tophash/rhashtable ratio, what it says)
TARGETS = {
    ("lookup_hit", "8"): (1.5, ">= 1.5x"),
    ("insert", "8"): (1.0, ">= 1.0x"),
    ("lookup_hit", "64"): (1.0, ">= 1.0x"),
    ("insert", "64"): (1.0, ">= 1.0x"),
}
BYTES_TARGET = 0.6
TRACE_OFF_TARGET = 2.0  # percent
TRACE_STATES = [
    ("notrace", "compiled out (-DNOTRACE)"),
    ("off", "compiled in, off"),
    ("ftrace", "on, no consumer (ftrace ring buffer)"),
    ("slotreuse", "on, slotreuse attached (BPF raw_tp)"),
]
TRACE_ROWS = ["insert", "lookup_hit", "delete", "churn"]


def parse_kv(text):
    """Split 'a=1 b=2' into a dict; tokens without '=' are ignored."""
    out = {}
    for tok in text.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def read_guest(path):
    rounds = {}     # (run, keysize, name, impl) -> [mops per round]
    curve = {}      # (keysize, impl) -> [(entries, bytes)]
    calls = {}      # (keysize, workloads) -> dict of the name=calls line
    sites = {}      # (keysize, workloads) -> [(site, function, calls)]
    ops = {}        # (run, keysize, name, impl) -> ops of a round
    bytes_ = {}     # (run, keysize, impl) -> dict (first seen)
    consumers = {}  # run -> [dict]
    missing = {}    # run -> reason
    env = {}
    starts = {}     # (run, keysize) -> start line dict
    drains = {}     # impl -> [dict per round] (tophash_bench.ko drain=1)
    errors = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("bench-env: "):
                k, _, v = line[len("bench-env: "):].partition("=")
                env[k] = v
                continue
            if "FAILED" in line or "] bench: " in line and "fail" in line:
                errors.append(line)
            if not line.startswith("bench: "):
                continue
            d = parse_kv(line[len("bench: "):])
            run, name = d.get("run", "?"), d.get("name", "?")
            if name == "start":
                starts[(run, d.get("keysize"))] = d
            elif name == "missing":
                missing[run] = d.get("reason", "?")
            elif name == "consumer":
                consumers.setdefault(run, []).append(d)
            elif name == "drain":
                drains.setdefault(d["impl"], []).append(d)
            elif name == "bytes":
                bytes_.setdefault((run, d["keysize"], d["impl"]), d)
            elif name == "bytes_curve" and run == "main":
                curve.setdefault((d["keysize"], d["impl"]), []).append(
                    (int(d["entries"]), int(d["bytes"])))
            elif name == "calls" and run == "profile":
                # before keysize= and fn= per site, the profile ran 8-byte
                # keys only and named one function in this line
                key = (d.get("keysize", "8"), d["workloads"])
                calls[key] = d
                sites[key] = [(st, d.get("fn", "?") if fn == "?" else fn, c)
                              for st, fn, c in sites.get(key, [])]
            elif name == "site" and run == "profile":
                sites.setdefault((d.get("keysize", "8"), d["workloads"]),
                                 []).append((d["site"], d.get("fn", "?"),
                                             int(d["calls"])))
            elif "round" in d and "mops" in d:
                key = (run, d["keysize"], name, d["impl"])
                rounds.setdefault(key, []).append(float(d["mops"]))
                ops[key] = int(d["ops"])
    return (rounds, ops, bytes_, consumers, missing, env, starts, errors,
            curve, calls, sites, drains)


def fmt(x, nd=3):
    return "-" if x is None else f"{x:.{nd}f}"


def med(v):
    return statistics.median(v) if v else None


def paired(a, b):
    """Per-round ratios a[i]/b[i] over the rounds both have."""
    return [x / y for x, y in zip(a, b) if y > 0]


def ratio_cell(rs):
    if not rs:
        return "-", None
    m = statistics.median(rs)
    if len(rs) == 1:
        return f"**{m:.2f}**", m
    return f"**{m:.2f}** ({min(rs):.2f}-{max(rs):.2f})", m


def host_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = f"{int(line.split()[1]) / 1048576:.1f} GiB"
                    break
    except OSError:
        pass
    return os.cpu_count(), model, mem


def read_vmrun(path):
    accel, secs, rc = "?", None, None
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r"vm-run: accel=(\S+) (\d+)s exit=(\S+)", line)
                if m:
                    accel, secs, rc = m.group(1), int(m.group(2)), m.group(3)
    except OSError:
        pass
    return accel, secs, rc


def main_table(out, rounds, ops, ks):
    out.append(f"| workload | ops/round | tophash Mops/s | rhashtable Mops/s "
               f"| tophash / rhashtable | target |")
    out.append("|---|---:|---:|---:|---:|---|")
    losses = []
    for name, label in MAIN_ROWS:
        th = rounds.get(("main", ks, name, "tophash"), [])
        rh = rounds.get(("main", ks, name, "rhashtable"), [])
        if not th and not rh:
            continue
        n = ops.get(("main", ks, name, "tophash")) or \
            ops.get(("main", ks, name, "rhashtable"))
        if name.startswith("readers") or name.startswith("writer"):
            n_cell = "timed"
        else:
            n_cell = f"{n:,}" if n else "-"
        cells = []
        for v in (th, rh):
            if v:
                cells.append(f"{fmt(med(v))} (best {fmt(max(v))})")
            else:
                cells.append("missing")
        rcell, r = ratio_cell(paired(th, rh))
        tcell = ""
        if (name, ks) in TARGETS and r is not None:
            lim, what = TARGETS[(name, ks)]
            tcell = f"{what}: {'met' if r >= lim else '**missed**'}"
        if r is not None and r < 1.0:
            losses.append((label, r))
        out.append(f"| {label} | {n_cell} | {cells[0]} | {cells[1]} "
                   f"| {rcell} | {tcell} |")
    return losses


def bytes_table(out, bytes_, keysizes):
    out.append("| keys | tophash bytes/entry | rhashtable bytes/entry "
               "| tophash / rhashtable | target |")
    out.append("|---|---:|---:|---:|---|")
    notes = []
    res = {}
    for ks in keysizes:
        th = bytes_.get(("main", ks, "tophash"))
        rh = bytes_.get(("main", ks, "rhashtable"))
        if not th or not rh:
            continue
        tb = int(th["bytes"]) / max(int(th["entries"]), 1)
        rb = int(rh["bytes"]) / max(int(rh["entries"]), 1)
        r = tb / rb
        res[ks] = r
        tcell = f"<= {BYTES_TARGET}x: {'met' if r <= BYTES_TARGET else '**missed**'}"
        out.append(
            f"| {int(th['entries']):,} x {ks} B | {tb:.2f} "
            f"(B={th['B']}, {int(th['noverflow']):,} overflow buckets) "
            f"| {rb:.2f} (objects {int(rh['object_bytes']) / int(rh['entries']):.2f} "
            f"[{rh['object_size']} B each, ksize], table "
            f"{int(rh['table_bytes']) / int(rh['entries']):.2f} "
            f"[{int(rh['buckets']):,} buckets]) | **{r:.2f}** | {tcell} |")
        if rh.get("nested") != "0" or rh.get("tables") != "1":
            notes.append(f"rhashtable {ks} B: tables={rh.get('tables')} "
                         f"nested={rh.get('nested')} when sampled")
    return res, notes


DRAIN_ORDER = ["tophash_fresh", "tophash", "tophash_shrink25", "tophash_shrink40",
               "rhashtable", "rhashtable_autoshrink"]
DRAIN_BYTES_TARGET = 1.5    # shrinking tophash vs a fresh one (issue 12)
DRAIN_RATE_TARGET = 0.8     # drain rate with shrinking vs without


def drain_table(out, drains):
    """Bytes per live entry after a 90% drain, and the deletes' rate."""
    if not drains:
        return
    out.append("## Memory after a drain: 90% of the keys deleted")
    out.append("")
    out.append("`tophash_bench.ko drain=1` (8-byte keys and values): each map gets "
               "the keys, loses 9 in 10 of them (timed: the delete rate), then "
               "finishes what the deletes started (tophash: "
               "`tophash_finish_step()`, what its background finisher runs; "
               "rhashtable: its resize worker) and waits a grace period; bytes "
               "as in the table above (rhashtable's objects by their kmalloc "
               "size class). `tophash_fresh` is a new map filled with the kept "
               "keys only. Medians over the rounds.")
    out.append("")
    out.append("A shrinking tophash's deletes do no evacuation (its inserts and its "
               "background finisher do, as rhashtable's worker does all of its "
               "resizing): the settle is that work, here run back to back, and "
               "the last column counts it against the drain.")
    out.append("")
    out.append("| map | live entries | B | bytes per live entry | vs fresh tophash "
               "| deletes Mops/s | vs tophash (no shrink) | settle ms "
               "| deletes + settle vs no shrink |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def medf(k, f):
        return med([float(d[f]) for d in drains.get(k, [])]) if k in drains else None

    fresh = medf("tophash_fresh", "bytes_per_entry")
    base_rate = medf("tophash", "delete_mops")

    def medtotal(k):
        return med([float(d["delete_ns"]) + float(d["settle_ns"]) for d in drains[k]])
    base_total = medtotal("tophash") if "tophash" in drains else None
    for k in DRAIN_ORDER:
        if k not in drains:
            continue
        d = drains[k][0]
        bpe = medf(k, "bytes_per_entry")
        rate = medf(k, "delete_mops")
        vs = f"{bpe / fresh:.2f}x" if fresh else "?"
        if k.startswith("tophash_shrink") and fresh:
            vs += f" (target <= {DRAIN_BYTES_TARGET}x: " + \
                  ("met" if bpe / fresh <= DRAIN_BYTES_TARGET else "**missed**") + ")"
        rcell = "-"
        if k != "tophash_fresh" and rate and base_rate:
            rcell = f"{rate / base_rate:.2f}x"
            if k.startswith("tophash_shrink"):
                rcell += f" (target >= {DRAIN_RATE_TARGET}x: " + \
                         ("met" if rate / base_rate >= DRAIN_RATE_TARGET else "**missed**") + ")"
        out.append(f"| {k} | {int(d['entries']):,} | {d.get('B', '-') if k.startswith('tophash') else '-'} "
                   f"| {bpe:.2f} | {vs} | "
                   f"{'-' if k == 'tophash_fresh' else f'{rate:.3f}'} | {rcell} | "
                   f"{medf(k, 'settle_ns') / 1e6:.1f} | "
                   f"{'-' if k in ('tophash', 'tophash_fresh') or not base_total else f'{base_total / medtotal(k):.2f}x'} |")
    out.append("")


def curve_table(out, curve, keysizes):
    """Bytes per entry at each slice boundary of round 0's insert."""
    if not curve:
        return
    out.append("Bytes per entry while the maps fill (round 0's insert, at "
               "every slice boundary; rhashtable objects counted as entries x "
               "`kmalloc_size_roundup()` of one object). Both tables double, "
               "so the ratio at one size depends on where each is in its "
               "doubling cycle:")
    out.append("")
    for ks in keysizes:
        th = dict(curve.get((ks, "tophash"), []))
        rh = dict(curve.get((ks, "rhashtable"), []))
        pts = sorted(set(th) & set(rh))
        if not pts:
            continue
        out.append(f"| entries ({ks} B keys) | " +
                   " | ".join(f"{n:,}" for n in pts) + " |")
        out.append("|---|" + "---:|" * len(pts))
        out.append("| tophash B/entry | " +
                   " | ".join(f"{th[n] / n:.1f}" for n in pts) + " |")
        out.append("| rhashtable B/entry | " +
                   " | ".join(f"{rh[n] / n:.1f}" for n in pts) + " |")
        out.append("| tophash / rhashtable | " +
                   " | ".join(f"{th[n] / rh[n]:.2f}" for n in pts) + " |")
        out.append("")


# (workloads of a profile run, the workload it adds, the row's label, the
# operation in words)
PROFILE_ROWS = [
    ("insert", "insert", "insert from empty (growth included)", "insert"),
    ("insert,lookup_hit", "lookup_hit", "lookup, hit", "hit lookup"),
    ("insert,delete", "delete", "delete", "delete"),
]


def profile_ops(d, workload):
    """tophash's operations in WORKLOAD, from a name=calls line's
    ops=name:n,... (nkeys in output from before it had them)."""
    for item in d.get("ops", "").split(","):
        w, _, n = item.partition(":")
        if w == workload and n.isdigit():
            return int(n)
    return int(d["nkeys"])


def profile_fns(d):
    """{function: calls} of a name=calls line's fns=f:n,... (its one fn=
    in output from before it had them)."""
    if "fns" not in d:
        return {d.get("fn", "?"): int(d["calls"])}
    out = {}
    for item in d.get("fns", "").split(","):
        fn, _, n = item.partition(":")
        if fn and n.isdigit():
            out[fn] = int(n)
    return out


def calls_table(out, calls, sites, missing):
    """Hash calls per tophash operation, from kprobe counts at tophash.ko's
    call sites of the siphash functions; returns the failed measurements.

    Every insert, hit lookup and delete hashes its key at least once, so no
    count (0, or no difference) for one of them is a failed measurement
    (the kprobes are not where tophash hashes), shown as such, never as a
    figure."""
    kss = sorted({ks for ks, _ in calls}, key=int)
    if not kss and "profile" not in missing:
        return []
    out.append("## Hashes per tophash operation")
    out.append("")
    if not kss:
        msg = f"measurement missing: {missing['profile']}"
        out.append(f"**{msg}**")
        out.append("")
        return [msg]
    probed = {}  # function -> {sites}
    for ss in sites.values():
        for site, fn, _ in ss:
            probed.setdefault(fn, set()).add(site)
    fnlist = ", ".join(f"`{fn}` ({len(ss)} call sites)"
                       for fn, ss in sorted(probed.items())) or "none"
    nkeys = sorted({int(d["nkeys"]) for d in calls.values()})
    out.append("Calls of the siphash functions by tophash's "
               "`th_hash_special()`, counted by kprobes on every call site of "
               f"a siphash function in tophash.ko (`bench/hash-sites.py`: "
               f"{fnlist}) during tophash-only runs on maps created with "
               "`TOPHASH_F_SIPHASH` (the default multiply-mix is inlined: "
               "there is no call to probe; a SipHash map takes the generic "
               "path, which hashes exactly where the fixed-size paths do) of "
               f"{' or '.join(f'{n:,}' for n in nkeys)} keys: an insert "
               "phase alone, then with the lookups or the deletes after it "
               "(their count is the difference). Counts, not timings: noise "
               "does not touch them. One hash per operation is the minimum; "
               "an insert from empty adds one per entry an evacuation moves "
               "into a doubled table (it rehashes the key to choose the X or "
               "Y half). rhashtable hashes once per lookup and insert (plus "
               "once per entry each time its worker rehashes into a bigger "
               "table), and twice per delete here (lookup, then remove). "
               "Every insert, hit lookup and delete hashes at least once: "
               "no count is a failed measurement, not a figure.")
    out.append("")
    out.append("| operation | " +
               " | ".join(f"hashes per op, {ks}-byte keys" for ks in kss) +
               " |")
    out.append("|---|" + "---:|" * len(kss))
    failures, notes = [], []
    rows = {lbl: [] for _, _, lbl, _ in PROFILE_ROWS}
    called = []
    for ks in kss:
        base = calls.get((ks, "insert"))
        base_n = int(base["calls"]) if base else 0
        fns = {}
        for w, op, lbl, what in PROFILE_ROWS:
            d = calls.get((ks, w))
            if d is None or base is None:
                rows[lbl].append("missing")
                continue
            if w != "insert" and base_n <= 0:
                rows[lbl].append("**failed**")  # no base to subtract
                continue
            for fn, c in profile_fns(d).items():
                fns[fn] = fns.get(fn, 0) + c
            n = profile_ops(d, op)
            c = int(d["calls"]) - (base_n if w != "insert" else 0)
            if int(d.get("missed", 0)):
                notes.append(f"{ks}-byte keys, {lbl}: the kprobes missed "
                             f"{int(d['missed']):,} hits; the count is low "
                             f"by as much")
                failures.append(notes[-1])
            if c <= 0 or n <= 0:
                rows[lbl].append("**failed**")
                msg = (f"{ks}-byte keys, {lbl}: measurement failed: no hash "
                       f"calls counted ({int(d['calls']):,} calls in the run "
                       f"of {w}, {n:,} operations, {d.get('sites', '?')} "
                       f"kprobed call sites)")
                failures.append(msg)
                notes.append(f"**{msg}**: every {what} hashes at least once, "
                             "so the kprobes are not on the calls tophash "
                             "makes; compare `bench/hash-sites.py "
                             "kmod/tophash.ko` with `th_hash_special()`.")
                continue
            rows[lbl].append(f"{c / n:.2f}")
        called.append(", ".join(f"`{fn}`" for fn, c in fns.items() if c)
                      or "none")
    for _, _, lbl, _ in PROFILE_ROWS:
        out.append(f"| {lbl} | " + " | ".join(rows[lbl]) + " |")
    out.append("| function the calls went to | " + " | ".join(called) + " |")
    out.append("")
    for n in notes:
        out.append(f"- {n}")
    if notes:
        out.append("")
    site_rows = []  # (site, fn, {ks: calls per insert})
    counted = []    # key sizes whose inserts were counted
    for ks in kss:
        base = calls.get((ks, "insert"))
        if not base or int(base["calls"]) <= 0:
            continue
        counted.append(ks)
        n = profile_ops(base, "insert")
        for site, fn, c in sites.get((ks, "insert"), []):
            if not c:
                continue
            row = next((r for r in site_rows if r[:2] == (site, fn)), None)
            if row is None:
                row = (site, fn, {})
                site_rows.append(row)
            row[2][ks] = f"{c / n:.2f}"
    if site_rows:
        out.append("Where the inserts' hashes come from (call site in "
                   "tophash.ko, calls per insert; sites with no call left "
                   "out):")
        out.append("")
        out.append("| call site | function | " +
                   " | ".join(f"{ks}-byte keys" for ks in kss) + " |")
        out.append("|---|---|" + "---:|" * len(kss))
        for site, fn, per in site_rows:
            out.append(f"| `{site}` | `{fn}` | " +
                       " | ".join(per.get(ks, "0" if ks in counted else "-")
                                  for ks in kss) + " |")
        out.append("")
    return failures


def trace_table(out, rounds, missing, consumers):
    base = {}
    for st, _ in TRACE_STATES:
        for name in TRACE_ROWS:
            v = rounds.get((f"trace_{st}", "8", name, "tophash"), [])
            base[(st, name)] = v
    hdr = "| workload |"
    sep = "|---|"
    for st, label in TRACE_STATES:
        hdr += f" {label} Mops/s |"
        sep += "---:|"
    hdr += " off vs compiled out | ftrace vs off | slotreuse vs off |"
    sep += "---:|---:|---:|"
    out.append(hdr)
    out.append(sep)
    worst_off = None
    noise = None
    for name in TRACE_ROWS:
        row = f"| {name} |"
        for st, _ in TRACE_STATES:
            v = base[(st, name)]
            if v:
                row += f" {fmt(med(v))} |"
            elif f"trace_{st}" in missing:
                row += f" missing ({missing['trace_' + st]}) |"
            else:
                row += " missing |"
        for st, ref in (("off", "notrace"), ("ftrace", "off"),
                        ("slotreuse", "off")):
            rs = paired(base[(st, name)], base[(ref, name)])
            if not rs:
                row += " - |"
                continue
            m = statistics.median(rs)
            # cost: extra time per operation, from the throughput ratio
            cost = (1.0 / m - 1.0) * 100.0
            row += f" {m:.3f} ({cost:+.1f}% time/op) |"
            if st == "off" and name != "lookup_hit":
                worst_off = cost if worst_off is None else max(worst_off, cost)
            if st == "off" and name == "lookup_hit":
                # the control: no tracepoint on this path, so any
                # difference in any round is noise
                noise = max(abs(1.0 / x - 1.0) * 100.0 for x in rs)
        out.append(row + "")
    return worst_off, noise


# The native section starts at this line; everything before it is the
# in-guest section.
NATIVE_MARK = ("<!-- bench/mkresults.py: the native section starts here "
               "(make bench-native rewrites it) -->")


def native_section(a):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "native"))
    sys.dont_write_bytecode = True
    import native_results
    try:
        return native_results.section(a.native, a.native_command)
    except native_results.NativeError as e:
        print(f"mkresults: {e}", file=sys.stderr)
        sys.exit(1)


def write_results(path, guest_text, native_text):
    """Write the sections given; keep the others as the file has them."""
    old_guest, old_native = None, None
    try:
        with open(path) as f:
            old = f.read()
        i = old.find(NATIVE_MARK)
        if i < 0:
            old_guest = old
        else:
            old_guest, old_native = old[:i], old[i + len(NATIVE_MARK):]
    except OSError:
        pass
    guest_text = guest_text if guest_text is not None else old_guest
    native_text = native_text if native_text is not None else old_native
    parts = []
    if guest_text and guest_text.strip():
        parts.append(guest_text.strip() + "\n")
    if native_text and native_text.strip():
        parts.append(NATIVE_MARK + "\n\n" + native_text.strip() + "\n")
    with open(path, "w") as f:
        f.write("\n".join(parts))
    print(f"mkresults: wrote {path}", file=sys.stderr)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--guest")
    ap.add_argument("--vmrun")
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default="make bench")
    ap.add_argument("--guest-command", default="")
    ap.add_argument("--elapsed", type=int, default=None)
    ap.add_argument("--kernel-choice", default="",
                    help="scripts/kernel-version.sh's line: the Debian kernel used")
    ap.add_argument("--native", help="bench/native/run.sh's raw output")
    ap.add_argument("--native-command", default="make bench-native")
    a = ap.parse_args()
    if not a.guest and not a.native:
        ap.error("give --guest (with --vmrun), --native, or both")
    if a.guest and not a.vmrun:
        ap.error("--guest needs --vmrun")
    if not a.guest:
        return write_results(a.out, None, native_section(a))

    (rounds, ops, bytes_, consumers, missing, env, starts, errors, curve,
     calls, sites, drains) = read_guest(a.guest)
    accel, vm_secs, vm_rc = read_vmrun(a.vmrun)
    ncpu, model, mem = host_info()
    keysizes = sorted({k[1] for k in rounds if k[0] == "main"}, key=int)
    now = datetime.datetime.now(datetime.timezone.utc)

    o = []
    o.append("# Benchmarks: tophash vs the kernel's rhashtable (in-kernel)")
    o.append("")
    o.append(f"Generated by `bench/mkresults.py` from a `make bench` run on "
             f"{now:%Y-%m-%d %H:%M} UTC. Do not edit: rerun `make bench`.")
    o.append("")
    o.append("## Machine and run")
    o.append("")
    o.append("| | |")
    o.append("|---|---|")
    o.append(f"| host | {platform.node()}: {ncpu} CPUs (`nproc`), {model}, "
             f"{mem}, Linux {platform.release()} |")
    acc_note = ""
    if accel == "tcg":
        acc_note = (" (QEMU TCG: every guest instruction is emulated; absolute "
                    "rates are far below native and cache effects are muted, "
                    "so read the ratios)")
    o.append(f"| accelerator | **{accel}**{acc_note} |")
    o.append(f"| guest | Linux {env.get('kernel', '?')}, "
             f"{env.get('vcpus', '?')} vCPUs ({env.get('guest_cpu', '?')}), "
             f"{int(env.get('mem_kib', '0')) // 1024} MiB |")
    if a.kernel_choice:
        o.append(f"| guest kernel package | {a.kernel_choice.removeprefix('kernel: ')} |")
    o.append(f"| guest kernel command line | `{env.get('cmdline', '?')}` |")
    o.append(f"| slub debugging (kmalloc-32 sanity_checks) | "
             f"{env.get('slub_debug_kmalloc32', '?')} |")
    o.append(f"| command | `{a.command}` |")
    if a.guest_command:
        o.append(f"| guest command | `{a.guest_command}` |")
    for (run, ks), d in sorted(starts.items()):
        if run != "main":
            continue
        o.append(f"| tophash_bench.ko, {ks}-byte keys | nkeys={d['nkeys']} "
                 f"rounds={d['rounds']} slices={d.get('slices', '?')} "
                 f"lookup_ops={d['lookup_ops']} "
                 f"churn_keys={d['churn_keys']} churn_ops={d['churn_ops']} "
                 f"duration_ms={d['duration_ms']} nreaders={d['nreaders']} |")
    tr = [d for (run, ks), d in starts.items() if run.startswith("trace_")]
    if tr:
        d = tr[0]
        ntr = len(rounds.get(("trace_off", "8", "insert", "tophash"), []))
        o.append(f"| tracing runs | {ntr} rounds per state, one insmod each: "
                 f"nkeys={d['nkeys']} churn_keys={d['churn_keys']} "
                 f"churn_ops={d['churn_ops']} workloads={d['workloads']} |")
    rt = []
    if vm_secs is not None:
        rt.append(f"VM {vm_secs} s (boot to power-off, exit {vm_rc})")
    if a.elapsed is not None:
        rt.append(f"`make bench` recipe {a.elapsed} s")
    o.append(f"| runtime | {', '.join(rt) if rt else '?'} |")
    o.append("")
    if errors:
        o.append("**Errors in the guest output:**")
        o.append("")
        for e in errors[:10]:
            o.append(f"    {e}")
        o.append("")

    o.append("## How to read this")
    o.append("")
    o.append(
        "`kmod/tophash_bench.c` runs every workload on a tophash map and on an "
        "rhashtable holding the same keys (splitmix64 of the index; misses "
        "come from the same stream past the hits), in the same guest and the "
        "same insmod, interleaved: each phase is cut into slices that "
        "alternate between the two maps, the order flipping at every slice, "
        "and each map's rate in a round is its operations over its summed "
        "time. Mops/s is the median over the rounds, with the best round; "
        "the ratio is the median of the per-round ratios tophash/rhashtable, "
        "with their range: above 1 tophash is faster. "
        "rhashtable: constant `rhashtable_params` (jhash2 and the compare "
        "inlined in lookups), kmalloc'ed objects `{rhash_head, u64 value, "
        "key}`, `rhashtable_lookup_insert_fast()` (refuses duplicates, as "
        "`TOPHASH_NOEXIST` does), `rhashtable_remove_fast()` + "
        "`kvfree_rcu_mightsleep()`, no automatic shrinking (tophash never "
        "shrinks either). An insert phase lasts until rhashtable's deferred "
        "resize work is done. Lookups run 64 per `rcu_read_lock()` on both "
        "sides. The readers rows run 2 reader kthreads for a fixed time with "
        "and without a writer churning other keys: 3 threads on 2 vCPUs, so "
        "the wall-clock rows include how the scheduler shared the CPUs, and "
        "the per-CPU-second rows do not. The hash row hashes every key once "
        "as each map does per operation: `th_mix_hash()` of the key size "
        "(tophash's default hash, `kmod/tophash_core.h`) and `jhash2()` "
        "inlined for the constant length (rhashtable's default). tophash "
        "takes its fixed-size path for all three key sizes (8-byte values).")
    o.append("")

    all_losses = []
    for ks in keysizes:
        o.append(f"## tophash vs rhashtable, {ks}-byte keys, 8-byte values")
        o.append("")
        losses = main_table(o, rounds, ops, ks)
        all_losses += [(f"{ks} B keys: {lbl}", r) for lbl, r in losses]
        o.append("")

    o.append("## Memory: bytes per entry after inserting the keys")
    o.append("")
    o.append("tophash: `tophash_info().bytes` (bucket arrays, overflow "
             "buckets as requested from kmalloc, table objects). rhashtable: "
             "`ksize()` of every object (a walk) plus every bucket table, "
             "`struct_size(tbl, buckets, tbl->size)` as `bucket_table_alloc()` "
             "allocates it. Sampled once, after round 0's insert phase.")
    o.append("")
    bres, bnotes = bytes_table(o, bytes_, keysizes)
    for n in bnotes:
        o.append(f"\n_{n}_")
    o.append("")
    curve_table(o, curve, keysizes)
    drain_table(o, drains)
    for f in calls_table(o, calls, sites, missing):
        print(f"mkresults: hashes per op: {f}", file=sys.stderr)

    o.append("## Tracepoint cost (tophash only, 8-byte keys)")
    o.append("")
    o.append("The same tophash workloads, one insmod per tracing state, the "
             "states in a rotating order each round. The ratios are medians "
             "of per-round throughput ratios; the cost is the extra time per "
             "operation. Lookups fire no tracepoint: that row is the control, "
             "and shows the noise. The compiled-out build is tophash.ko built "
             "with `-DNOTRACE` from the same sources: a disabled tracepoint is "
             "a 5-byte NOP, but with the events gone the compiler also drops "
             "what is computed only for them (chain depths, the assign kind, "
             "emptyRest counts, evacuation drop masks and popcounts), so "
             "\"off vs compiled out\" is all of that, as emulated by TCG.")
    o.append("")
    worst_off, noise = trace_table(o, rounds, missing, consumers)
    o.append("")
    for run, ds in sorted(consumers.items()):
        if run == "trace_ftrace":
            ev = [int(d.get("events_recorded", 0)) for d in ds]
            o.append(f"- ftrace: {min(ev):,}-{max(ev):,} events written to "
                     f"the ring buffer per run.")
        elif run == "trace_slotreuse":
            c = ds[-1].get("counts", "")
            o.append(f"- slotreuse: attached with `slotreuse --pin` for each "
                     f"run and read back with `--read -j` ({len(ds)} runs); "
                     f"its counters after the last run: `{c}`")
    for run, why in sorted(missing.items()):
        if run != "profile":  # in the hashes section
            o.append(f"- {run}: **missing** ({why})")
    o.append("")

    o.append("## Targets")
    o.append("")
    o.append("| target | measured | |")
    o.append("|---|---:|---|")
    for ks in keysizes:
        for (name, tks), (lim, what) in TARGETS.items():
            if tks != ks:
                continue
            rs = paired(rounds.get(("main", ks, name, "tophash"), []),
                        rounds.get(("main", ks, name, "rhashtable"), []))
            if not rs:
                continue
            m = statistics.median(rs)
            o.append(f"| {name} {what} rhashtable ({ks} B keys) | {m:.2f}x | "
                     f"{'met' if m >= lim else '**missed**'} |")
        if ks in bres:
            o.append(f"| bytes/entry <= {BYTES_TARGET}x rhashtable "
                     f"({ks} B keys) | {bres[ks]:.2f}x | "
                     f"{'met' if bres[ks] <= BYTES_TARGET else '**missed**'} |")
    if worst_off is not None:
        if worst_off <= TRACE_OFF_TARGET:
            verdict = "met"
        elif noise is not None and worst_off <= noise:
            verdict = (f"**not resolved here**: the control row (lookups, "
                       f"no tracepoint) moved up to {noise:.0f}% between "
                       f"runs; the instruction counts of the native section "
                       f"(\"Tracepoints compiled in but off vs compiled "
                       f"out\") decide it")
        else:
            verdict = "**missed**"
            if noise is not None:
                verdict += f" (control row noise {noise:.0f}%)"
        o.append(f"| tracepoints-off cost <= {TRACE_OFF_TARGET:.0f}% (worst "
                 f"of insert/delete/churn, vs compiled out) | "
                 f"{worst_off:+.1f}% | {verdict} |")
    o.append("")
    if all_losses:
        o.append("Where tophash is slower than rhashtable in this run "
                 "(median ratio below 1):")
        o.append("")
        for lbl, r in all_losses:
            o.append(f"- {lbl}: {r:.3f}x")
        o.append("")

    return write_results(a.out, "\n".join(o).rstrip() + "\n",
                         native_section(a) if a.native else None)


if __name__ == "__main__":
    sys.exit(main())
