"""resnet-degradation (He et al. 2016): a deeper plain net trains worse than a shallower one, a deeper ResNet not."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.cnn import TOPIC
from glassnet.lab.images import TrainingConfig, load_images, train_classifier
from glassnet.zoo import CifarResNet


class ResNetDegradation(Experiment):
    name = "resnet-degradation"
    topic = TOPIC
    claim = (
        "Degradation (He et al. 2016): a deeper plain network ends with a higher training loss than a shallower "
        "one, which is not overfitting but an optimisation problem; with identity shortcuts (ResNet) the deeper "
        "network trains at least as well."
    )
    criterion = (
        "on the CIFAR-10 subset with the same budget (SGD, momentum 0.9, weight decay 1e-4, same epochs and "
        "batches): the last epoch's mean training loss of plain-56 is above plain-20's, and ResNet-56's is at "
        "most ResNet-20's"
    )

    @dataclass
    class Config(TrainingConfig):
        depths: tuple = field(default=(20, 56), metadata={"help": "two depths 6n+2 (shallow, deep)"})
        epochs: int = field(default=8, metadata={"help": "training epochs of each network"})
        batch_size: int = field(default=128, metadata={"help": "images per step"})
        lr: float = field(default=0.1, metadata={"help": "SGD learning rate (He et al.: 0.1)"})
        weight_decay: float = field(default=1e-4, metadata={"help": "L2 weight decay"})

    quick = {"depths": (8, 14), "epochs": 2, "batch_size": 32, "lr": 0.05, "n_train": 128, "n_test": 128}
    quick_criterion = ("a smoke test of the four trainings (8 and 14 layers, 128 images, 2 epochs): the rule is "
                       "applied, but so short a run rarely shows degradation")
    data = ("cifar10",)

    def run(self, config, ctx):
        data = load_images("cifar10", ctx.data_dir, config.n_train, config.n_test)
        batch_seq = ctx.spawn_seeds(1)[0]  # every network sees the same batches
        rows, curves = [], {}
        for depth in config.depths:
            n = (depth - 2) // 6
            init_seq = ctx.spawn_seeds(1)[0]  # plain and residual twins start from the same weights
            for shortcut in (False, True):
                label = f"{'resnet' if shortcut else 'plain'}-{depth}"

                def train(n=n, shortcut=shortcut, label=label, init_seq=init_seq):
                    model = CifarResNet(n, shortcut=shortcut, rng=np.random.default_rng(init_seq))
                    history = train_classifier(model, data, epochs=config.epochs, batch_size=config.batch_size,
                                               lr=config.lr, rng=np.random.default_rng(batch_seq),
                                               progress=ctx.progress, desc=label, optimizer="sgd", momentum=0.9,
                                               weight_decay=config.weight_decay, train_eval=0,
                                               evaluate_every=1 if not ctx.quick else config.epochs)
                    return {"params": model.num_parameters(), "history": history}

                done = ctx.unit(label, train)
                curves[label] = done["history"]
                last = done["history"][-1]
                rows.append({"network": label, "layers": depth, "parameters": done["params"],
                             "train loss (last epoch)": last["train_loss"], "test accuracy": last["test_accuracy"]})
                ctx.log(f"{label}: training loss {last['train_loss']:.4f}")
        loss = {r["network"]: r["train loss (last epoch)"] for r in rows}
        shallow, deep = config.depths
        plain_degrades = loss[f"plain-{deep}"] > loss[f"plain-{shallow}"]
        resnet_holds = loss[f"resnet-{deep}"] <= loss[f"resnet-{shallow}"]
        fig, ax = ctx.figure()
        for label, h in curves.items():
            ax.plot([r["epoch"] for r in h], [r["train_loss"] for r in h], marker="o",
                    ls="-" if label.startswith("resnet") else "--", label=label)
        plotting.style(ax, title="CIFAR-10: training loss, plain vs residual", xlabel="epoch",
                       ylabel="training loss (nats, mean over the epoch)", log="auto")
        ctx.savefig(fig, "training_loss")
        metrics = {f"{k}_train_loss": v for k, v in loss.items()}
        metrics.update(plain_degrades=plain_degrades, resnet_holds=resnet_holds)
        notes = [f"plain: {shallow} layers {loss[f'plain-{shallow}']:.4f}, {deep} layers {loss[f'plain-{deep}']:.4f}; "
                 f"ResNet: {loss[f'resnet-{shallow}']:.4f} and {loss[f'resnet-{deep}']:.4f}. The twins have the "
                 "same layers and parameters (option-A shortcuts are parameter-free): only y = F(x) + x differs."]
        return Outcome(verdict_from(plain_degrades and resnet_holds), metrics, rows, notes)
