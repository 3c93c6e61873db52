#!/usr/bin/python3
"""plot.py - downtime vs memory size from bench/run.sh's results.json.

    /usr/bin/python3 bench/plot.py [results.json] [downtime.png]

One line per method (ferry, baseline runc checkpoint/copy/restore), plus the
client-visible gap (probe max_gap_ms) dashed.  Failed runs are left out of the
lines and marked with an x at the bottom.  Needs matplotlib (Debian's
python3-matplotlib, i.e. the system python, not a pyenv one).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = [
    ("ferry", "ferry migrate", "tab:blue"),
    ("baseline", "runc checkpoint + copy + restore", "tab:red"),
]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "results.json")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "results", "downtime.png")
    with open(src) as f:
        runs = sorted(json.load(f)["runs"], key=lambda r: r["size_mib"])

    fig, ax = plt.subplots(figsize=(8, 5))
    for key, label, color in METHODS:
        ok = [r for r in runs if r[key].get("result") == "ok" and r[key].get("downtime_ms") is not None]
        xs = [r["size_mib"] for r in ok]
        ax.plot(xs, [r[key]["downtime_ms"] for r in ok], "o-", color=color, label=f"{label}: downtime")
        for x, y in zip(xs, [r[key]["downtime_ms"] for r in ok]):
            ax.annotate(f"{y:.0f}", (x, y), textcoords="offset points", xytext=(4, 6),
                        fontsize=8, color=color)
        gaps = [(r["size_mib"], r[key]["client_gap_ms"]) for r in ok
                if r[key].get("client_gap_ms") is not None]
        if gaps:
            ax.plot(*zip(*gaps), "s--", color=color, alpha=0.5, markersize=4,
                    label=f"{label}: client max gap")
        stalled = [(r["size_mib"], r[key]["client_gap_lower_bound_ms"]) for r in ok
                   if r[key].get("client_gap_lower_bound_ms") is not None]
        if stalled:
            ax.plot(*zip(*stalled), "^", color=color, alpha=0.6, markersize=8,
                    label=f"{label}: client gap > (no reply before probe stopped)")
        failed = [r["size_mib"] for r in runs if r[key].get("result") != "ok"]
        if failed:
            ax.plot(failed, [0] * len(failed), "x", color=color, markersize=10,
                    label=f"{label}: failed")

    sizes = [r["size_mib"] for r in runs]
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel("container memory (MiB, memhog rewriting it)")
    ax.set_ylabel("ms")
    ax.set_ylim(bottom=0)
    ax.set_title("Migration downtime node1 -> node2 vs memory size")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(dst, dpi=120)
    print(f"plot: wrote {dst}")


if __name__ == "__main__":
    main()
