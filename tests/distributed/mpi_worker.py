"""Run by tests/distributed/test_mpi.py under ``mpiexec -n R python mpi_worker.py MODE OUT``, never by pytest itself.

Modes:
    parity DTYPE  train a small MLP data-parallel for a few steps; rank 0 writes OUT/params.npz (parameters and
                  the epoch records), every rank checks that its parameters equal rank 0's. Then, in the same job:
                  one epoch of a batch-norm model (OUT/batchnorm.npz: every rank's running statistics) and the
                  dropout masks of every rank (OUT/masks.npz); World.agree on a check that fails on rank 1
                  only (OUT/agree.json: what each rank raised).
    cli ARGS...   run ``glassnet ARGS`` (several runs: argument lists separated by ``+``, in this process); after
                  each, print the paths each rank wrote (os.replace destinations) and, as JSON, each rank's
                  local end-of-epoch totals (before the exchange).
    raise         rank 1 raises at its third step inside ``with world:``.
    hook          rank 1 raises at its third step outside any ``with``: the excepthook aborts.
    stall         rank 1 stops answering (sleeps); rank 0's watchdog (timeout 2 s) must abort the job.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from glassnet import distributed, nn, optim
from glassnet.data import ArrayDataset
from glassnet.errors import ConfigError
from glassnet.train import Trainer


def problem(dtype: str, n: int = 48, d: int = 5, k: int = 3):
    """The fixed data and model of the parity test (also built by the single-process reference)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, d)).astype(dtype)
    t = rng.integers(0, k, size=n)
    model = nn.Sequential(nn.Linear(d, 16, rng=1), nn.Tanh(), nn.Linear(16, k, rng=2)).to(dtype)
    return ArrayDataset(x, t), model


def build_trainer(model, grad_hook=None, callbacks=(), epoch_hook=None):
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Trainer(model, optimizer, metrics=("accuracy",), callbacks=callbacks, grad_hook=grad_hook,
                   epoch_hook=epoch_hook)


def batchnorm_model():
    """Batch norm first: its running statistics depend on the inputs only, so a test can recompute them."""
    return nn.Sequential(nn.BatchNorm1d(5), nn.Linear(5, 3, rng=4)).to("float64")


def dropout_model():
    return nn.Sequential(nn.Linear(6, 6, rng=5), nn.Dropout(0.5, rng=11))


def dropout_masks(model, draws: int = 3) -> np.ndarray:
    """(draws, 4, 6): which units the model's dropout kept, for ``draws`` training-mode forwards."""
    from glassnet import Tensor

    model.train()
    x = np.ones((4, 6), dtype=np.float32)
    return np.stack([model[1](Tensor(x)).data != 0 for _ in range(draws)])


def parity(out: str, dtype: str) -> None:
    with distributed.init() as world:
        data, model = problem(dtype)
        if world.rank == 1:  # a different start on rank 1: the broadcast must replace it by rank 0's
            for p in model.parameters():
                p.data[...] = 0
        ddp = distributed.DistributedDataParallel(model, world)
        loader = distributed.DistributedLoader(data, batch_size=4, shuffle=True, rng=3, world=world)
        trainer = build_trainer(model, grad_hook=ddp, callbacks=[ddp], epoch_hook=ddp.reduce_epoch)
        trainer.fit(loader, epochs=2)
        flat = np.concatenate([p.data.ravel() for p in model.parameters()])
        everyone = world.comm.gather((flat, trainer.history.epochs), root=0)
        if world.is_main:
            assert all(np.array_equal(everyone[0][0], f) for f, _ in everyone), "ranks hold different parameters"
            assert all(h == everyone[0][1] for _, h in everyone), "ranks logged different epoch records"
            history = trainer.history.epochs
            np.savez(os.path.join(out, "params.npz"), **{n: p.data for n, p in model.named_parameters()},
                     exchanges=np.array(ddp.exchanges), loss=np.array([h["loss"] for h in history]),
                     accuracy=np.array([h["accuracy"] for h in history]))

        bn = batchnorm_model()
        ddp = distributed.DistributedDataParallel(bn, world)
        loader = distributed.DistributedLoader(data, batch_size=4, shuffle=True, rng=3, world=world)
        build_trainer(bn, grad_hook=ddp, callbacks=[ddp], epoch_hook=ddp.reduce_epoch).fit(loader, epochs=1)
        stats = world.comm.gather((bn[0].running_mean.copy(), bn[0].running_var.copy()), root=0)
        if world.is_main:
            np.savez(os.path.join(out, "batchnorm.npz"), mean=np.stack([m for m, _ in stats]),
                     var=np.stack([v for _, v in stats]))

        drop = dropout_model()
        distributed.DistributedDataParallel(drop, world)
        masks = world.comm.gather(dropout_masks(drop), root=0)
        if world.is_main:
            np.savez(os.path.join(out, "masks.npz"), masks=np.stack(masks))

        def fails_on_rank_1():
            if world.rank == 1:
                raise ConfigError("rank 1 cannot see the checkpoint")
            return "fine"

        try:  # one rank's failure must become every rank's, or rank 0 would wait alone in its next collective
            outcome = world.agree(fails_on_rank_1)
        except Exception as e:
            outcome = f"{type(e).__name__}: {e}"
        outcomes = world.comm.gather(outcome, root=0)
        if world.is_main:
            with open(os.path.join(out, "agree.json"), "w") as f:
                json.dump(outcomes, f)
            print("parity ok")


def cli(args: list[str]) -> None:
    """``glassnet train`` once per ``+``-separated argument list, in this one process (imports paid once)."""
    real_replace, written, local = os.replace, [], []

    def replace(src, dst, *a, **k):
        written.append(os.path.basename(os.fspath(dst)))
        return real_replace(src, dst, *a, **k)

    real_reduce = distributed.DistributedDataParallel.reduce_epoch

    def reduce_epoch(self, totals):
        local.append([float(v) for v in totals])  # this rank's own totals, before they are summed
        return real_reduce(self, totals)

    os.replace, distributed.DistributedDataParallel.reduce_epoch = replace, reduce_epoch
    from mpi4py import MPI

    from glassnet.cli import main

    rank, runs, current = MPI.COMM_WORLD.Get_rank(), [], []
    for a in [*args, "+"]:
        if a == "+":
            runs.append(current)
            current = []
        else:
            current.append(a)
    for i, run in enumerate(runs):
        written.clear()
        local.clear()
        code = main(run)
        # one write per record, newline included: the ranks share stdout, and print's separate newline
        # write can land after the other rank's record
        sys.stdout.write(f"WROTE run {i} rank {rank}: {sorted(set(written))}\n")
        sys.stdout.write(f"TOTALS run {i} rank {rank}: {json.dumps(local)}\n")
        sys.stdout.flush()
        if code:
            sys.exit(code)


def failing(mode: str) -> None:
    world = distributed.init(timeout=2.0 if mode == "stall" else None)
    data, model = problem("float32", n=4000)
    ddp = distributed.DistributedDataParallel(model, world)

    def hook():
        if world.rank == 1 and ddp.exchanges == 2:
            if mode == "stall":
                time.sleep(60)
            raise RuntimeError("rank 1 fails on purpose at its third step")
        ddp()

    loader = distributed.DistributedLoader(data, batch_size=4, shuffle=True, rng=3, world=world)
    if mode == "raise":
        with world:
            build_trainer(model, grad_hook=hook).fit(loader, epochs=50)
    else:
        build_trainer(model, grad_hook=hook).fit(loader, epochs=50)


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode == "parity":
        parity(rest[0], rest[1])
    elif mode == "cli":
        cli(rest)
    else:
        failing(mode)
