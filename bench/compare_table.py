"""Summarises bench/compare's raw JSON lines: a table on stdout, one JSON line per (engine, threads, length) to OUT.

Usage: compare_table.py RAW.jsonl OUT.jsonl
RAW holds {"engine": "peak", "threads": N, "gflops": G} lines (N copies of peak.c side by side) and the
lines `albertner bench` and `ort.mjs bench` print, one per process (round) and length.
"""
import json
import statistics
import sys

ENGINES = ("albertner", "onnxruntime-node")


def forward_flops(seq):
    # ALBERT-base, batch 1: ~170 MFLOP per token plus 0.037*T MFLOP per token of attention
    # (SHARED/peers/ort/README.md).
    return seq * (170e6 + 0.037e6 * seq)


def main(raw_path, out_path):
    peak = {}
    rounds = {}  # (engine, threads, seq) -> that engine's lines, one per round
    with open(raw_path) as f:
        for line in f:
            r = json.loads(line)
            if r["engine"] == "peak":
                peak[r["threads"]] = r["gflops"]
            else:
                rounds.setdefault((r["engine"], r["threads"], r["seq"]), []).append(r)

    summary = {}
    for key, rs in rounds.items():
        engine, threads, seq = key
        # Each process reports only its median, so the overall figure is the median of the rounds' medians.
        median = statistics.median(r["median_ms"] for r in rs)
        gflops = forward_flops(seq) / (median / 1e3) / 1e9
        summary[key] = {
            "engine": engine,
            "threads": threads,
            "batch": 1,
            "seq": seq,
            "runs": sum(r["runs"] for r in rs),
            "rounds": len(rs),
            "median_ms": round(median, 3),
            "min_ms": round(min(r["min_ms"] for r in rs), 3),
            "max_ms": round(max(r["max_ms"] for r in rs), 3),
            "gflops": round(gflops, 2),
            "peak_gflops": peak[threads],
            "peak_pct": round(100 * gflops / peak[threads], 1),
        }
    with open(out_path, "w") as f:
        for key in sorted(summary):
            f.write(json.dumps(summary[key]) + "\n")

    print("fp32 AVX-512 peak (peak.c, one copy per thread): " +
          ", ".join(f"{t} thread(s) {g:.1f} GFLOP/s" for t, g in sorted(peak.items())))
    some = next(iter(summary.values()))
    print(f"median ms over {some['runs']} runs per engine in {some['rounds']} interleaved rounds (median of the "
          "rounds' medians); ratio = albertner / ORT, above 1 means albertner is slower")
    print()
    header = ("threads", "seq", "albertner ms", "ORT ms", "ratio", "albertner GFLOP/s", "%peak", "ORT GFLOP/s", "%peak")
    widths = [max(len(h), 7) for h in header]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for threads, seq in sorted({(t, s) for _, t, s in summary}):
        ours, ort = (summary.get((e, threads, seq)) for e in ENGINES)
        cells = [str(threads), str(seq)]
        cells += [f"{r['median_ms']:.2f}" if r else "-" for r in (ours, ort)]
        cells.append(f"{ours['median_ms'] / ort['median_ms']:.2f}" if ours and ort else "-")
        for r in (ours, ort):
            cells += [f"{r['gflops']:.1f}", f"{r['peak_pct']:.1f}%"] if r else ["-", "-"]
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    print()
    print(f"results: {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
