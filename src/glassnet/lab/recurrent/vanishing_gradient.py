"""vanishing-gradient: ||dL/dh_t|| against the distance T - t for RNN, LSTM and GRU on the adding problem."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import glassnet.functional as F
from glassnet.data.datasets.generated import adding_problem
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.recurrent.adding import ADDING_TARGET_VAR, TOPIC, AddingModel, mse_on, train_adding
from glassnet.optim import Adam


def _decay_profile(model, x, y) -> np.ndarray:
    """``||dL/dh_t|| / ||dL/dh_T||`` for t = T..1 (index = distance T - t), batch-averaged norms."""
    model.zero_grad()
    F.mean_squared_error(model(x), y).backward()
    norms = model.rec.grad_h_norms()  # (T,)
    return norms[::-1] / norms[-1]  # (T,) index k = distance from the last step


class VanishingGradient(Experiment):
    name = "vanishing-gradient"
    topic = TOPIC
    claim = (
        "In a simple RNN the gradient dL/dh_t shrinks geometrically with the distance T - t, so distant steps "
        "get no learning signal; the LSTM's cell (and the GRU's gated update) keeps it alive."
    )
    criterion = (
        "after training each cell on the adding problem with the same budget, the RNN's gradient at the "
        "largest distance (relative to the last step's) is at least 100x (two orders of magnitude) smaller "
        "than the LSTM's and than the GRU's"
    )

    @dataclass
    class Config:
        T: int = field(default=50, metadata={"help": "sequence length (the largest distance is T - 1)"})
        hidden: int = field(default=32, metadata={"help": "hidden units H"})
        steps: int = field(default=1000, metadata={"help": "training steps per cell (stops early once solved)"})
        batch_size: int = field(default=32, metadata={"help": "fresh sequences per step"})
        lr: float = field(default=0.01, metadata={"help": "Adam learning rate"})
        max_norm: float = field(default=1.0, metadata={"help": "gradient-norm clipping"})
        probe_size: int = field(default=256, metadata={"help": "sequences whose gradients are measured"})
        eval_every: int = field(default=100, metadata={"help": "steps between validation checks"})

    quick_criterion = ("at T = 30 (H = 16, 300 steps): the trained LSTM's and GRU's gradient ratio at distance "
                       "T-1 exceed the RNN's by >= 2 orders of magnitude")
    quick = {"T": 30, "hidden": 16, "steps": 300, "batch_size": 64, "probe_size": 128, "eval_every": 50}

    def run(self, config, ctx):
        cells = ("rnn", "lstm", "gru")
        data_seq, probe_seq, val_seq, init_seq = ctx.spawn_seeds(4)  # each shared by the three cells
        probe = adding_problem(config.probe_size, config.T, rng=np.random.default_rng(probe_seq))
        val = adding_problem(500, config.T, rng=np.random.default_rng(val_seq))
        profiles, rows = {}, []
        for cell in cells:
            model = AddingModel(cell, config.hidden, np.random.default_rng(init_seq), record_grad=True)
            at_init = _decay_profile(model, *probe)
            log = train_adding(
                model, Adam(list(model.parameters()), lr=config.lr), config.T, steps=config.steps,
                batch_size=config.batch_size, max_norm=config.max_norm, data_rng=np.random.default_rng(data_seq),
                val=val, eval_every=config.eval_every, stop_below=0.01 * ADDING_TARGET_VAR,
                progress=lambda it, d=cell: ctx.progress(it, desc=d),
            )
            trained = _decay_profile(model, *probe)
            profiles[cell] = (at_init, trained)
            mse = mse_on(model, *val)
            far = config.T - 1
            rows.append({
                "cell": cell, "steps": log.steps, "val MSE / Var": mse / ADDING_TARGET_VAR,
                "init: ratio at T-1": at_init[far], "trained: ratio at T-1": trained[far],
                "trained: decay per step": trained[far] ** (1.0 / far),
            })

        fig, ax = ctx.figure(size=(7, 4.5))
        for i, cell in enumerate(cells):
            at_init, trained = profiles[cell]
            ax.plot(trained, color=f"C{i}", label=f"{cell}, trained")
            ax.plot(at_init, color=f"C{i}", ls="--", alpha=0.6, label=f"{cell}, at init")
        plotting.style(ax, title=f"gradient through time, adding problem T={config.T}",
                       xlabel="distance T - t (time steps back from the loss)", ylabel="||dL/dh_t|| / ||dL/dh_T||",
                       log=True)
        ctx.savefig(fig, "grad_norm_vs_distance")

        far = {r["cell"]: r["trained: ratio at T-1"] for r in rows}
        orders_lstm = float(np.log10(far["lstm"] / far["rnn"]))
        orders_gru = float(np.log10(far["gru"] / far["rnn"]))
        ok = orders_lstm >= 2.0 and orders_gru >= 2.0
        metrics = {f"{r['cell']}_far_ratio_trained": r["trained: ratio at T-1"] for r in rows}
        metrics.update({f"{r['cell']}_far_ratio_init": r["init: ratio at T-1"] for r in rows})
        metrics.update(orders_lstm_over_rnn=orders_lstm, orders_gru_over_rnn=orders_gru)
        init = {r["cell"]: r["init: ratio at T-1"] for r in rows}
        notes = [
            f"After training the LSTM keeps {orders_lstm:.1f} and the GRU {orders_gru:.1f} more orders of magnitude "
            f"of gradient than the RNN over {config.T - 1} steps.",
            "At initialisation (dashed) the gates are not yet open: with forget-gate bias near 0, f ≈ σ(0) = 1/2 "
            f"halves the cell gradient every step (untrained LSTM ratio {init['lstm']:.2g}, RNN {init['rnn']:.2g}); "
            "the carousel preserves gradient once training opens f towards 1.",
        ]
        return Outcome(verdict_from(ok), metrics, rows, notes)
