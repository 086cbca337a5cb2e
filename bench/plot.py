#!/usr/bin/env python3
"""The chart of docs/benchmarks.md: bench/plot.py RESULTS.json OUT.png (needs matplotlib;
bench/run.sh installs it into target/bench/plot-venv).

Top row: messages per second per client, awaiting each send and pipelined, with the ratio to
the raw rumqttc floor. Bottom row: client CPU time per message (log scale)."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"floor": "#9e9e9e", "reference": "#cfcfcf", "iotsec": "#1f77b4", "official": "#ff7f0e"}
TITLES = {"await": "await each send (1 in flight)", "pipelined": "pipelined"}


def main() -> None:
    results = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    clients = results["clients"]
    modes = results["modes"]
    fig, axes = plt.subplots(2, len(modes), figsize=(7.2 * len(modes), 9.4), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 2]})
    for col, mode in enumerate(modes):
        per = results["summary"][mode]
        shown = [c for c in clients if c["key"] in per]
        labels = [c["label"] for c in shown]
        y = list(range(len(shown)))[::-1]
        colors = [COLORS[c["kind"]] for c in shown]
        rates = [per[c["key"]]["msgs_per_sec"] for c in shown]
        ax = axes[0][col]
        ax.barh(y, rates, color=colors)
        ax.set_yticks(y)
        ax.set_yticklabels(labels if col == 0 else [""] * len(labels))
        ax.set_title(f"{TITLES[mode]}: messages per second", fontsize=11)
        top = max(rates) * 1.38
        ax.set_xlim(0, top)
        floor = per.get("raw", {}).get("msgs_per_sec")
        if floor:
            ax.axvline(floor, color="#555555", linestyle="--", linewidth=0.8)
            ax.axvline(floor * 0.8, color="#bbbbbb", linestyle=":", linewidth=0.8)
        for yi, c, r in zip(y, shown, rates):
            s = per[c["key"]]
            note = f"{r:,.0f}"
            if c["kind"] in ("iotsec", "reference"):
                note += f"  {s['ratio_to_raw']:.2f}× raw"
                if "ratio_to_official" in s:
                    note += f", {s['ratio_to_official']:.1f}× SDK"
            ax.text(r + top * 0.01, yi, note, va="center", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax2 = axes[1][col]
        cpu = [per[c["key"]]["cpu_us_per_msg"] for c in shown]
        ax2.barh(y, cpu, color=colors)
        ax2.set_xscale("log")
        ax2.set_yticks(y)
        ax2.set_yticklabels(labels if col == 0 else [""] * len(labels))
        ax2.set_title(f"{TITLES[mode]}: client CPU µs per message (log)", fontsize=11)
        ax2.set_xlim(1, max(cpu) * 4)
        ax2.axvline(20, color="#bbbbbb", linestyle=":", linewidth=0.8)
        for yi, v in zip(y, cpu):
            ax2.text(v * 1.08, yi, f"{v:.1f}", va="center", fontsize=8)
        ax2.grid(axis="x", alpha=0.3, which="both")
    m = results["machine"]
    fig.suptitle(
        f"{results['count']:,} guide-sized security messages ({results['body_bytes']} bytes) per run, QoS 1 over TLS to mosquitto "
        f"on 127.0.0.1; median of {results['rounds']} rounds\n{m['cores']} cores, {m['cpu']}, Linux {m['kernel']}. "
        "Grey: raw rumqttc (floor, dashed; dotted: 0.8×), blue: iotsec, orange: official SDK",
        fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
