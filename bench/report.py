#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the "BENCH {json}" lines of bench/vm.sh into the benchmark table.

    bench/report.py [--workloads "W..."] LOG JSON_OUT MD_OUT

Every figure is the median over the repetitions, with the spread (lowest
and highest repetition) next to it, and the ratio of the project's side
to the reference side: venet/vhost-net for the KVM part, venet over the
local connector/veth for the local part.  Next to that ratio of the
medians, the paired ratios: in each repetition the two sides run back to
back, so the ratio within a repetition is free of the emulator's slower
drift between repetitions; their median and range say how far the ratio
itself can be trusted.  Counters are given per 1,000
packets (at the host side's netdev) over all repetitions of a workload;
for the KVM part also the context switches and the CPU time by thread
name, for the threads with at least THREAD_SHARE of a side's total.
Exits with status 1 when a figure is missing, so a broken run cannot
pass for a result.
"""

import json
import statistics
import sys

WORKLOADS = [
    ("tcp-g2h", "mbps", "TCP guest to host, Mbit/s", True),
    ("tcp-h2g", "mbps", "TCP host to guest, Mbit/s", True),
    ("udp64-g2h", "kpps", "UDP 64 B guest to host, kpackets/s", True),
    ("latency", "p50_us", "UDP ping-pong latency, median, us", False),
    ("latency", "p99_us", "UDP ping-pong latency, 99th percentile, us", False),
]

# (key, label, shown in the Markdown table); the JSON has them all.
COUNTERS = {
    "kvm": [
        ("exits", "KVM exits", True),
        ("user_exits", "exits to user space", True),
        ("guest_kicks", "kick exits (the driver's kicks)", True),
        ("guest_tx_kicks", "... of them on transmit rings", True),
        ("guest_rx_kicks", "... of them on receive rings (buffers posted)", True),
        ("pio_exits", "PIO exits", False),
        ("emulated", "emulated instructions", False),
        ("injected_irqs", "interrupts injected (KVM)", True),
        ("guest_irqs", "NIC interrupts (guest /proc/interrupts)", True),
        ("context_switches", "context switches (test VM)", True),
    ],
    "local": [
        ("context_switches", "context switches", True),
    ],
}

# A thread is shown in the Markdown table of context switches by thread
# when it has at least this share of one side's switches in a workload.
THREAD_SHARE = 0.05

PARTS = {
    "kvm": ("vhost-net", "venet", "venet/vhost-net"),
    "local": ("veth", "venet-local", "venet-local/veth"),
}


def load(path):
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip().replace("\r", "")
            if line.startswith("BENCH "):
                rows.append(json.loads(line[len("BENCH "):]))
    return rows


def spread(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "values": values}


def fmt(stat, digits):
    text = f"{stat['median']:.{digits}f}"
    if len(stat["values"]) > 1:
        text += f" ({stat['min']:.{digits}f}-{stat['max']:.{digits}f})"
    return text


def ratio(ours, ref):
    return ours / ref if ref else None


def paired(ref, ours, what):
    """The ratios of the repetitions both sides ran, as a spread."""
    reps = sorted(set(ref) & set(ours))
    if not reps:
        raise SystemExit(f"report: {what}: no repetition with both sides measured")
    zero = [rep for rep in reps if not ref[rep]]
    if zero:
        raise SystemExit(f"report: {what}: reference is 0 in repetition {zero[0]}")
    return spread([ours[rep] / ref[rep] for rep in reps])


def rows_for(rows, part, side, workload):
    return [r for r in rows
            if r["part"] == part and r["side"] == side and r["workload"] == workload]


def chosen_workloads(chosen):
    return list(dict.fromkeys(w for w, _, _, _ in WORKLOADS if w in chosen))


def figures(rows, part, chosen):
    ref_side, our_side, _ = PARTS[part]
    out = []
    for workload, key, label, higher in WORKLOADS:
        if workload not in chosen:
            continue
        entry = {"workload": workload, "figure": key, "label": label,
                 "higher_is_better": higher}
        by_rep = {}
        for side in (ref_side, our_side):
            measured = [r for r in rows_for(rows, part, side, workload) if key in r]
            if not measured:
                raise SystemExit(f"report: no {part} {side} {workload} {key}")
            entry[side] = spread([r[key] for r in measured])
            by_rep[side] = {r["rep"]: r[key] for r in measured}
        entry["ratio"] = ratio(entry[our_side]["median"], entry[ref_side]["median"])
        if entry["ratio"] is None:
            raise SystemExit(f"report: {part} {workload} {key}: reference is 0")
        entry["paired_ratio"] = paired(by_rep[ref_side], by_rep[our_side],
                                       f"{part} {workload} {key}")
        better = entry["ratio"] > 1 if higher else entry["ratio"] < 1
        entry["winner"] = our_side if better else ref_side
        out.append(entry)
    return out


def per_thousand(counters, key):
    return 1000.0 * counters[key] / counters["packets"] if counters["packets"] else 0.0


def counter_table(rows, part, chosen):
    ref_side, our_side, _ = PARTS[part]
    out = []
    for workload in chosen_workloads(chosen):
        for key, label, shown in COUNTERS[part]:
            entry = {"workload": workload, "counter": key, "label": label, "shown": shown}
            for side in (ref_side, our_side):
                reps = [r["counters"] for r in rows_for(rows, part, side, workload)]
                if not reps:
                    raise SystemExit(f"report: no {part} {side} {workload} counters")
                total = {k: sum(c[k] for c in reps) for k in reps[0]}
                entry[side] = {"per_1000_packets": per_thousand(total, key),
                               "spread": spread([per_thousand(c, key) for c in reps]),
                               "packets": total["packets"], "count": total[key]}
            ours = entry[our_side]["per_1000_packets"]
            ref = entry[ref_side]["per_1000_packets"]
            entry["ratio"] = ratio(ours, ref)
            out.append(entry)
    return out


def thread_table(rows, part, chosen, key, seconds):
    """A per-thread counter of a part by thread name: context switches
    (key "thread_switches") per 1,000 packets, or CPU time
    ("thread_cpu_ns") in percent of one CPU over the measurements."""
    ref_side, our_side, _ = PARTS[part]
    out = []
    for workload in chosen_workloads(chosen):
        per = {}
        for side in (ref_side, our_side):
            reps = rows_for(rows, part, side, workload)
            if key == "thread_switches":
                scale = sum(r["counters"]["packets"] for r in reps) / 1000.0
            else:
                scale = len(reps) * (seconds or 0) * 1e7
            total = {}
            for r in reps:
                for name, n in r.get(key, {}).items():
                    total[name] = total.get(name, 0) + n
            per[side] = {name: n / scale if scale else 0.0
                         for name, n in total.items()}
        shown = set()
        for side_per in per.values():
            side_total = sum(side_per.values())
            shown |= {name for name, v in side_per.items()
                      if side_total and v >= THREAD_SHARE * side_total}
        names = set(per[ref_side]) | set(per[our_side])
        for name in sorted(names, key=lambda n: (-max(p.get(n, 0.0) for p in per.values()), n)):
            out.append({"workload": workload, "thread": name, "shown": name in shown,
                        ref_side: per[ref_side].get(name, 0.0),
                        our_side: per[our_side].get(name, 0.0)})
    return out


def table_head(part, what, better):
    ref_side, our_side, ratio_name = PARTS[part]
    extra = " paired ratios | better |" if better else ""
    rule = "|---|---|---|---|" + ("---|---|" if better else "")
    return ["", f"| {part}: {what} | {ref_side} | {our_side} | {ratio_name} |{extra}", rule]


def markdown(result):
    lines = []
    meta = result["method"]
    lines.append(f"Side by side in one test VM boot; {meta['seconds']} s per "
                 f"measurement, {meta['reps']} repetition(s), median (lowest-highest), "
                 f"the ratio of the medians and the median (range) of the "
                 f"repetitions' own ratios; "
                 f"kvm part {'pinned' if meta.get('pinned') else 'not pinned'}"
                 + (f", L1 KVM halt_poll_ns {meta['halt_poll_ns']}"
                    if meta.get("halt_poll_ns") is not None else "")
                 + (f", vbus-vm --halt-poll-ns {meta['vm_halt_poll_ns']} (venet only)"
                    if meta.get("vm_halt_poll_ns") is not None else "") + ".")
    for part in ("kvm", "local"):
        ref_side, our_side, _ = PARTS[part]
        lines += table_head(part, "figure", True)
        for e in result[part]["figures"]:
            digits = 0 if e["figure"] == "mbps" else 1
            lines.append(f"| {e['label']} | {fmt(e[ref_side], digits)} | "
                         f"{fmt(e[our_side], digits)} | {e['ratio']:.2f} | "
                         f"{fmt(e['paired_ratio'], 2)} | {e['winner']} |")
    for part in ("kvm", "local"):
        ref_side, our_side, _ = PARTS[part]
        lines += table_head(part, "per 1,000 packets", False)
        for e in result[part]["counters"]:
            if not e["shown"]:
                continue
            if e["ratio"] is not None:
                r = f"{e['ratio']:.2f}"
            elif e[our_side]["per_1000_packets"] == 0:
                r = "- (both 0)"
            else:
                r = "- (reference 0)"
            lines.append(f"| {e['workload']}: {e['label']} | "
                         f"{e[ref_side]['per_1000_packets']:.1f} | "
                         f"{e[our_side]['per_1000_packets']:.1f} | {r} |")
    for part in ("kvm", "local"):
        for key, what in (("thread_switches", "context switches per 1,000 packets"),
                          ("thread_cpu", "CPU time, % of one CPU")):
            lines += thread_lines(result, part, key, what)
    return "\n".join(lines) + "\n"


def thread_lines(result, part, key, what):
    threads = [e for e in result[part].get(key, []) if e["shown"]]
    if not threads:
        return []
    ref_side, our_side, _ = PARTS[part]
    lines = ["", f"| {part}: {what}, by thread | {ref_side} | {our_side} |",
             "|---|---|---|"]
    for e in threads:
        cells = [f"{e[side]:.1f}" if e[side] else "-" for side in (ref_side, our_side)]
        lines.append(f"| {e['workload']}: {e['thread']} | {cells[0]} | {cells[1]} |")
    return lines


def main():
    args = sys.argv[1:]
    chosen = [w for w, _, _, _ in WORKLOADS]
    if len(args) == 5 and args[0] == "--workloads":
        chosen = args[1].split()
        args = args[2:]
    if len(args) != 3:
        raise SystemExit('usage: report.py [--workloads "W..."] LOG JSON_OUT MD_OUT')
    log, json_out, md_out = args
    rows = load(log)
    if not rows:
        raise SystemExit("report: no BENCH lines in " + log)
    reps = max(r["rep"] for r in rows if "rep" in r)
    meta = next((r for r in rows if r.get("part") == "method"), {})
    result = {
        "method": {"seconds": meta.get("seconds"), "reps": reps,
                   "kernel": meta.get("kernel"), "l2": meta.get("l2"),
                   "pinned": meta.get("pinned"), "halt_poll_ns": meta.get("halt_poll_ns"),
                   "vm_halt_poll_ns": meta.get("vm_halt_poll_ns")},
        "kvm": {"figures": figures(rows, "kvm", chosen),
                "counters": counter_table(rows, "kvm", chosen),
                "thread_switches": thread_table(rows, "kvm", chosen, "thread_switches", None),
                "thread_cpu": thread_table(rows, "kvm", chosen, "thread_cpu_ns",
                                           meta.get("seconds"))},
        "local": {"figures": figures(rows, "local", chosen),
                  "counters": counter_table(rows, "local", chosen),
                  "thread_switches": thread_table(rows, "local", chosen, "thread_switches",
                                                  None),
                  "thread_cpu": thread_table(rows, "local", chosen, "thread_cpu_ns",
                                             meta.get("seconds"))},
    }
    with open(json_out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    text = markdown(result)
    with open(md_out, "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
