"""small-filters (VGG): two stacked 3x3 convolutions against one 5x5, same receptive field."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet import nn
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.cnn import TOPIC
from glassnet.lab.images import TrainingConfig, load_images, train_classifier


def block(kind: str, c: int, rng) -> list:
    """``5x5``: conv5x5-ReLU; ``3x3+3x3``: conv3x3-ReLU-conv3x3-ReLU; C -> C, 'same' padding, a 5x5 field."""
    if kind == "5x5":
        return [nn.Conv2d(c, c, 5, padding=2, rng=rng), nn.ReLU()]
    return [nn.Conv2d(c, c, 3, padding=1, rng=rng), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, rng=rng), nn.ReLU()]


def network(kind: str, c: int, in_channels: int, image: int, rng) -> nn.Sequential:
    """stem conv3x3 -> pool -> block -> pool -> block -> pool -> linear (the blocks are what differs)."""
    side = image // 8
    return nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         *block(kind, c, rng), nn.MaxPool2d(2), *block(kind, c, rng), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(c * side * side, 10, rng=rng))


class SmallFilters(Experiment):
    name = "small-filters"
    topic = TOPIC
    claim = (
        "VGG's design rule: two stacked 3x3 convolutions see the same 5x5 field as one 5x5 convolution with "
        "fewer parameters (18C² against 25C²) and one more nonlinearity, and classify at least as well."
    )
    criterion = (
        "on the CIFAR-10 subset, a network whose two blocks are 3x3+3x3 has fewer parameters per block exactly "
        "as 2·(9C² + C) vs 25C² + C, and its test accuracy is at least the 5x5 network's minus 1 point, with the "
        "same stem, classifier, optimizer, epochs, batches and seed"
    )

    @dataclass
    class Config(TrainingConfig):
        channels: int = field(default=32, metadata={"help": "channels C of every block"})
        compare: bool = field(default=True, metadata={
            "help": "judge the accuracies against each other (False: only that both beat chance by 5 points)"})

    quick = {"channels": 16, "epochs": 3, "batch_size": 32, "lr": 3e-3, "n_train": 800, "n_test": 400, "compare": False}
    quick_criterion = ("a smoke test with C = 16, 800 training images, 3 epochs: the exact parameter counts, and "
                       "both networks above chance (10%) by 5 points; so short a run cannot rank them")
    data = ("cifar10",)

    def run(self, config, ctx):
        data = load_images("cifar10", ctx.data_dir, config.n_train, config.n_test)
        c = config.channels
        init_seq, batch_seq = ctx.spawn_seeds(2)
        rows, curves = [], {}
        for kind in ("5x5", "3x3+3x3"):
            def train(kind=kind):
                model = network(kind, c, 3, 32, np.random.default_rng(init_seq))
                history = train_classifier(model, data, epochs=config.epochs, batch_size=config.batch_size,
                                           lr=config.lr, rng=np.random.default_rng(batch_seq), progress=ctx.progress,
                                           evaluate_every=config.epochs if ctx.quick else 1,
                                           desc=kind)
                per_block = sum(m.num_parameters() for m in block(kind, c, np.random.default_rng(0)))
                return {"params": model.num_parameters(), "block_params": per_block, "history": history}

            done = ctx.unit(kind.replace("+", "-"), train)
            curves[kind] = done["history"]
            last = done["history"][-1]
            rows.append({"blocks": kind, "params per block": done["block_params"], "network params": done["params"],
                         "nonlinearities per block": 1 if kind == "5x5" else 2,
                         "test accuracy": last["test_accuracy"], "train loss": last["train_loss"]})
        five, three = rows
        counts_ok = (five["params per block"] == 25 * c * c + c and three["params per block"] == 2 * (9 * c * c + c))
        if config.compare:
            ok = counts_ok and three["test accuracy"] >= five["test accuracy"] - 0.01
        else:
            ok = counts_ok and min(five["test accuracy"], three["test accuracy"]) > 0.15
        fig, ax = ctx.figure()
        for kind, h in curves.items():
            ax.plot([r["epoch"] for r in h], [r["test_accuracy"] for r in h], marker="o", label=kind)
        plotting.style(ax, title=f"CIFAR-10, C = {c}: one 5x5 vs two 3x3", xlabel="epoch",
                       ylabel="test accuracy (share right)")
        ctx.savefig(fig, "test_accuracy")
        metrics = {"params_5x5_block": five["params per block"], "params_3x3_blocks": three["params per block"],
                   "accuracy_5x5": five["test accuracy"], "accuracy_3x3": three["test accuracy"],
                   "param_ratio": three["params per block"] / five["params per block"]}
        notes = [f"Per block: 25·C² + C = {five['params per block']:,} for one 5x5 and 2·(9·C² + C) = "
                 f"{three['params per block']:,} for two 3x3 ({metrics['param_ratio']:.2f} of it): the 3x3 pair "
                 "covers the same 5x5 field (each output sees 3 + 3 - 1 = 5 input rows)."]
        return Outcome(verdict_from(ok), metrics, rows, notes)
