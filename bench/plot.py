#!/usr/bin/python3
"""plot.py - downtime and client gap vs memory size from bench/run.sh's results.json.

    /usr/bin/python3 bench/plot.py [results.json] [downtime.png]

Left panel: downtime (freeze -> running on the target) per method; right
panel: the longest gap one TCP client saw (probe max_gap_ms).  One line per
method (ferry stop-copy, ferry postcopy, ferry precopy, ferry hybrid, baseline runc checkpoint/copy/restore),
log-scale y.  A failed run is marked with an x at the bottom of the panel; a
probe that got no reply before it was stopped is drawn as a "^" at its lower
bound.  Needs matplotlib (Debian's python3-matplotlib, i.e. the system python).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = [
    ("stop-copy", "ferry stop-copy", "tab:blue", "o"),
    ("postcopy", "ferry postcopy", "tab:green", "D"),
    ("precopy", "ferry precopy", "tab:purple", "^"),
    ("hybrid", "ferry hybrid (pre-copy, then post-copy)", "tab:orange", "v"),
    ("baseline", "baseline: runc checkpoint + copy + restore", "tab:red", "s"),
]


def label_points(ax, pts):
    """Value labels: baseline's to the left; of the others at one size, the
    lowest below-right and the rest above-right, so close values stay legible."""
    by_x = {}
    for x, y, method, color in pts:
        by_x.setdefault(x, []).append((y, method, color))
    for x, group in by_x.items():
        right = sorted((g for g in group if g[1] != "baseline"), key=lambda g: g[0])
        for i, (y, method, color) in enumerate(right):
            off = (7, -12) if i == 0 and len(right) > 1 else (7, 4)
            ax.annotate(f"{y:.0f}", (x, y), textcoords="offset points", xytext=off,
                        fontsize=8, color=color)
        for y, method, color in (g for g in group if g[1] == "baseline"):
            ax.annotate(f"{y:.0f}", (x, y), textcoords="offset points", xytext=(-8, 4),
                        ha="right", fontsize=8, color=color)


def ok(r):
    return r.get("result") == "ok"


def panel(ax, runs, key, title, lower_bound_key=None):
    labels = []
    for method, label, color, marker in METHODS:
        rs = sorted((r for r in runs if r.get("method") == method), key=lambda r: r["size_mib"])
        if not rs:
            continue
        pts = [(r["size_mib"], r[key]) for r in rs if ok(r) and r.get(key)]
        if pts:
            ax.plot(*zip(*pts), marker=marker, linestyle="-", color=color, label=label)
            labels += [(x, y, method, color) for x, y in pts]
        if lower_bound_key:
            lb = [(r["size_mib"], r[lower_bound_key]) for r in rs
                  if ok(r) and not r.get(key) and r.get(lower_bound_key)]
            if lb:
                ax.plot(*zip(*lb), "^", color=color, markersize=9, alpha=0.7,
                        label=f"{label}: > (no reply before probe stopped)")
        failed = [r["size_mib"] for r in rs if not ok(r)]
        if failed:
            ax.plot(failed, [0.02] * len(failed), "x", color=color, markersize=11, mew=2,
                    transform=ax.get_xaxis_transform(), clip_on=False, label=f"{label}: failed")
    label_points(ax, labels)
    ax.set_yscale("log")
    ax.margins(x=0.08, y=0.12)
    ax.set_title(title)
    ax.set_xlabel("container memory, MiB (memhog rewriting it at 256 MiB/s)")
    ax.set_ylabel("ms (log scale)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "results.json")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "results", "downtime.png")
    with open(src) as f:
        data = json.load(f)
    runs = [r for r in data.get("runs", []) if r.get("method")]
    sizes = sorted({r["size_mib"] for r in runs})

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.5))
    panel(a1, runs, "downtime_ms", "Downtime (freeze -> running on node2)")
    panel(a2, runs, "client_gap_ms", "Client max gap (one TCP connection, PING every 5 ms)",
          lower_bound_key="client_gap_lower_bound_ms")
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(s) for s in sizes])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        if len(sizes) == 1:
            ax.set_xlim(sizes[0] / 2, sizes[0] * 2)
        fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(fmt)
        ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2, 5)))
        ax.yaxis.set_minor_formatter(fmt)
        ax.tick_params(axis="y", which="minor", labelsize=7)
    bps = (data.get("link") or {}).get("bits_per_second")
    link = f"link node1 -> node2: {bps / 1e9:.1f} Gbit/s (iperf3)" if bps else "link not measured"
    fig.suptitle(f"ferry live migration node1 -> node2 vs memory size ({link})", fontsize=11)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print(f"plot: wrote {dst}")


if __name__ == "__main__":
    main()
