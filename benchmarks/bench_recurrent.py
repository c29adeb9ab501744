"""Training-step throughput of glassnet's recurrent functions against PyTorch, on CPU, in one run.

One training step = forward over the whole sequence + backward of ``sum(G * hs)``
(a fixed random upstream gradient G) into the input and every weight. Measured:

* glassnet fused ``F.lstm`` / ``F.gru`` (hand-written BPTT),
* glassnet composed ``F.lstm_composed`` / ``F.gru_composed`` (autograd through the unrolled cells),
* ``torch.nn.LSTM`` / ``torch.nn.GRU`` (batch_first=True, one layer),

in float32, with the same number of BLAS/OpenMP threads for NumPy and torch.
Throughput is tokens per second, ``N·T / seconds per step`` (best of the repeats,
timed round-robin: see :func:`best_seconds`).

Usage::

    python benchmarks/bench_recurrent.py                  # both sizes, 1 thread
    python benchmarks/bench_recurrent.py --threads 2 --repeats 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import glassnet as gn
import glassnet.functional as F

SIZES = [(20, 35, 650, 650), (32, 50, 128, 128)]  # (N, T, D, H)
GATES = {"lstm": 4, "gru": 3}


def best_seconds(steps: dict, repeats: dict, warmup: int = 1) -> dict:
    """Fastest of ``repeats[name]`` calls of each step, timed round-robin.

    On a machine shared with other processes the minimum is the most reproducible
    estimate (interference only ever adds time), and round-robin order spreads
    slow periods over all contestants alike.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for r in range(max(repeats.values())):
        for name, step in steps.items():
            if r < repeats[name]:
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
    return {name: min(ts) for name, ts in times.items()}


def glassnet_step(cell: str, fused: bool, N: int, T: int, D: int, H: int, rng: np.random.Generator):
    G = GATES[cell]
    k = 1 / np.sqrt(H)
    f32 = np.float32
    x = gn.Tensor(rng.standard_normal((N, T, D)).astype(f32), requires_grad=True)
    W_x = gn.Tensor(rng.uniform(-k, k, (D, G * H)).astype(f32), requires_grad=True)
    W_h = gn.Tensor(rng.uniform(-k, k, (H, G * H)).astype(f32), requires_grad=True)
    b_shape = (G * H,) if cell == "lstm" else (2, G * H)
    b = gn.Tensor(rng.uniform(-k, k, b_shape).astype(f32), requires_grad=True)
    upstream = rng.standard_normal((N, T, H)).astype(f32)
    if cell == "lstm":
        fn = F.lstm if fused else F.lstm_composed
        run = lambda: fn(x, None, None, W_x, W_h, b)
    else:
        fn = F.gru if fused else F.gru_composed
        run = lambda: fn(x, None, W_x, W_h, b)

    def step():
        for t in (x, W_x, W_h, b):
            t.grad = None
        hs = run()[0]
        hs.backward(upstream)

    return step


def torch_step(cell: str, N: int, T: int, D: int, H: int, rng: np.random.Generator):
    torch.manual_seed(0)
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](D, H, batch_first=True)
    x = torch.tensor(rng.standard_normal((N, T, D)).astype(np.float32), requires_grad=True)
    upstream = torch.tensor(rng.standard_normal((N, T, H)).astype(np.float32))

    def step():
        module.zero_grad(set_to_none=True)
        x.grad = None
        hs, _ = module(x)
        hs.backward(upstream)

    return step


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP threads for both NumPy and torch")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per measurement (the best is reported)")
    parser.add_argument("--composed-repeats", type=int, default=3, help="timed steps for the composed version")
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru"], choices=sorted(GATES))
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture', '?')})" for i in threadpool_info()]
    print(f"threads: {args.threads} (NumPy BLAS: {', '.join(blas)}; torch {torch.__version__})")
    print(f"float32, training step = forward + backward, best of {args.repeats} steps (round-robin)\n")
    header = f"{'cell':5} {'N':>3} {'T':>3} {'D=H':>4} | {'torch tok/s':>11} {'fused tok/s':>11} {'composed':>9}"
    header += f" | {'fused/torch':>11} {'fused/composed':>14}"
    print(header)
    print("-" * len(header))
    with threadpool_limits(limits=args.threads):
        for cell in args.cells:
            for N, T, D, H in SIZES:
                rng = np.random.default_rng(0)
                tokens = N * T
                steps = {
                    "torch": torch_step(cell, N, T, D, H, rng),
                    "fused": glassnet_step(cell, True, N, T, D, H, rng),
                    "composed": glassnet_step(cell, False, N, T, D, H, rng),
                }
                repeats = {"torch": args.repeats, "fused": args.repeats, "composed": args.composed_repeats}
                sec = best_seconds(steps, repeats)
                t_torch, t_fused, t_comp = sec["torch"], sec["fused"], sec["composed"]
                print(
                    f"{cell:5} {N:3d} {T:3d} {H:4d} | {tokens / t_torch:11.0f} {tokens / t_fused:11.0f} "
                    f"{tokens / t_comp:9.0f} | {t_torch / t_fused:10.2f}x {t_comp / t_fused:13.2f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
