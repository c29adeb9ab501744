"""Data-parallel training throughput: 2 MPI ranks x 1 BLAS thread against one process with 1 and 2 threads.

One training step of the same global batch G, for three models of the course:

* ``mlp``: 784-512-256-10 ReLU MLP (``zoo.MLP``), G = 128, Adam (the size of ``bench_mlp.py``);
* ``lstm``: LSTM language model (``zoo.RNNLM``: V 10000, E = H = 200, one layer), G = 20 sequences of
  T = 35 tokens (Zaremba et al.'s small PTB model), SGD;
* ``resnet20``: the CIFAR-10 ResNet-20 (``zoo.resnet20``), G = 128 images of 3x32x32, SGD with momentum.

The data are synthetic, of the right shapes and dtypes (uniform pixels / features, uniform token ids and
labels): the step's arithmetic does not depend on the values, and no download is needed. A step is
:func:`glassnet.train.train_step`: forward, softmax cross-entropy, backward, and on 2 ranks the gradient
``Allreduce`` of :class:`glassnet.distributed.DistributedDataParallel` (each rank's share is the strided half
``[r::2]`` of the global batch, as :class:`~glassnet.distributed.DistributedLoader` gives), then the update.

Each configuration runs in a fresh process (``mpiexec -n 2`` for the ranks) that warms up, then times
``--repeats`` blocks of ``--steps`` steps (on 2 ranks between barriers, so a block ends when the slower rank
ends); the fastest block is reported (interference only ever adds time) beside the median. The
configurations run one after the other, ``--rounds`` times in alternating order, and each keeps its best
round. Throughput is global samples per second, ``G · steps / seconds``.

Goal (issue 12): 2 ranks x 1 thread >= 1.6x one single-threaded process. The load average (1 min) is printed
before and after each configuration: on a shared machine the numbers are indicative only.

Usage::

    python benchmarks/bench_distributed.py                        # all three models
    python benchmarks/bench_distributed.py --models mlp lstm --repeats 5 --rounds 2
    python benchmarks/bench_distributed.py --models mlp --global-batch 128 512 2048   # how G changes the ratio
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

GOAL = 1.6
# model -> (description, global batch G, default steps per timed block)
CASES = {
    "mlp": ("MLP 784-512-256-10, Adam", 128, 20),
    "lstm": ("LSTM LM V 10000, E=H 200, T 35, SGD", 20, 4),
    "resnet20": ("ResNet-20 CIFAR-10 3x32x32, SGD momentum", 128, 2),
}
CONFIGS = [("1 process x 1 thread", 1, 1), ("1 process x 2 threads", 1, 2), ("2 ranks x 1 thread", 2, 1)]


def build(name: str, g: int):
    """``(model, optimizer, x (G, ...), t (G, ...))`` of one case, from fixed seeds (the same on every rank)."""
    from glassnet import optim
    from glassnet.zoo import MLP, RNNLM, resnet20

    rng = np.random.default_rng(0)
    if name == "mlp":
        model = MLP([784, 512, 256, 10], rng=1)
        return model, optim.Adam(model.parameters(), lr=1e-3), rng.random((g, 784), dtype=np.float32), \
            rng.integers(0, 10, size=g)
    if name == "lstm":
        model = RNNLM(10000, 200, 200, cell="lstm", rng=1)
        tokens = rng.integers(0, 10000, size=(g, 36))
        return model, optim.SGD(model.parameters(), lr=0.1), tokens[:, :-1], tokens[:, 1:]  # (G, T), next tokens
    model = resnet20(rng=1)
    return model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9), \
        rng.random((g, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, size=g)


def worker(name: str, threads: int, distributed: bool, steps: int, repeats: int, g: int) -> None:
    """Time one configuration; rank 0 prints ``RESULT {json}``."""
    from threadpoolctl import threadpool_limits

    import glassnet.functional as F
    from glassnet import Tensor
    from glassnet.train import train_step

    threadpool_limits(threads, user_api="blas")
    model, optimizer, x, t = build(name, g)
    world, ddp = None, None
    if distributed:
        from glassnet.distributed import DistributedDataParallel, init

        world = init()
        ddp = DistributedDataParallel(model, world)
        x, t = x[world.rank::world.size], t[world.rank::world.size]  # this rank's share of the global batch

    def compute_loss():
        out = model(Tensor(x))
        logits = out[0] if isinstance(out, tuple) else out  # the LM returns (logits, state)
        return F.softmax_cross_entropy(logits, t)

    def block(n: int) -> float:
        if world is not None:
            world.comm.Barrier()
        start = time.perf_counter()
        for _ in range(n):
            train_step(optimizer, compute_loss, model=model, grad_hook=ddp)
        if world is not None:
            world.comm.Barrier()  # the block ends when the slower rank ends
        return time.perf_counter() - start

    block(1 if name == "resnet20" else 2)  # warm-up: first-touch allocations, caches
    times = [block(steps) for _ in range(repeats)]
    if world is None or world.is_main:
        print("RESULT " + json.dumps({"best": min(times) / steps, "median": float(np.median(times)) / steps,
                                      "exchanges": ddp.exchanges if ddp is not None else 0}), flush=True)


def run_config(name: str, ranks: int, threads: int, steps: int, repeats: int, g: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1] / "src"),
                                                       os.environ.get("PYTHONPATH")]))}
    args = [sys.executable, __file__, "--worker", name, "--threads", str(threads), "--steps", str(steps),
            "--repeats", str(repeats), "--global-batch", str(g)]
    if ranks > 1:
        mpiexec = Path(sys.executable).with_name("mpiexec")
        args = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(ranks), *args, "--distributed"]
    load = os.getloadavg()[0]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return {**json.loads(lines[0][7:]), "load": (load, os.getloadavg()[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks per configuration")
    parser.add_argument("--steps", type=int, default=None, help="steps per block [default: per model]")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the configurations")
    parser.add_argument("--global-batch", type=int, nargs="+", default=None, metavar="G",
                        help="global batch sizes to measure (each a row) [default: each model's own]")
    parser.add_argument("--worker", choices=list(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--distributed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.threads, args.distributed, args.steps or CASES[args.worker][2], args.repeats,
               args.global_batch[0] if args.global_batch else CASES[args.worker][1])
        return

    import numpy
    from threadpoolctl import threadpool_info

    blas = sorted({(i["internal_api"], i["version"]) for i in threadpool_info() if i["user_api"] == "blas"})
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; NumPy {numpy.__version__}, BLAS {blas}; "
          f"synthetic data of the real shapes; best of {args.repeats} blocks, best of {args.rounds} rounds")
    rows = []
    for name, g in [(m, g) for m in args.models for g in (args.global_batch or [CASES[m][1]])]:
        description, _, default_steps = CASES[name]
        steps = args.steps or default_steps
        best: dict[str, dict] = {}
        for round_ in range(args.rounds):
            order = CONFIGS if round_ % 2 == 0 else CONFIGS[::-1]
            for label, ranks, threads in order:
                result = run_config(name, ranks, threads, steps, args.repeats, g)
                if ranks > 1:
                    assert result["exchanges"] == (args.repeats * steps + (1 if name == "resnet20" else 2))
                print(f"  {name:8s} {label:22s} round {round_ + 1}: {g / result['best']:8.1f} samples/s (best), "
                      f"{g / result['median']:8.1f} (median); load average {result['load'][0]:.1f} -> "
                      f"{result['load'][1]:.1f}", flush=True)
                if label not in best or result["best"] < best[label]["best"]:
                    best[label] = result
        rate = {label: g / best[label]["best"] for label, _, _ in CONFIGS}
        loads = [x for r in best.values() for x in r["load"]]
        rows.append((description, g, *rate.values(), rate[CONFIGS[2][0]] / rate[CONFIGS[0][0]],
                     rate[CONFIGS[2][0]] / rate[CONFIGS[1][0]], min(loads), max(loads)))
    print()
    print("| model | global batch | 1 proc x 1 thr samples/s | 1 proc x 2 thr | 2 ranks x 1 thr | "
          f"2 ranks / 1x1 (goal >= {GOAL}) | 2 ranks / 1x2 | load average |")
    print("|---|---|---|---|---|---|---|---|")
    for d, g, r11, r12, r21, ratio1, ratio2, lo, hi in rows:
        verdict = "met" if ratio1 >= GOAL else "not met"
        print(f"| {d} | {g} | {r11:.1f} | {r12:.1f} | {r21:.1f} | {ratio1:.2f}x ({verdict}) | {ratio2:.2f}x | "
              f"{lo:.1f}-{hi:.1f} |")


if __name__ == "__main__":
    main()
