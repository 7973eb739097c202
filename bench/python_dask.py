#!/usr/bin/env python3
"""Sentences per second of albertner from Python and on a Dask LocalCluster, and memory per worker.

For each model (ALBERT-base golden checkpoint converted to fp32 and to int8), on the CoNLL-2003 test
sentences (words joined by spaces, as `albertner tag` gets them):
  - one process: albertner.Tagger(threads=1) tagging all sentences in calls of --chunk texts;
  - LocalCluster(n_workers=1 and 2, threads_per_worker=1, processes=True): albertner.dask.tag_bag over
    --partitions-per-worker partitions per worker. Each worker's Tagger is opened (and its first
    partition run) before the clock starts, so the figures are steady-state throughput;
  - the 2-vs-1-worker scaling ratio;
  - per worker process: RSS, PSS and shared pages from /proc/PID/smaps_rollup, and the model file's
    own mapping (its resident and shared kilobytes from /proc/PID/smaps).
Each timing is the best of --repeat runs. The machine must be otherwise idle for the numbers to mean
anything: on a busy machine run it with --sentences 100 --repeat 1 only to check that it works.

Run with the package installed (README: "Use it from Python"):
    .venv/bin/python bench/python_dask.py [--shared ../shared] [--sentences N] [--repeat 3] [--json out.json]
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

import albertner
import albertner.dask as ad


def memory(model_path):
    """This process's memory (kB): smaps_rollup totals, and the model file's mapping from smaps."""
    out = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    keep = {k: out.get(k, 0) for k in ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")}
    model = {"Rss": 0, "Pss": 0, "Shared_Clean": 0, "Private_Clean": 0}
    name = os.path.realpath(model_path)
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                inside = len(head) >= 6 and os.path.realpath(head[5]) == name if len(head) >= 6 else False
            elif inside and head and head[0].rstrip(":") in model:
                model[head[0].rstrip(":")] += int(head[1])
    keep["model_file"] = model
    keep["pid"] = os.getpid()
    return keep


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def one_process(model, sentences, chunk, repeat):
    tagger = albertner.Tagger(model, threads=1)
    tagger(sentences[:chunk])  # warm: scratch grown, pages touched
    def run():
        for i in range(0, len(sentences), chunk):
            tagger(sentences[i:i + chunk])
    seconds = best_of(repeat, run)
    return {"seconds": seconds, "sentences_per_s": len(sentences) / seconds, "memory": memory(model)}


def cluster(model, sentences, workers, partitions_per_worker, repeat):
    import dask.bag as db
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      worker_dashboard_address=None) as lc, Client(lc) as client:
        # Open the Tagger in every worker before timing (one tiny partition per worker, pinned).
        for addr in client.scheduler_info()["workers"]:
            client.submit(ad._tag_partition, sentences[:8], model, {"threads": 1}, workers=[addr],
                          pure=False).result()
        bag = db.from_sequence(sentences, npartitions=workers * partitions_per_worker)
        tagged = ad.tag_bag(bag, model=model, threads=1)
        seconds = best_of(repeat, lambda: tagged.compute())
        mem = client.run(memory, model)
    return {"workers": workers, "seconds": seconds, "sentences_per_s": len(sentences) / seconds,
            "memory_per_worker": list(mem.values())}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--shared", default=os.environ.get("ALBERTNER_SHARED_DIR", os.path.join(here, "..", "..", "shared")))
    p.add_argument("--sentences", type=int, default=0, help="cap on the CoNLL test sentences (0: all 3453)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--chunk", type=int, default=256, help="texts per Tagger call in the one-process run")
    p.add_argument("--partitions-per-worker", type=int, default=8)
    p.add_argument("--dtypes", default="f32,int8")
    p.add_argument("--models-dir", default="", help="where the converted models go (default: a temporary folder)")
    p.add_argument("--json", default="", help="also write the results here")
    a = p.parse_args()

    sentences = albertner.conll_texts(os.path.join(a.shared, "data", "conll2003", "test.txt"), a.sentences)
    base = os.path.join(a.shared, "golden", "base")
    tmp = None
    models_dir = a.models_dir
    if not models_dir:
        tmp = tempfile.TemporaryDirectory(prefix="albertner-bench-")
        models_dir = tmp.name
    results = {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
               "sentences": len(sentences), "repeat": a.repeat, "runs": []}
    try:
        with open("/proc/cpuinfo") as f:
            results["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), results["cpu"])
    except OSError:
        pass
    os.makedirs(models_dir, exist_ok=True)
    for dtype in a.dtypes.split(","):
        model = os.path.join(models_dir, f"golden-base-{dtype}.safetensors")
        if not os.path.isfile(model):
            albertner.convert(base, model, dtype=dtype)
        row = {"dtype": dtype, "model_bytes": os.path.getsize(model)}
        row["one_process"] = one_process(model, sentences, a.chunk, a.repeat)
        row["cluster"] = [cluster(model, sentences, w, a.partitions_per_worker, a.repeat) for w in (1, 2)]
        row["scaling_2_vs_1"] = row["cluster"][1]["sentences_per_s"] / row["cluster"][0]["sentences_per_s"]
        results["runs"].append(row)

        print(f"{dtype}: model {row['model_bytes'] / 1e6:.1f} MB, {len(sentences)} sentences")
        print(f"  one process         {row['one_process']['sentences_per_s']:8.1f} sentences/s"
              f"  (RSS {row['one_process']['memory']['Rss'] / 1024:.0f} MiB)")
        for c in row["cluster"]:
            print(f"  LocalCluster {c['workers']} proc  {c['sentences_per_s']:8.1f} sentences/s")
            for m in c["memory_per_worker"]:
                mf = m["model_file"]
                print(f"    worker {m['pid']}: RSS {m['Rss'] / 1024:.0f} MiB, PSS {m['Pss'] / 1024:.0f} MiB, "
                      f"shared {(m['Shared_Clean'] + m['Shared_Dirty']) / 1024:.0f} MiB; model file resident "
                      f"{mf['Rss'] / 1024:.1f} MiB of which shared {mf['Shared_Clean'] / 1024:.1f} MiB")
        print(f"  scaling 2 vs 1 worker: {row['scaling_2_vs_1']:.2f}")
        sys.stdout.flush()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
