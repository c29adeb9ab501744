"""CNN training and inference throughput in glassnet against PyTorch, on CPU, in one run.

(a) a training step of the course's MNIST CNN (LeNet: conv 5x5 1->20, pool, conv 5x5 20->50, pool, FC 500,
    FC 10), batch 64; (b) a training step of the CIFAR-10 ResNet-20 (He et al. 2016, option A), batch 128;
(c) VGG-16's forward pass at batch 1 on a 224x224 image. Softmax cross-entropy, SGD with momentum,
float32, the same weights (copied through torchvision's names) and the same thread count for NumPy's BLAS
and torch. Each contestant runs blocks of ``--steps`` steps timed round-robin; the fastest block is
reported (interference only adds time). Peak memory of (b) is measured in a fresh subprocess per
framework as the growth of the resident set (``ru_maxrss``) over a step, after imports and the model.

Goal (issue 9): at least 0.5x torch's images/s in (a) and (b) at 1 and 2 threads; (b)'s peak memory at
most 2x torch's.

Usage::

    python benchmarks/bench_cnn.py                   # 1 thread, all three
    python benchmarks/bench_cnn.py --threads 2 --only a b
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import glassnet.functional as F
from glassnet import nn, no_grad, optim
from glassnet.zoo import resnet20, to_torchvision, vgg16


def lenet(rng=0):
    return nn.Sequential(nn.Conv2d(1, 20, 5, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5, rng=rng),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 500, rng=rng), nn.ReLU(),
                         nn.Linear(500, 10, rng=rng))


def torch_lenet(ours):
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 20, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                            torch.nn.Conv2d(20, 50, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                            torch.nn.Linear(800, 500), torch.nn.ReLU(), torch.nn.Linear(500, 10))
    with torch.no_grad():
        for i in (0, 3):
            t[i].weight.copy_(torch.from_numpy(ours[i].W.data))
            t[i].bias.copy_(torch.from_numpy(ours[i].b.data))
        for i in (7, 9):
            t[i].weight.copy_(torch.from_numpy(ours[i].W.data.T.copy()))
            t[i].bias.copy_(torch.from_numpy(ours[i].b.data))
    return t


def torch_resnet20(ours):
    sys.path.insert(0, ".")
    from tests.zoo.test_cnn_zoo import TorchCifarResNet

    t = TorchCifarResNet(3)
    t.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in to_torchvision(ours).items()},
                      strict=False)
    return t


def train_steps(model, torch_model, x, y):
    opt = optim.SGD(list(model.parameters()), lr=0.01, momentum=0.9)
    topt = torch.optim.SGD(torch_model.parameters(), lr=0.01, momentum=0.9)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def ours():
        loss = F.softmax_cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def theirs():
        loss = torch.nn.functional.cross_entropy(torch_model(tx), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()

    return ours, theirs


def case(name: str):
    rng = np.random.default_rng(0)
    if name == "a":
        model = lenet()
        x, y = rng.random((64, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 64)
        return "LeNet training step, MNIST 28x28, batch 64", 64, *train_steps(model, torch_lenet(model), x, y)
    if name == "b":
        model = resnet20(rng=0)
        x, y = rng.random((128, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, 128)
        return "ResNet-20 training step, CIFAR-10 32x32, batch 128", 128, *train_steps(model, torch_resnet20(model),
                                                                                        x, y)
    return vgg_case()


def vgg_case():
    rng = np.random.default_rng(0)
    model = vgg16(init_weights=False, rng=0).eval()
    x = rng.random((1, 3, 224, 224), dtype=np.float32)
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers, c = [], 3
    for v in cfg:
        layers += [torch.nn.MaxPool2d(2)] if v == "M" else [torch.nn.Conv2d(c, v, 3, padding=1), torch.nn.ReLU()]
        c = v if v != "M" else c
    tmodel = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(7), torch.nn.Flatten(),
                                 torch.nn.Linear(25088, 4096), torch.nn.ReLU(), torch.nn.Dropout(),
                                 torch.nn.Linear(4096, 4096), torch.nn.ReLU(), torch.nn.Dropout(),
                                 torch.nn.Linear(4096, 1000)).eval()
    tx = torch.from_numpy(x)

    def ours():
        with no_grad():
            model(x)

    def theirs():
        with torch.no_grad():
            tmodel(tx)

    return "VGG-16 forward, 224x224, batch 1", 1, ours, theirs


def time_blocks(ours, theirs, steps: int, repeats: int) -> dict[str, float]:
    blocks = {"glassnet": ours, "torch": theirs}
    for f in blocks.values():
        f()  # warm-up (and buffers allocated)
    times = {k: [] for k in blocks}
    for _ in range(repeats):
        for k, f in blocks.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                f()
            times[k].append((time.perf_counter() - t0) / steps)
    return {k: min(v) for k, v in times.items()}


def peak_memory(framework: str, threads: int) -> float:
    """MiB the peak resident set exceeds the resident set before two ResNet-20 training steps (batch 128).

    Run in a fresh process that builds only this framework's model, so the peak is the step's.
    """
    code = f"""
import os, resource, sys, numpy as np, torch
sys.path.insert(0, ".")
torch.set_num_threads({threads})
from glassnet.zoo import resnet20
import glassnet.functional as F
from glassnet import optim
rng = np.random.default_rng(0)
x, y = rng.random((128, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, 128)
if "{framework}" == "glassnet":
    model = resnet20(rng=0)
    opt = optim.SGD(list(model.parameters()), lr=0.01, momentum=0.9)
    def step():
        loss = F.softmax_cross_entropy(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
else:
    from tests.zoo.test_cnn_zoo import TorchCifarResNet
    model = TorchCifarResNet(3); opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    def step():
        loss = torch.nn.functional.cross_entropy(model(tx), ty); opt.zero_grad(); loss.backward(); opt.step()
page = os.sysconf("SC_PAGE_SIZE")
with open("/proc/self/statm") as f:
    before = int(f.read().split()[1]) * page / 2**20
step(); step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=["a", "b", "c"], choices=["a", "b", "c"])
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    print(f"{args.threads} thread(s); torch {torch.__version__}; numpy {np.__version__}")
    print("| case | glassnet img/s | torch img/s | glassnet / torch |")
    print("|---|---|---|---|")
    with threadpool_limits(args.threads, user_api="blas"):
        for name in args.only:
            title, n, ours, theirs = vgg_case() if name == "c" else case(name)
            best = time_blocks(ours, theirs, args.steps if name != "c" else 1, args.repeats)
            ratio = best["torch"] / best["glassnet"]
            results.append({"case": name, "title": title, "glassnet_img_s": n / best["glassnet"],
                            "torch_img_s": n / best["torch"], "ratio": ratio})
            print(f"| ({name}) {title} | {n / best['glassnet']:.1f} | {n / best['torch']:.1f} | {ratio:.2f}x |")
    if "b" in args.only:
        mem = {fw: peak_memory(fw, args.threads) for fw in ("glassnet", "torch")}
        print(f"(b) peak memory growth over two steps: glassnet {mem['glassnet']:.0f} MiB, torch {mem['torch']:.0f} "
              f"MiB, ratio {mem['glassnet'] / max(mem['torch'], 1e-9):.2f}x")
        results.append({"case": "b-memory", **mem})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
