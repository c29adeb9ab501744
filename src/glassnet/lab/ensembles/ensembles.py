"""ensembles: M = 5 averaged networks beat their best member; members of different architectures ensemble better.

Two ensembles of M members each, on the shared MNIST subset, combined by soft voting (the mean of the
members' softmax probabilities, :func:`glassnet.train.soft_vote`):

* *same architecture*: M LeNets that differ only in their seed (initial weights and batch order), a deep
  ensemble (Lakshminarayanan et al. 2017);
* *diverse*: M members of different architectures (LeNet, an MLP, a small ResNet, cycled), member i
  drawing from the same seed stream i as the same-architecture member i (so member 0, a LeNet, is shared).

An average can only help where members err on different images: the members' pairwise disagreement rate
(:func:`glassnet.train.disagreement_matrix`) measures that, and the ensemble's error is plotted against M.
Each member is a resumable unit that keeps its test probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import glassnet.functional as F
from glassnet import nn
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.ensembles import TOPIC
from glassnet.lab.images import ImageMLP, lenet, load_images, train_classifier
from glassnet.train import disagreement_matrix, error_rate, hard_vote, member_probabilities, soft_vote
from glassnet.zoo.cifar_resnet import CifarBasicBlock

ARCHITECTURES = ("cnn", "mlp", "resnet")  # the order fixes each architecture's child of a member's seed stream


class SmallResNet(nn.Module):
    """A ResNet for 28x28 digits: conv3 (8) -> block (16, /2) -> block (32, /2) -> global average -> dense.

    Shapes: ``x (N, 1, 28, 28)`` -> ``(N, 8, 28, 28)`` -> ``(N, 16, 14, 14)`` -> ``(N, 32, 7, 7)`` -> ``(N, 32)``
    -> logits ``(N, 10)``. The blocks are CIFAR ResNet's (option-A shortcuts, He et al. 2016).
    """

    def __init__(self, rng: Any, channels: tuple[int, int, int] = (8, 16, 32), num_classes: int = 10) -> None:
        super().__init__()
        c0, c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c0, 3, padding=1, bias=False, rng=rng)
        self.bn1 = nn.BatchNorm2d(c0)
        self.layer1 = CifarBasicBlock(c0, c1, 2, True, rng)
        self.layer2 = CifarBasicBlock(c1, c2, 2, True, rng)
        self.linear = nn.Linear(c2, num_classes, rng=rng)

    def forward(self, x: Any) -> Any:
        x = F.relu(self.bn1(self.conv1(x)))  # (N, c0, 28, 28)
        x = self.layer2(self.layer1(x))  # (N, c2, 7, 7)
        return self.linear(x.mean(axis=(2, 3)))  # (N, c2) -> (N, K)


def build(arch: str, rng: np.random.Generator, mlp_hidden: int):
    """One member of architecture ``arch`` for (N, 1, 28, 28) digits."""
    if arch == "cnn":
        return lenet(1, 28, rng)
    if arch == "mlp":
        return ImageMLP([784, mlp_hidden, 10], rng=rng)
    return SmallResNet(rng)


def _summary(probs: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Errors of the members and of the soft and hard votes, the disagreement, and the error against M."""
    member = [error_rate(p, y) for p in probs]
    d = disagreement_matrix(probs.argmax(axis=-1))
    m = len(probs)
    return {"member_errors": member, "mean_member_error": float(np.mean(member)), "best_member_error": min(member),
            "ensemble_error": error_rate(soft_vote(probs), y),
            "hard_vote_error": error_rate(hard_vote(probs.argmax(axis=-1), num_classes=probs.shape[-1]), y),
            "disagreement": float(d[np.triu_indices(m, 1)].mean()) if m > 1 else 0.0,
            "error_by_m": [error_rate(soft_vote(probs[:k]), y) for k in range(1, m + 1)]}


class Ensembles(Experiment):
    name = "ensembles"
    topic = TOPIC
    claim = ("Averaging the predictions of several networks beats a single one, and networks of different "
             "architectures, which err on different images, gain more from being averaged than copies of one "
             "architecture that differ only in their seed.")
    criterion = ("on the shared MNIST subset, with soft voting over M = 5 members: (a) the ensemble of 5 LeNets "
                 "(different seeds) has a test error at most its best member's and at least 10% below its members' "
                 "mean error; (b) at equal M, the members of the diverse ensemble (the `diverse` architectures: LeNet, "
                 "MLP, small ResNet, MLP, small ResNet by default) "
                 "have a higher mean pairwise disagreement rate than the 5 LeNets, and the diverse ensemble cuts its "
                 "members' mean error by a larger share")

    @dataclass
    class Config:
        members: int = field(default=5, metadata={"help": "M, the members of each ensemble"})
        diverse: tuple = field(default=("cnn", "mlp", "resnet", "mlp", "resnet"),
                               metadata={"help": "architectures of the diverse ensemble's members (cnn, mlp, resnet), "
                                                 "cycled to M"})
        same: str = field(default="cnn", metadata={"help": "the architecture of the same-architecture ensemble"})
        epochs: int = field(default=4, metadata={"help": "training epochs of each member"})
        batch_size: int = field(default=64, metadata={"help": "images per step"})
        lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
        mlp_hidden: int = field(default=256, metadata={"help": "hidden units of the MLP members"})
        n_train: int = field(default=0, metadata={"help": "training images used (0: all)"})
        n_test: int = field(default=0, metadata={"help": "test images used (0: all)"})

    quick = {"epochs": 1, "n_train": 600, "n_test": 400, "diverse": ("cnn", "mlp", "mlp", "mlp", "mlp")}
    quick_criterion = ("600 training images, 1 epoch, 400 test images, the ResNet left out: each ensemble's soft-vote "
                       "error at most its members' mean error (the disagreement comparison needs trained members)")
    data = ("mnist",)

    def run(self, config, ctx):
        bad = sorted((set(config.diverse) | {config.same}) - set(ARCHITECTURES))
        if bad:
            from glassnet.errors import ConfigError

            raise ConfigError(f"ensembles: architectures must be among {ARCHITECTURES}, got {bad}")
        m = config.members
        diverse = [config.diverse[i % len(config.diverse)] for i in range(m)]
        data = load_images("mnist", ctx.data_dir, config.n_train, config.n_test)
        x_test, y_test = data["x_test"], data["y_test"]
        # member i of either ensemble draws from stream i; each architecture has its own (init, batches) pair in it
        streams = [s.spawn(2 * len(ARCHITECTURES)) for s in ctx.spawn_seeds(m)]

        def train(arch: str, i: int) -> dict[str, Any]:
            k = ARCHITECTURES.index(arch)
            init, batches = streams[i][2 * k], streams[i][2 * k + 1]
            model = build(arch, np.random.default_rng(init), config.mlp_hidden)
            history = train_classifier(model, data, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                                       rng=np.random.default_rng(batches), progress=ctx.progress,
                                       evaluate_every=config.epochs, desc=f"{arch} {i}")
            probs = member_probabilities([model], x_test)[0]  # (N, K)
            return {"params": model.num_parameters(), "train_loss": history[-1]["train_loss"],
                    "probs": probs.astype(np.float64).tolist()}

        done: dict[tuple[str, int], dict[str, Any]] = {}
        for arch, i in [(config.same, i) for i in range(m)] + [(a, i) for i, a in enumerate(diverse)]:
            if (arch, i) not in done:
                done[(arch, i)] = ctx.unit(f"{arch}-{i}", lambda arch=arch, i=i: train(arch, i))
                ctx.log(f"{arch} member {i}: test error {error_rate(np.asarray(done[(arch, i)]['probs']), y_test):.4f}")
        ensembles = {"same": [(config.same, i) for i in range(m)], "diverse": list(zip(diverse, range(m)))}
        probs = {name: np.stack([np.asarray(done[key]["probs"]) for key in keys]) for name, keys in ensembles.items()}
        s = {name: _summary(p, y_test) for name, p in probs.items()}
        for v in s.values():
            v["reduction"] = 1 - v["ensemble_error"] / v["mean_member_error"] if v["mean_member_error"] else 0.0

        labels = {"same": f"{m} x {config.same} (seeds)", "diverse": "diverse (" + ", ".join(diverse) + ")"}
        rows = [{"ensemble": labels[name], "member": f"{arch} {i}", "params": done[(arch, i)]["params"],
                 "test error": s[name]["member_errors"][j]}
                for name, keys in ensembles.items() for j, (arch, i) in enumerate(keys)]
        rows += [{"ensemble": labels[name], "member": f"soft vote of {m}", "params": None,
                  "test error": s[name]["ensemble_error"]} for name in ensembles]
        rows += [{"ensemble": labels[name], "member": f"hard vote of {m}", "params": None,
                  "test error": s[name]["hard_vote_error"]} for name in ensembles]

        fig, (ax, bx) = ctx.figure(1, 2)
        for name, marker in (("same", "o"), ("diverse", "s")):
            ax.plot(range(1, m + 1), s[name]["error_by_m"], marker=marker, label=f"{labels[name]}: soft vote")
            ax.scatter(range(1, m + 1), s[name]["member_errors"], marker=marker, alpha=0.4,
                       label=f"{labels[name]}: member M alone")
        plotting.style(ax, title=f"test error of the first M members' average (MNIST, {len(y_test)} images)",
                       xlabel="members averaged M", ylabel="test error (share wrong)")
        ax.set_xticks(range(1, m + 1))  # M is a count
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)  # below: no point hidden
        keys = ensembles["same"] + [k for k in ensembles["diverse"] if k not in ensembles["same"]]
        d = disagreement_matrix(np.stack([np.asarray(done[k]["probs"]).argmax(-1) for k in keys]))
        im = bx.imshow(d, cmap="viridis")
        names = [f"{a} {i}" for a, i in keys]
        bx.set_xticks(range(len(keys)), names, rotation=60, fontsize=7)
        bx.set_yticks(range(len(keys)), names, fontsize=7)
        fig.colorbar(im, ax=bx, label="disagreement rate")
        bx.set_title("pairwise disagreement of the members")
        ctx.savefig(fig, "ensemble_error")

        same, div = s["same"], s["diverse"]
        a_ok = same["ensemble_error"] <= same["best_member_error"] and same["reduction"] >= 0.10
        b_ok = div["disagreement"] > same["disagreement"] and div["reduction"] > same["reduction"]
        if ctx.quick:
            ok = all(v["ensemble_error"] <= v["mean_member_error"] for v in s.values())
        else:
            ok = a_ok and b_ok
        metrics = {f"{name}_{k}": v for name, summary in s.items() for k, v in summary.items()}
        metrics.update({"criterion_a": a_ok, "criterion_b": b_ok, "n_test": len(y_test),
                        "n_train": len(data["y_train"])})
        notes = [f"{labels[name]}: members' mean error {v['mean_member_error']:.4f}, best {v['best_member_error']:.4f}"
                 f", soft vote {v['ensemble_error']:.4f} ({v['reduction']:.1%} below the mean), mean pairwise "
                 f"disagreement {v['disagreement']:.4f}" for name, v in s.items()]
        notes.append("(a) " + ("holds" if a_ok else "fails") + "; (b) " + ("holds" if b_ok else "fails") + ".")
        return Outcome(verdict_from(ok), metrics, rows, notes)
