"""dcgan: a convolutional GAN beats a plain MLP GAN on MNIST; an overpowering discriminator collapses it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from glassnet import no_grad
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.generative import TOPIC
from glassnet.lab.generative.gan_metrics import (
    class_histogram,
    classifier_features,
    fid,
    kl_to_uniform,
    train_feature_classifier,
)
from glassnet.lab.images import load_images
from glassnet.optim import Adam
from glassnet.train.step import train_step
from glassnet.zoo import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    discriminator_loss,
    generator_loss,
)
from glassnet.zoo.gan import sample_z

RUNS = ("dcgan", "mlp-gan", "dcgan-strong-d")


def _grid(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``(rows·cols, 28, 28)`` images as one ``(28·rows, 28·cols)`` picture."""
    return images.reshape(rows, cols, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)


def _generate(G, z: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Images ``(N, 1, 28, 28)`` in [0, 1] (the classifier's scale) from ``z``, in evaluation mode, no graph."""
    G.eval()
    with no_grad():
        out = np.concatenate([G(z[lo:lo + batch_size]).data for lo in range(0, len(z), batch_size)])
    G.train()
    return (out + 1.0) / 2.0


class DCGANExperiment(Experiment):
    name = "dcgan"
    topic = TOPIC
    claim = (
        "A deep convolutional GAN (Radford et al. 2016: strided and transposed convolutions, batch norm, "
        "ReLU / LeakyReLU, no fully connected hidden layers) generates better images than a plain GAN of "
        "fully connected layers (Goodfellow et al. 2014), and GAN training is a balance: a discriminator that "
        "learns much faster than the generator makes it collapse onto a few modes."
    )
    criterion = (
        "on the MNIST subset, the same number of Adam steps (lr 2e-4, beta1 0.5) for each: at the last epoch the "
        "DCGAN's FID (Fréchet distance of our LeNet's penultimate features, generated vs. test images) is below "
        "the MLP GAN's, and a DCGAN whose discriminator's learning rate is 10x covers the digits worse: the KL "
        "divergence of its generated-class histogram to uniform is above the balanced DCGAN's"
    )

    @dataclass
    class Config:
        epochs: int = field(default=20, metadata={"help": "training epochs of each GAN (the same steps for all)"})
        batch_size: int = field(default=64, metadata={"help": "real (and fake) images per step"})
        lr: float = field(default=2e-4, metadata={"help": "Adam learning rate of G and D (Radford et al.)"})
        beta1: float = field(default=0.5, metadata={"help": "Adam beta1 (Radford et al.: 0.5)"})
        z_dim: int = field(default=100, metadata={"help": "size of the noise vector z"})
        width: int = field(default=32, metadata={"help": "DCGAN channels c (G: 2c, c; D: c, 2c)"})
        g_hidden: tuple = field(default=(128, 256), metadata={"help": "MLP generator's hidden sizes"})
        d_hidden: tuple = field(default=(256, 128), metadata={"help": "MLP discriminator's hidden sizes"})
        strong_d: float = field(default=10.0, metadata={"help": "D's learning rate factor of the collapsing run"})
        n_train: int = field(default=0, metadata={"help": "training images used (0: all)"})
        n_eval: int = field(default=1000, metadata={"help": "generated images for FID and the class histogram"})
        classifier_epochs: int = field(default=3, metadata={"help": "training epochs of the feature classifier"})

    quick = {"epochs": 2, "width": 8, "g_hidden": (32, 64), "d_hidden": (64, 32), "n_train": 640, "n_eval": 300,
             "classifier_epochs": 1}
    quick_criterion = ("on 640 images for 2 epochs with c = 8: every FID finite, the balanced DCGAN's FID falls "
                       "from epoch 1 to epoch 2, and the class histograms are distributions (KL in [0, log 10])")
    data = ("mnist",)

    def run(self, config, ctx):
        data = load_images("mnist", ctx.data_dir, config.n_train, 0)
        x_train = data["x_train"] * 2.0 - 1.0  # [0, 1] -> [-1, 1], the generators' tanh range
        clf_seq, *run_seqs = ctx.spawn_seeds(1 + len(RUNS))
        clf_rng = np.random.default_rng(clf_seq)
        # Not a unit (its weights are no JSON): retrained from the same seed on resume, so identical.
        clf = train_feature_classifier(data["x_train"], data["y_train"], rng=clf_rng, progress=ctx.progress,
                                       epochs=config.classifier_epochs)
        real_feats, real_pred = classifier_features(clf, data["x_test"])
        floor = fid(classifier_features(clf, data["x_val"])[0], real_feats)  # real vs. real: FID's noise floor
        clf_acc = float(np.mean(real_pred == data["y_test"]))
        results = {}
        for run, seq in zip(RUNS, run_seqs):
            results[run] = ctx.unit(run, lambda run=run, seq=seq: self._train(run, seq, config, x_train, clf,
                                                                             real_feats, ctx))
            last = results[run]["epochs"][-1]
            ctx.log(f"{run}: FID {last['fid']:.2f}, KL to uniform {last['kl']:.3f}")
        last = {run: r["epochs"][-1] for run, r in results.items()}
        fid_ok = last["dcgan"]["fid"] < last["mlp-gan"]["fid"]
        collapse = last["dcgan-strong-d"]["kl"] > last["dcgan"]["kl"]
        if ctx.quick:
            curve = [e["fid"] for e in results["dcgan"]["epochs"]]
            ok = (all(np.isfinite(e["fid"]) for r in results.values() for e in r["epochs"]) and curve[-1] < curve[0]
                  and all(0 <= e["kl"] <= np.log(10) + 1e-9 for r in results.values() for e in r["epochs"]))
        else:
            ok = fid_ok and collapse
        rows = [{"GAN": run, "parameters (G + D)": r["parameters"], "D lr": r["lr_d"], "FID": last[run]["fid"],
                 "KL to uniform (nats)": last[run]["kl"], "seconds per step": r["seconds_per_step"]}
                for run, r in results.items()]
        metrics = {f"{run.replace('-', '_')}_fid": last[run]["fid"] for run in RUNS}
        metrics.update({f"{run.replace('-', '_')}_kl": last[run]["kl"] for run in RUNS})
        metrics.update(fid_real_floor=floor, classifier_accuracy=clf_acc, dcgan_beats_mlp=fid_ok,
                       strong_d_collapses=collapse)
        self._plots(ctx, results, config)
        notes = [f"Trained on {len(x_train)} images; FID on {config.n_eval} generated vs. {len(real_feats)} test "
                 f"images, features of a LeNet (test accuracy {clf_acc:.3f}); real validation vs. test images give "
                 f"FID {floor:.2f} (the floor at these sample sizes).",
                 "FID here uses our own MNIST classifier, not Inception-v3: comparable within this lab only."]
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _train(run, seq, config, x_train, clf, real_feats, ctx):
        init_g, init_d, train_seq, eval_seq = seq.spawn(4)
        if run == "mlp-gan":
            G = MLPGenerator(config.z_dim, tuple(config.g_hidden), rng=np.random.default_rng(init_g))
            D = MLPDiscriminator(tuple(config.d_hidden), rng=np.random.default_rng(init_d))
        else:
            G = DCGANGenerator(config.z_dim, config.width, rng=np.random.default_rng(init_g))
            D = DCGANDiscriminator(config.width, rng=np.random.default_rng(init_d))
        lr_d = config.lr * (config.strong_d if run == "dcgan-strong-d" else 1.0)
        betas = (config.beta1, 0.999)
        opt_g, opt_d = Adam(list(G.parameters()), lr=config.lr, betas=betas), Adam(list(D.parameters()), lr=lr_d,
                                                                                    betas=betas)
        rng = np.random.default_rng(train_seq)
        z_eval = sample_z(config.n_eval, config.z_dim, np.random.default_rng(eval_seq))  # the same z every epoch
        n, b = len(x_train), config.batch_size
        bar = ctx.progress(total=config.epochs * ((n + b - 1) // b), desc=run)
        epochs, steps, seconds = [], 0, 0.0
        for epoch in range(1, config.epochs + 1):
            order = rng.permutation(n)
            d_losses, g_losses = [], []
            start = time.perf_counter()
            for lo in range(0, n, b):
                xb = x_train[order[lo:lo + b]]
                where = f"{run} epoch {epoch}"
                # D step: ascend log D(x) + log(1 - D(G(z))); then G step: ascend log D(G(z)) (non-saturating)
                d_losses.append(train_step(opt_d, lambda: discriminator_loss(D, G, xb, sample_z(len(xb), config.z_dim,
                                                                                                 rng)),
                                           where=where, model=D).loss)
                g_losses.append(train_step(opt_g, lambda: generator_loss(D, G, sample_z(len(xb), config.z_dim, rng)),
                                           where=where, model=G).loss)
                steps += 1
                bar.update(1)
            seconds += time.perf_counter() - start
            fake = _generate(G, z_eval)
            feats, pred = classifier_features(clf, fake)
            hist = class_histogram(pred)
            epochs.append({"epoch": epoch, "d_loss": float(np.mean(d_losses)), "g_loss": float(np.mean(g_losses)),
                           "fid": fid(real_feats, feats), "kl": kl_to_uniform(hist),
                           "histogram": hist.round(4).tolist(), "samples": fake[:8, 0].round(2).tolist()})
        bar.close()
        return {"run": run, "lr_d": lr_d, "parameters": G.num_parameters() + D.num_parameters(),
                "parameters_g": G.num_parameters(), "parameters_d": D.num_parameters(), "steps": steps,
                "seconds_per_step": seconds / max(steps, 1), "epochs": epochs}

    @staticmethod
    def _plots(ctx, results, config):
        for e in range(config.epochs):
            fig, axes = ctx.figure(len(RUNS), 1, size=(8, 1.4 * len(RUNS) + 0.6), squeeze=False)
            for ax, run in zip(axes[:, 0], RUNS):
                ax.imshow(_grid(np.asarray(results[run]["epochs"][e]["samples"]), 1, 8), cmap="gray", vmin=0, vmax=1)
                ax.set_title(f"{run}, epoch {e + 1}", fontsize=9)
                ax.axis("off")
            ctx.savefig(fig, f"samples_epoch{e + 1:02d}")
        fig, ax = ctx.figure()
        for run in RUNS:
            ep = results[run]["epochs"]
            ax.plot([r["epoch"] for r in ep], [r["fid"] for r in ep], marker="o", label=run)
        plotting.style(ax, title="FID per epoch (LeNet features; lower is better)", xlabel="epoch", ylabel="FID")
        ctx.savefig(fig, "fid")
        fig, axes = ctx.figure(1, 2, size=(12, 4.4), squeeze=False)
        for run in RUNS:
            ep = results[run]["epochs"]
            axes[0][0].plot([r["epoch"] for r in ep], [r["kl"] for r in ep], marker="o", label=run)
        plotting.style(axes[0][0], title="mode coverage: KL(class histogram || uniform)", xlabel="epoch",
                       ylabel="KL (nats)")
        width = 0.8 / len(RUNS)
        for i, run in enumerate(RUNS):
            axes[0][1].bar(np.arange(10) + (i - 1) * width, results[run]["epochs"][-1]["histogram"], width, label=run)
        axes[0][1].axhline(0.1, color="gray", linestyle="--", linewidth=1)
        plotting.style(axes[0][1], title="generated digits' classes, last epoch", xlabel="digit", ylabel="share")
        ctx.savefig(fig, "mode_coverage")
