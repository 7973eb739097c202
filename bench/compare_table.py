"""Summarises bench/compare's raw JSON lines: a table on stdout, one JSON line per (engine, threads, length) to OUT.

Usage: compare_table.py RAW.jsonl OUT.jsonl
RAW holds {"engine": "peak", "threads": N, "f32": G, "bf16": G, "int8": G} lines (N copies of peak.c side
by side) and the lines `albertner bench` ("albertner f32", "albertner int8": the engine names carry the model's
precision) and `ort.mjs bench` (fp32) print, one per process (round) and length.
"""
import json
import statistics
import sys

ORT = "onnxruntime-node"
PRECISIONS = ("f32", "bf16", "int8")


def forward_flops(seq):
    # ALBERT-base, batch 1: ~170 MFLOP per token plus 0.037*T MFLOP per token of attention
    # (SHARED/peers/ort/README.md).
    return seq * (170e6 + 0.037e6 * seq)


def percent(pct):
    return "n/a" if pct is None else f"{pct:.1f}%"


def precision_of(engine):
    return engine.split(" ", 1)[1] if engine.startswith("albertner ") else "f32"


def main(raw_path, out_path):
    peak = {}  # (precision, threads) -> GFLOP/s
    rounds = {}  # (engine, threads, seq) -> that engine's lines, one per round
    with open(raw_path) as f:
        for line in f:
            r = json.loads(line)
            if r["engine"] == "peak":
                for precision in PRECISIONS:
                    peak[(precision, r["threads"])] = r[precision]
            else:
                rounds.setdefault((r["engine"], r["threads"], r["seq"]), []).append(r)

    summary = {}
    for key, rs in rounds.items():
        engine, threads, seq = key
        # Each process reports only its median, so the overall figure is the median of the rounds' medians.
        median = statistics.median(r["median_ms"] for r in rs)
        gflops = forward_flops(seq) / (median / 1e3) / 1e9
        precision = precision_of(engine)
        summary[key] = {
            "engine": engine,
            "precision": precision,
            "threads": threads,
            "batch": 1,
            "seq": seq,
            "runs": sum(r["runs"] for r in rs),
            "rounds": len(rs),
            "median_ms": round(median, 3),
            "min_ms": round(min(r["min_ms"] for r in rs), 3),
            "max_ms": round(max(r["max_ms"] for r in rs), 3),
            "gflops": round(gflops, 2),
            "peak_gflops": peak[(precision, threads)],
            "peak_pct": round(100 * gflops / peak[(precision, threads)], 1) if peak[(precision, threads)] else None,
        }
    with open(out_path, "w") as f:
        for key in sorted(summary):
            f.write(json.dumps(summary[key]) + "\n")

    ours = sorted({e for e, _, _ in summary if e != ORT}, key=lambda e: PRECISIONS.index(precision_of(e)))
    for precision in [p for p in PRECISIONS if p == "f32" or p in {precision_of(e) for e in ours}]:
        print(f"{precision} peak (peak.c, one copy per thread): " +
              ", ".join(f"{t} thread(s) {g:.1f} {'GOP/s' if precision == 'int8' else 'GFLOP/s'}"
                        for (p, t), g in sorted(peak.items()) if p == precision))
    some = next(iter(summary.values()))
    print(f"median ms over {some['runs']} runs per engine in {some['rounds']} interleaved rounds (median of the "
          "rounds' medians); ratio = albertner / ORT (fp32), below 1 means albertner is faster; %peak against the "
          "peak of the engine's precision; best = ratio of the two engines' fastest runs, the figure least moved by "
          "other load on a shared machine")
    print()
    header = ["threads", "seq", "ORT ms", "GFLOP/s", "%peak"]
    for e in ours:
        header += [f"{e} ms", "ratio", "best", "GFLOP/s", "%peak"]
    widths = [max(len(h), 7) for h in header]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for threads, seq in sorted({(t, s) for _, t, s in summary}):
        ort = summary.get((ORT, threads, seq))
        cells = [str(threads), str(seq)]
        cells += [f"{ort['median_ms']:.2f}", f"{ort['gflops']:.1f}", percent(ort['peak_pct'])] if ort else ["-"] * 3
        for e in ours:
            r = summary.get((e, threads, seq))
            if not r:
                cells += ["-"] * 5
                continue
            cells += [f"{r['median_ms']:.2f}", f"{r['median_ms'] / ort['median_ms']:.2f}" if ort else "-",
                      f"{r['min_ms'] / ort['min_ms']:.2f}" if ort else "-", f"{r['gflops']:.1f}", percent(r['peak_pct'])]
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    print()
    print(f"results: {out_path}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
