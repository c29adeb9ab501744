"""cnn-vs-mlp: a small CNN against an MLP with at least as many parameters, on MNIST and CIFAR-10."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.cnn import TOPIC
from glassnet.lab.images import IMAGE_SHAPES, ImageMLP, TrainingConfig, lenet, load_images, train_classifier


def _mlp_hidden(inputs: int, target: int, classes: int = 10) -> int:
    """The smallest H whose inputs-H-classes MLP has at least ``target`` parameters."""
    per_unit = inputs + 1 + classes  # W_1 column, b_1 entry, W_2 row
    return max(1, -(-(target - classes) // per_unit))


class CNNvsMLP(Experiment):
    name = "cnn-vs-mlp"
    topic = TOPIC
    claim = (
        "A convolutional network classifies images better than a fully connected one with at least as many "
        "parameters: local connections and shared weights fit images."
    )
    criterion = (
        "on MNIST and on CIFAR-10 (the shared subsets: 80% train, 20% test), LeNet (conv5-pool-conv5-pool-FC500) "
        "reaches a higher test accuracy than a one-hidden-layer MLP with at least LeNet's parameter count, both "
        "trained with the same optimizer, epochs, batches and seed"
    )

    @dataclass
    class Config(TrainingConfig):
        datasets: tuple = field(default=("mnist", "cifar10"), metadata={"help": "data sets: mnist, cifar10"})

    quick = {"datasets": ("mnist",), "epochs": 2, "batch_size": 32, "n_train": 1500, "n_test": 500}
    quick_criterion = ("on MNIST only, 1500 training images, 2 epochs of batch 32, 500 test images: LeNet's test "
                       "accuracy above the MLP's")
    data = ("mnist", "cifar10")

    def run(self, config, ctx):
        rows, curves = [], {}
        for name in config.datasets:
            data = load_images(name, ctx.data_dir, config.n_train, config.n_test)
            c, h, _ = IMAGE_SHAPES[name]
            init_seq, batch_seq = ctx.spawn_seeds(2)

            def train(kind, name=name, data=data, c=c, h=h, init_seq=init_seq, batch_seq=batch_seq):
                init = np.random.default_rng(init_seq)
                cnn_params = lenet(c, h, np.random.default_rng(0)).num_parameters()
                if kind == "cnn":
                    model = lenet(c, h, init)
                else:
                    inputs = c * h * h
                    model = ImageMLP([inputs, _mlp_hidden(inputs, cnn_params), 10], rng=init)
                history = train_classifier(model, data, epochs=config.epochs, batch_size=config.batch_size,
                                           lr=config.lr, rng=np.random.default_rng(batch_seq), progress=ctx.progress,
                                           evaluate_every=config.epochs if ctx.quick else 1,
                                           desc=f"{kind} {name}")
                return {"params": model.num_parameters(), "history": history}

            for kind in ("cnn", "mlp"):
                done = ctx.unit(f"{name}-{kind}", lambda kind=kind: train(kind))
                curves[(name, kind)] = done["history"]
                last = done["history"][-1]
                rows.append({"data": name, "model": "LeNet" if kind == "cnn" else "MLP", "params": done["params"],
                             "test accuracy": last["test_accuracy"], "train accuracy": last["train_accuracy"],
                             "train loss": last["train_loss"]})
                ctx.log(f"{name} {kind}: test accuracy {last['test_accuracy']:.4f}")

        fig, axes = ctx.figure(1, len(config.datasets), squeeze=False)
        for ax, name in zip(axes[0], config.datasets):
            for kind, label in (("cnn", "LeNet"), ("mlp", "MLP")):
                h = curves[(name, kind)]
                ax.plot([r["epoch"] for r in h], [r["test_accuracy"] for r in h], marker="o", label=label)
            plotting.style(ax, title=f"{name}: test accuracy", xlabel="epoch", ylabel="test accuracy (share right)")
        ctx.savefig(fig, "test_accuracy")

        by = {(r["data"], r["model"]): r for r in rows}
        wins = {name: by[(name, "LeNet")]["test accuracy"] > by[(name, "MLP")]["test accuracy"]
                for name in config.datasets}
        metrics = {f"{d}_{m.lower()}_{k}": r[k2] for (d, m), r in by.items()
                   for k, k2 in (("test_accuracy", "test accuracy"), ("params", "params"))}
        notes = [f"{name}: LeNet {'beats' if wins[name] else 'does not beat'} the MLP with "
                 f"{by[(name, 'LeNet')]['params']:,} against {by[(name, 'MLP')]['params']:,} parameters."
                 for name in config.datasets]
        notes.append("LeNet's first layer has 20 filters of 5x5 weights shared over every position; the MLP's "
                     "first layer gives each pixel its own weight to each hidden unit and must learn every "
                     "translation of a stroke separately.")
        return Outcome(verdict_from(all(wins.values())), metrics, rows, notes)
