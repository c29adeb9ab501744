"""dropout-fc (AlexNet): dropout on the fully connected layers narrows the gap between training and test accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet import nn
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.cnn import TOPIC
from glassnet.lab.images import TrainingConfig, load_images, train_classifier


def network(p: float, c: int, hidden: int, rng) -> nn.Sequential:
    """AlexNet in small: conv-pool, conv-pool, then FC-ReLU-Dropout(p) twice and the classifier (dropout only on FC)."""
    fc = []
    for d_in in (2 * c * 8 * 8, hidden):
        fc += [nn.Linear(d_in, hidden, rng=rng), nn.ReLU()] + ([nn.Dropout(p, rng=rng)] if p > 0 else [])
    return nn.Sequential(nn.Conv2d(3, c, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c, 2 * c, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), *fc, nn.Linear(hidden, 10, rng=rng))


class DropoutFC(Experiment):
    name = "dropout-fc"
    topic = TOPIC
    claim = (
        "AlexNet's dropout on the fully connected layers fights overfitting: with dropout the gap between "
        "training and test accuracy is narrower than without, on the same network and data."
    )
    criterion = (
        "on a small CIFAR-10 training set, after the same epochs, the train-minus-test accuracy gap (both in "
        "evaluation mode) of the network with Dropout(0.5) after each hidden FC layer is smaller than the gap "
        "of the same network without dropout"
    )

    @dataclass
    class Config(TrainingConfig):
        p: float = field(default=0.5, metadata={"help": "dropout probability on the FC layers (AlexNet: 0.5)"})
        channels: int = field(default=32, metadata={"help": "channels of the first conv (the second has twice)"})
        hidden: int = field(default=512, metadata={"help": "units of each hidden FC layer"})
        epochs: int = field(default=15, metadata={"help": "training epochs (long enough to overfit)"})
        n_train: int = field(default=2000, metadata={"help": "training images (few, so that it overfits)"})

    quick = {"channels": 8, "hidden": 128, "epochs": 15, "lr": 3e-3, "n_train": 400, "n_test": 400}
    quick_criterion = ("the full rule on 400 training images, 15 epochs at lr 3e-3, a narrower network (8 channels, "
                       "128 units)")
    data = ("cifar10",)

    def run(self, config, ctx):
        data = load_images("cifar10", ctx.data_dir, config.n_train, config.n_test)
        init_seq, batch_seq = ctx.spawn_seeds(2)
        rows, curves = [], {}
        for p in (0.0, config.p):
            def train(p=p):
                model = network(p, config.channels, config.hidden, np.random.default_rng(init_seq))
                history = train_classifier(model, data, epochs=config.epochs, batch_size=config.batch_size,
                                           lr=config.lr, rng=np.random.default_rng(batch_seq), progress=ctx.progress,
                                           desc=f"dropout {p:g}", train_eval=config.n_train or 2000,
                                           evaluate_every=1 if not ctx.quick else max(1, config.epochs // 2))
                return {"history": history}

            done = ctx.unit(f"p={p:g}", train)
            curves[p] = done["history"]
            last = done["history"][-1]
            rows.append({"dropout on FC": p, "train accuracy": last["train_accuracy"],
                         "test accuracy": last["test_accuracy"], "gap": last["train_accuracy"] - last["test_accuracy"],
                         "train loss (eval mode)": last["train_eval_loss"]})
        plain, dropped = rows
        ok = dropped["gap"] < plain["gap"]
        fig, ax = ctx.figure()
        for i, (p, h) in enumerate(curves.items()):
            epochs = [r["epoch"] for r in h]
            ax.plot(epochs, [r["train_accuracy"] for r in h], color=f"C{i}", ls="--", label=f"p={p:g} train")
            ax.plot(epochs, [r["test_accuracy"] for r in h], color=f"C{i}", marker="o", label=f"p={p:g} test")
        plotting.style(ax, title=f"CIFAR-10, {config.n_train} training images: dropout on the FC layers",
                       xlabel="epoch", ylabel="accuracy (share right, evaluation mode)")
        ctx.savefig(fig, "train_test_gap")
        metrics = {"gap_without": plain["gap"], "gap_with": dropped["gap"], "test_without": plain["test accuracy"],
                   "test_with": dropped["test accuracy"]}
        notes = ["Dropout zeroes each FC unit with probability p in training (inverted: the rest are scaled by "
                 "1/(1-p)), so no unit can rely on a particular other one; evaluation uses every unit."]
        return Outcome(verdict_from(ok), metrics, rows, notes)
