"""sunspots: an LSTM forecasts next year's sunspot number better than persistence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import glassnet.functional as F
from glassnet import nn, no_grad
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.recurrent.adding import TOPIC
from glassnet.optim import Adam
from glassnet.train.step import train_step


def load_yearly_sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Yearly mean sunspot numbers 1700–2008 embedded in statsmodels: ``years`` int64 (309,), ``counts`` float64."""
    from statsmodels.datasets import sunspots

    data = sunspots.load_pandas().data
    return data["YEAR"].to_numpy().astype(np.int64), data["SUNACTIVITY"].to_numpy(dtype=np.float64)


class Forecaster(nn.Module):
    """LSTM over the last ``w`` years, then ``Linear(H, 1)``: ``x (N, w, 1)`` -> next year ``(N,)``."""

    def __init__(self, hidden: int, rng):
        super().__init__()
        self.rec = nn.LSTM(1, hidden, rng=rng)
        self.head = nn.Linear(hidden, 1, rng=rng)

    def forward(self, x):
        hs, _ = self.rec(x)  # (N, w, H)
        y = self.head(F.getitem(hs, (slice(None), -1)))  # (N, 1)
        return F.reshape(y, (y.shape[0],))  # (N,)


class Sunspots(Experiment):
    name = "sunspots"
    topic = TOPIC
    claim = "An LSTM forecasts the yearly sunspot number one year ahead better than the persistence forecast."
    criterion = (
        "one-step-ahead RMSE on the last 20% of years (trained only on earlier targets): "
        "LSTM RMSE < persistence RMSE (next year = this year)"
    )

    @dataclass
    class Config:
        window: int = field(default=20, metadata={"help": "past years the LSTM reads (T)"})
        hidden: int = field(default=32, metadata={"help": "hidden units H"})
        steps: int = field(default=800, metadata={"help": "full-batch Adam steps"})
        lr: float = field(default=0.01, metadata={"help": "Adam learning rate"})
        max_norm: float = field(default=1.0, metadata={"help": "gradient-norm clipping"})
        test_fraction: float = field(default=0.2, metadata={"help": "last fraction of years held out"})
        eval_every: int = field(default=50, metadata={"help": "steps between test evaluations (for the plot)"})

    quick = {"steps": 150, "hidden": 16}
    quick_criterion = "the full rule after 150 steps with H = 16: LSTM test RMSE < persistence RMSE"

    def run(self, config, ctx):
        years, counts = load_yearly_sunspots()
        w = config.window
        n_test = int(round(config.test_fraction * len(counts)))
        split = len(counts) - n_test  # targets at index >= split are test years
        mean, std = counts[:split].mean(), counts[:split].std()  # scale from training years only
        z = ((counts - mean) / std).astype(np.float32)
        targets = np.arange(w, len(z))  # predict z[i] from z[i-w:i]
        x = np.stack([z[i - w:i] for i in targets])[:, :, None]  # (N, w, 1)
        y = z[targets]  # (N,)
        train, test = targets < split, targets >= split

        (init_rng,) = ctx.spawn(1)
        model = Forecaster(config.hidden, init_rng)
        opt = Adam(list(model.parameters()), lr=config.lr)
        curve = []
        for step in ctx.progress(range(1, config.steps + 1), desc="lstm"):
            train_step(opt, lambda: F.mean_squared_error(model(x[train]), y[train]), max_norm=config.max_norm,
                       where=step, model=model)
            if step % config.eval_every == 0:
                curve.append((step, _rmse(_predict(model, x[test]) * std + mean, counts[targets[test]])))

        truth = counts[targets[test]]
        lstm = _predict(model, x[test]) * std + mean
        persistence = counts[targets[test] - 1]
        # a linear autoregression on the same window, least squares on the training targets: context, not judged
        design = np.concatenate([x[:, :, 0], np.ones((len(x), 1), np.float32)], axis=1).astype(np.float64)
        coef, *_ = np.linalg.lstsq(design[train], y[train].astype(np.float64), rcond=None)
        linear = (design[test] @ coef) * std + mean
        rmse = {"lstm": _rmse(lstm, truth), "persistence": _rmse(persistence, truth),
                f"linear AR({w})": _rmse(linear, truth)}
        rows = [{"forecast": k, "test RMSE": v, "vs persistence": v / rmse["persistence"]} for k, v in rmse.items()]

        fig, axes = ctx.figure(1, 2, size=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
        test_years = years[targets[test]]
        axes[0].plot(years, counts, color="0.75", lw=1, label="observed")
        axes[0].plot(test_years, lstm, label=f"LSTM (RMSE {rmse['lstm']:.1f})")
        axes[0].plot(test_years, persistence, ls="--", label=f"persistence (RMSE {rmse['persistence']:.1f})")
        axes[0].axvline(years[split] - 0.5, color="k", lw=1, ls=":")
        plotting.style(axes[0], title="one-year-ahead forecasts of the held-out years", xlabel="year",
                       ylabel="yearly mean sunspot number")
        axes[1].plot(*zip(*curve), marker=".", label="LSTM")
        axes[1].axhline(rmse["persistence"], color="C1", ls="--", label="persistence")
        plotting.style(axes[1], title="LSTM during training", xlabel="training step",
                       ylabel="test RMSE (sunspot number)")
        ctx.savefig(fig, "forecast")

        ok = rmse["lstm"] < rmse["persistence"]
        metrics = {"lstm_rmse": rmse["lstm"], "persistence_rmse": rmse["persistence"],
                   "linear_ar_rmse": rmse[f"linear AR({w})"], "test_years": [int(test_years[0]), int(test_years[-1])]}
        ar = rmse[f"linear AR({w})"]
        notes = [
            f"Train targets {years[w]}–{years[split - 1]}, test targets {test_years[0]}–{test_years[-1]} "
            f"({n_test} years); inputs standardised with the training years' mean and std.",
            f"Reference, not judged: a linear AR({w}) fitted by least squares scores RMSE {ar:.1f}, "
            f"{'better' if ar < rmse['lstm'] else 'worse'} than the LSTM's {rmse['lstm']:.1f}: with "
            f"{int(train.sum())} training years much of the gain over persistence is linear.",
        ]
        return Outcome(verdict_from(ok), metrics, rows, notes)


def _predict(model, x) -> np.ndarray:
    with no_grad():
        return model(x).data.astype(np.float64)


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - b) ** 2)))
