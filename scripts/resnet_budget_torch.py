"""The resnet-degradation budget in the reference framework: PyTorch trains glassnet's initial weights.

Builds a CIFAR ResNet (or its plain twin) in glassnet, copies the weights into the torch twin of the tests
(``tests/zoo/test_cnn_zoo.py``, akamaster's option-A network), and trains it in torch on the lab's CIFAR-10
subset with the lab's budget (batch 128, SGD, momentum 0.9, weight decay 1e-4, lr 0.1), printing the mean
training loss of each epoch. It answers whether a "not supported" verdict of the lab is glassnet's or the
budget's. Needs torch (the test extra).

    python scripts/resnet_budget_torch.py DEPTH {resnet,plain} {const,warmup} [EPOCHS] [--batch B] [--data-dir DIR]

``warmup``: the learning rate rises linearly from 0.01 to 0.1 over the first epoch (then 0.1).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as TF

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from glassnet.lab.images import load_images  # noqa: E402
from glassnet.zoo import CifarResNet  # noqa: E402
from glassnet.zoo.torchvision import to_torchvision  # noqa: E402
from tests.zoo.test_cnn_zoo import TorchCifarResNet  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("depth", type=int)
parser.add_argument("net", choices=["resnet", "plain"])
parser.add_argument("schedule", choices=["const", "warmup"])
parser.add_argument("epochs", type=int, nargs="?", default=8)
parser.add_argument("--batch", type=int, default=128, help="images per step (the lab's batch_size)")
parser.add_argument("--data-dir", default=None)
args = parser.parse_args()
torch.set_num_threads(1)
data = load_images("cifar10", args.data_dir, 0, 0)
x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
n = (args.depth - 2) // 6
ours = CifarResNet(n, shortcut=args.net == "resnet", rng=np.random.default_rng(123))
net = TorchCifarResNet(n, shortcut=args.net == "resnet")
net.load_state_dict({k: torch.from_numpy(np.asarray(v).copy()) for k, v in to_torchvision(ours).items()},
                    strict=False)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
rng = np.random.default_rng(7)
per_epoch = -(-len(x) // args.batch)
step, losses_by_epoch, start = 0, [], time.time()
for epoch in range(1, args.epochs + 1):
    order, losses = rng.permutation(len(x)), []
    net.train()
    for lo in range(0, len(x), args.batch):
        lr = 0.01 + 0.09 * min(1.0, step / per_epoch) if args.schedule == "warmup" else 0.1
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.from_numpy(order[lo:lo + args.batch])
        loss = TF.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        losses.append(loss.item())
    losses_by_epoch.append(float(np.mean(losses)))
    print(f"{args.depth} {args.net} {args.schedule} batch {args.batch} epoch {epoch}: {losses_by_epoch[-1]:.4f} "
          f"({time.time() - start:.0f} s)", flush=True)
print(json.dumps({"depth": args.depth, "net": args.net, "schedule": args.schedule, "batch": args.batch,
                  "epoch_losses": losses_by_epoch}))
