"""Reduces the measurements of tests/bench/run to one Markdown table.

Usage: summarize.py RESULTS.jsonl
       summarize.py --study-log LOG WALL_SECONDS UNITS RANKS   (one JSON line from sweep's log)

Each input line is {"rep": R, "case": NAME, "result": {...}}, written by tests/bench/run:
  sgemm-1, sgemm-all        bench_trainer sgemm (gflops)
  flops                     bench_trainer flops (flops_per_image_28)
  sweep-P, pytorch-P        one line per process of P concurrent 1-thread trainers
  packed-P                  the same for sweep's trainer with packs of 2 units
  sweep-all, pytorch-all    one process using every core
  study-W                   the small study under mpirun with W workers (parsed from its log)
A measure's min, median and max are taken over the repetitions. The ratio column holds the
quantity its target bounds, from medians: sweep over PyTorch, share of peak as a fraction,
2-worker over 1-worker rate, or the overhead as a fraction of worker time.
"""
import collections
import json
import re
import statistics
import sys

PEAK_SHARE_TARGET = 0.40   # of the measured fp32 matrix-multiply rate
PYTORCH_RATIO_TARGET = 1.5  # per-node training rate over the plain PyTorch script
OVERHEAD_TARGET = 1.0      # percent of a sweep's worker time in HDF5 writes and waiting
SCALING_TARGET = 1.8       # aggregate rate with 2 workers over 1 worker


STUDY_TRAIN_IMAGES = 60000  # one epoch of Fashion-MNIST per unit


def parse_study_log(path, wall_seconds, units, ranks):
    """The times rank 0 logs at the end of a run: its elapsed time, and the workers' time spent
    training, loading data, writing to HDF5 and waiting for work, as percentages."""
    text = open(path).read()
    finished = re.search(r"finished in ([\d.]+) s: (\d+) trained", text)
    shares = re.search(r"worker time .*?training [\d.]+ s \(([\d.]+) %\), loading data [\d.]+ s "
                       r"\(([\d.]+) %\), writing results [\d.]+ s \(([\d.]+) %\), waiting for "
                       r"work [\d.]+ s \(([\d.]+) %\)", text)
    if not finished or not shares:
        sys.exit(f"summarize: {path}: no 'finished in' or 'worker time' line in sweep's log")
    training, loading, writing, waiting = (float(group) for group in shares.groups())
    return {"wall_seconds": float(wall_seconds), "units": int(units), "ranks": int(ranks),
            "elapsed": float(finished.group(1)), "trained": int(finished.group(2)),
            "train_images": STUDY_TRAIN_IMAGES, "training": training, "loading": loading,
            "writing": writing, "waiting": waiting}


def load(path):
    by_case = collections.defaultdict(lambda: collections.defaultdict(list))
    for line in open(path):
        if line.strip():
            record = json.loads(line)
            by_case[record["case"]][record["rep"]].append(record["result"])
    return by_case


def aggregate_rate(processes):
    """Training images per second of processes that ran at once: all their images over the
    span from the first start to the last end, so a late or slow process counts against it."""
    images = sum(p["train_images"] for p in processes)
    span = max(p["train_end"] for p in processes) - min(p["train_start"] for p in processes)
    return images / span


class Table:
    def __init__(self):
        self.rows = []

    def add(self, measure, values, target="", ratio=None, met=None, digits=0):
        if not values:
            self.rows.append((measure, "n/a", "n/a", "n/a", target, "", ""))
            return
        cells = [f"{v:,.{digits}f}" for v in (min(values), statistics.median(values),
                                              max(values))]
        ratio_text = "" if ratio is None else f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"
        met_text = "" if met is None else ("yes" if met else "**no**")
        self.rows.append((measure, *cells, target, ratio_text, met_text))

    def print(self):
        print("| measure | min | median | max | target | ratio | met? |")
        print("| --- | ---: | ---: | ---: | --- | ---: | --- |")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


def main():
    if sys.argv[1] == "--study-log":
        print(json.dumps(parse_study_log(*sys.argv[2:6])))
        return
    by_case = load(sys.argv[1])
    per_rep = lambda case, key: [r[0][key] for r in by_case[case].values()]
    rates = lambda case: [aggregate_rate(r) for r in by_case[case].values()]
    median = lambda values: statistics.median(values) if values else float("nan")
    table = Table()

    flops = by_case["flops"][1][0]["flops_per_image_28"]
    peak_1 = per_rep("sgemm-1", "gflops")
    peak_all = per_rep("sgemm-all", "gflops")
    cores = by_case["sgemm-all"][1][0]["threads"]
    table.add("fp32 sgemm 2048³, 1 thread, GFLOP/s", peak_1, digits=1)
    table.add(f"fp32 sgemm 2048³, {cores} threads (peak), GFLOP/s", peak_all, digits=1)
    table.add("useful training FLOPs per 28×28 image, M (fwd + 2 bwd, no conv1 input grad)",
              [flops / 1e6], digits=3)
    ceiling = [p * 1e9 / flops for p in peak_all]
    table.add("ceiling: peak / FLOPs per image, img/s", ceiling)

    for trainer in ("sweep", "pytorch"):
        table.add(f"per worker, {trainer}, 1 thread: train img/s",
                  per_rep(f"{trainer}-1", "train_images_per_second"))
        table.add(f"per worker, {trainer}, 1 thread: test img/s (batch 1,000)",
                  per_rep(f"{trainer}-1", "test_images_per_second"))
    for trainer in ("sweep", "pytorch"):
        table.add(f"one process, {trainer}, {cores} threads: train img/s",
                  per_rep(f"{trainer}-all", "train_images_per_second"))

    workers = sorted(int(case.split("-")[1]) for case in by_case
                     if case.startswith("sweep-") and case.split("-")[1].isdigit())
    for count in workers:
        ours, theirs = rates(f"sweep-{count}"), rates(f"pytorch-{count}")
        ratio = median(ours) / median(theirs) if theirs else None
        table.add(f"per node, {count} sweep worker(s) × 1 thread: train img/s", ours,
                  f"≥ {PYTORCH_RATIO_TARGET}× PyTorch", ratio,
                  ratio is not None and ratio >= PYTORCH_RATIO_TARGET)
        table.add(f"per node, {count} PyTorch process(es) × 1 thread: train img/s", theirs)
        # The peak of as many cores as workers: 1-thread sgemm for one, all cores for all.
        if count == 1:
            peak, basis = median(peak_1), "1-thread"
        else:
            peak, basis = median(peak_all) * min(count, cores) / cores, f"{cores}-thread"
        share = median(ours) * flops / (peak * 1e9)
        table.add(f"per node, {count} sweep worker(s): share of the {basis} sgemm peak, %",
                  [r * flops / (peak * 1e9) * 100 for r in ours],
                  f"≥ {PEAK_SHARE_TARGET:.0%}", share, share >= PEAK_SHARE_TARGET, digits=1)
    # The same, with each worker training packs of 2 units (sweep run --pack 2).
    for count in workers:
        ours, theirs = rates(f"packed-{count}"), rates(f"pytorch-{count}")
        if not ours:
            continue
        ratio = median(ours) / median(theirs) if theirs else None
        table.add(f"per node, {count} sweep worker(s) × 1 thread, --pack 2: train img/s", ours,
                  f"≥ {PYTORCH_RATIO_TARGET}× PyTorch", ratio,
                  ratio is not None and ratio >= PYTORCH_RATIO_TARGET)
        peak = median(peak_1) if count == 1 else median(peak_all) * min(count, cores) / cores
        share = median(ours) * flops / (peak * 1e9)
        table.add(f"per node, {count} sweep worker(s), --pack 2: share of the sgemm peak, %",
                  [r * flops / (peak * 1e9) * 100 for r in ours],
                  f"≥ {PEAK_SHARE_TARGET:.0%}", share, share >= PEAK_SHARE_TARGET, digits=1)
    if 1 in workers and 2 in workers:
        scaling = [two / one for one, two in zip(rates("sweep-1"), rates("sweep-2"))]
        ratio = median(scaling)
        table.add("strong scaling, sweep 1 → 2 workers", scaling, f"≥ {SCALING_TARGET}×",
                  ratio, ratio >= SCALING_TARGET, digits=2)

    # The same study with 1 and 2 workers under mpirun: the node's rate as a user sees it,
    # data loading and HDF5 included, and its strong scaling.
    node_rate = lambda runs: [s["trained"] * s["train_images"] / s["elapsed"] for s in runs]
    studies = {w: [r[0] for r in by_case[f"study-{w}"].values()] for w in (1, 2)}
    for count, runs in studies.items():
        if runs:
            table.add(f"per node under mpirun, {count} worker(s): train img/s of the study "
                      "(images / elapsed, loading included)", node_rate(runs))
    if studies[1] and studies[2]:
        scaling = [two / one for one, two in zip(node_rate(studies[1]), node_rate(studies[2]))]
        ratio = median(scaling)
        table.add("strong scaling under mpirun, 1 → 2 workers", scaling,
                  f"≥ {SCALING_TARGET}×", ratio, ratio >= SCALING_TARGET, digits=2)

    study = studies[2]
    if study:
        units = study[0]["units"]
        table.add(f"sweep of {units} units × 1 epoch, mpirun -n {study[0]['ranks']}: "
                  "wall time, s (launch to exit)", [s["wall_seconds"] for s in study], digits=1)
        table.add("  units per hour (rank 0's elapsed time)",
                  [3600 * s["trained"] / s["elapsed"] for s in study])
        for key, label in (("training", "training (train_unit)"), ("loading", "loading data"),
                           ("writing", "HDF5 writes"), ("waiting", "waiting for work")):
            table.add(f"  share of worker time: {label}, %", [s[key] for s in study],
                      digits=3)
        overhead = [s["writing"] + s["waiting"] for s in study]
        table.add("  share of worker time: HDF5 writes + waiting, %", overhead,
                  f"< {OVERHEAD_TARGET} %", median(overhead) / 100,
                  median(overhead) < OVERHEAD_TARGET, digits=3)
    table.print()


if __name__ == "__main__":
    main()
