"""Training-step throughput of an MLP in glassnet against the same MLP in PyTorch, on CPU, in one run.

One training step = forward of a 784-512-256-10 ReLU MLP on a batch of 128
float32 samples, softmax cross-entropy, backward into every weight, and an Adam
update. Both frameworks start from the same weights and see the same batches;
NumPy's BLAS and torch get the same number of threads. Throughput is samples
per second, ``N / seconds per step``: each contestant runs blocks of ``--steps``
steps, the blocks are timed round-robin and the fastest block is reported (on a
machine shared with other work, interference only ever adds time).

Before the timing, both copies train for 5 identical steps and the largest
difference of their weights is printed, to show that the two do the same work.

Usage::

    python benchmarks/bench_mlp.py                  # 1 thread
    python benchmarks/bench_mlp.py --threads 2 --repeats 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import glassnet.functional as F
from glassnet import Tensor, optim
from glassnet.zoo import MLP

SIZES = [784, 512, 256, 10]
N = 128


def glassnet_contestant(batches):
    model = MLP(SIZES, rng=0)
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(x, t):
        loss = F.softmax_cross_entropy(model(Tensor(x)), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return model, step


def torch_contestant(gn_model):
    layers = []
    for i, lin in enumerate(gn_model.layers):
        if hasattr(lin, "W"):
            t = torch.nn.Linear(*lin.W.shape)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(lin.W.data.T.copy()))  # glassnet W (in, out) = torch weight.T
                t.bias.copy_(torch.from_numpy(lin.b.data))
            layers.append(t)
            if i < len(gn_model.layers) - 1:
                layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, t):
        loss = loss_fn(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return model, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=10, help="timed blocks per contestant")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed block")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    xs = rng.random((args.steps, N, SIZES[0]), dtype=np.float32)
    ts = rng.integers(0, SIZES[-1], size=(args.steps, N))
    xs_t, ts_t = torch.from_numpy(xs), torch.from_numpy(ts)

    with threadpool_limits(args.threads, user_api="blas"):
        gn_model, gn_step = glassnet_contestant(xs)
        th_model, th_step = torch_contestant(gn_model)
        gn_block = lambda: [gn_step(xs[i], ts[i]) for i in range(args.steps)]
        th_block = lambda: [th_step(xs_t[i], ts_t[i]) for i in range(args.steps)]

        # correctness first: 5 identical steps from identical weights
        for i in range(5):
            gn_step(xs[i], ts[i])
            th_step(xs_t[i], ts_t[i])
        gn_w = [lin.W.data for lin in gn_model.layers if hasattr(lin, "W")]
        th_w = [m.weight.detach().numpy().T for m in th_model if isinstance(m, torch.nn.Linear)]
        max_diff = max(float(np.abs(a - b).max()) for a, b in zip(gn_w, th_w))

        blocks = {"glassnet": gn_block, "torch": th_block}
        for block in blocks.values():
            block()  # warm-up
        times = {name: [] for name in blocks}
        for _ in range(args.repeats):
            for name, block in blocks.items():
                t0 = time.perf_counter()
                block()
                times[name].append(time.perf_counter() - t0)
        blas = [(i["internal_api"], i["version"], i["num_threads"]) for i in threadpool_info()
                if i["user_api"] == "blas"]

    best = {name: min(t) / args.steps for name, t in times.items()}
    median = {name: float(np.median(t)) / args.steps for name, t in times.items()}
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {N}, float32, Adam; {args.threads} thread(s); "
          f"BLAS {blas}; torch {torch.__version__}")
    print(f"weights after 5 identical steps: max |glassnet - torch| = {max_diff:.2e}")
    print("| framework | ms/step (best) | samples/s (best) | ms/step (median) | samples/s (median) |")
    print("|---|---|---|---|---|")
    for name in blocks:
        print(f"| {name} | {best[name] * 1e3:.2f} | {N / best[name]:.0f} | {median[name] * 1e3:.2f} | "
              f"{N / median[name]:.0f} |")
    print(f"glassnet / torch throughput: {best['torch'] / best['glassnet']:.2f}x (best), "
          f"{median['torch'] / median['glassnet']:.2f}x (median)")


if __name__ == "__main__":
    main()
