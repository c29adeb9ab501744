"""inception (GoogLeNet): the four-branch module and what its 1x1 reductions save."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet import nn
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.cnn import TOPIC
from glassnet.lab.images import TrainingConfig, load_images, train_classifier
from glassnet.zoo.googlenet import BasicConv2d, Inception

# GoogLeNet's inception (3a): 192 channels in; 64 | 96 -> 128 | 16 -> 32 | pool -> 32 (Szegedy et al. 2015, table 1)
INCEPTION_3A = (192, 64, 96, 128, 16, 32, 32)


def naive_inception_params(c_in: int, ch1x1: int, ch3x3: int, ch5x5: int, pool_proj: int) -> int:
    """Weights + biases of the module without 1x1 reductions: 1x1, 3x3 and 5x5 convs straight on ``c_in``."""
    return (c_in * ch1x1 + ch1x1) + (9 * c_in * ch3x3 + ch3x3) + (25 * c_in * ch5x5 + ch5x5) + (c_in * pool_proj
                                                                                                  + pool_proj)


def reduced_inception_params(c_in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) -> int:
    """The same with the 1x1 reductions in front of the 3x3 and 5x5 convs (the paper's module, no batch norm)."""
    return ((c_in * ch1x1 + ch1x1) + (c_in * ch3x3red + ch3x3red) + (9 * ch3x3red * ch3x3 + ch3x3)
            + (c_in * ch5x5red + ch5x5red) + (25 * ch5x5red * ch5x5 + ch5x5) + (c_in * pool_proj + pool_proj))


def network(kind: str, c: int, rng) -> nn.Sequential:
    """stem conv3x3 (3 -> c) -> pool -> block -> pool -> global average -> linear; ``kind`` picks the block."""
    if kind == "inception":  # c -> c: c/4 | c/4 -> c/2 | c/16 -> c/8 | pool -> c/8, the 3a proportions
        block = Inception(c, c // 4, c // 4, c // 2, c // 16, c // 8, c // 8, branch3_kernel=5, rng=rng)
    else:  # one 3x3 branch, as wide as gives at least the Inception block's parameters
        block = BasicConv2d(c, _single_width(c), rng=rng, kernel_size=3, padding=1)
    width = c if kind == "inception" else _single_width(c)
    return nn.Sequential(BasicConv2d(3, c, rng=rng, kernel_size=3, padding=1), nn.MaxPool2d(2), block,
                         nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10, rng=rng))


def _single_width(c: int) -> int:
    """The smallest width w whose conv3x3 (c -> w, no bias) + batch norm matches the Inception block's parameters."""
    target = Inception(c, c // 4, c // 4, c // 2, c // 16, c // 8, c // 8, branch3_kernel=5, rng=0).num_parameters()
    return -(-target // (9 * c + 2))


class InceptionExperiment(Experiment):
    name = "inception"
    topic = TOPIC
    claim = (
        "GoogLeNet's Inception module runs filters of several sizes side by side and concatenates them; "
        "1x1 convolutions in front of the 3x3 and 5x5 filters cut its parameters several-fold, and at equal "
        "parameters the module classifies at least as well as a single 3x3 branch."
    )
    criterion = (
        "inception (3a)'s parameters with 1x1 reductions equal the closed-form count and are under half of the "
        "same module without them; on the CIFAR-10 subset a network with an Inception block reaches a test "
        "accuracy at least that of the same network with a single 3x3 block of at least as many parameters, "
        "minus 1 point"
    )

    @dataclass
    class Config(TrainingConfig):
        channels: int = field(default=64, metadata={"help": "channels c of the stem and the block"})
        compare: bool = field(default=True, metadata={
            "help": "judge the accuracies against each other (False: only that both beat chance by 5 points)"})

    quick = {"channels": 16, "epochs": 3, "batch_size": 32, "lr": 3e-3, "n_train": 800, "n_test": 400,
             "compare": False}
    quick_criterion = ("the exact parameter counts of inception (3a), and a smoke test of the training (c = 16, 800 "
                       "images, 3 epochs): both networks above chance by 5 points; so short a run cannot rank them")
    data = ("cifar10",)

    def run(self, config, ctx):
        c_in, ch1, red3, ch3, red5, ch5, pool = INCEPTION_3A
        module = Inception(*INCEPTION_3A, branch3_kernel=5, batch_norm=False, rng=0)
        measured = module.num_parameters()
        reduced = reduced_inception_params(*INCEPTION_3A)
        naive = naive_inception_params(c_in, ch1, ch3, ch5, pool)
        rows = [{"module": "inception (3a), 1x1 reductions", "parameters": measured, "closed form": reduced},
                {"module": "inception (3a), no reductions", "parameters": naive, "closed form": naive}]
        counts_ok = measured == reduced and reduced < naive / 2

        data = load_images("cifar10", ctx.data_dir, config.n_train, config.n_test)
        init_seq, batch_seq = ctx.spawn_seeds(2)
        curves, accs = {}, {}
        for kind in ("inception", "single 3x3"):
            def train(kind=kind):
                model = network(kind, config.channels, np.random.default_rng(init_seq))
                history = train_classifier(model, data, epochs=config.epochs, batch_size=config.batch_size,
                                           lr=config.lr, rng=np.random.default_rng(batch_seq), progress=ctx.progress,
                                           desc=kind, evaluate_every=config.epochs if ctx.quick else 1)
                return {"params": model.num_parameters(), "history": history}

            done = ctx.unit(kind.replace(" ", "-"), train)
            curves[kind] = done["history"]
            accs[kind] = done["history"][-1]["test_accuracy"]
            rows.append({"module": f"CIFAR-10 network, {kind} block", "parameters": done["params"],
                         "test accuracy": accs[kind]})
        if config.compare:
            ok = counts_ok and accs["inception"] >= accs["single 3x3"] - 0.01
        else:
            ok = counts_ok and min(accs.values()) > 0.15
        fig, ax = ctx.figure()
        for kind, h in curves.items():
            ax.plot([r["epoch"] for r in h], [r["test_accuracy"] for r in h], marker="o", label=kind)
        plotting.style(ax, title="CIFAR-10: Inception block vs one 3x3 branch", xlabel="epoch",
                       ylabel="test accuracy (share right)")
        ctx.savefig(fig, "test_accuracy")
        metrics = {"params_3a_reduced": measured, "params_3a_naive": naive, "saving": naive / measured,
                   "accuracy_inception": accs["inception"], "accuracy_single": accs["single 3x3"]}
        notes = [f"Inception (3a): {measured:,} parameters with the 1x1 reductions against {naive:,} without, "
                 f"{naive / measured:.1f}x fewer: the 5x5 branch alone would need 25·192·32 = {25 * 192 * 32:,} "
                 f"weights, after a 1x1 to 16 channels 192·16 + 25·16·32 = {192 * 16 + 25 * 16 * 32:,}."]
        return Outcome(verdict_from(ok), metrics, rows, notes)
