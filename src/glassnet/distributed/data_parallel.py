"""``DistributedDataParallel``: one model replica per rank, gradients averaged by one ``Allreduce`` per step.

Data parallelism (synchronous SGD, as in Goyal et al. 2017, "Accurate, Large
Minibatch SGD") with R ranks, each holding the same weights W and its own
share of the global batch of G = R·B samples::

    W  <- Bcast(W from rank 0)                                # once, at the start
    g_r = (1/B) Σ_{i in share r} ∇ℓ_i(W)                      # each rank's backward, local batch of B
    g   = (1/R) Σ_r g_r = (1/G) Σ_{i in global batch} ∇ℓ_i(W) # one Allreduce(SUM), then / R
    W  <- optimizer.step(W, g)                                # the same update on every rank

so after k steps every rank holds the weights one process would reach with
the global batch of G samples (up to the reassociation of the float sums).

The exchange packs every parameter's gradient into one flat contiguous buffer
(allocated once, reused every step), reduces it with a single ``Allreduce``
(one message of the model's size, instead of one latency per parameter), and
hands each parameter a view of its slice back as its ``grad``.

Batch norm: the running statistics (buffers) stay per rank and the batch
statistics of a training step are those of the local batch of B, as in
PyTorch's ``DistributedDataParallel`` without ``SyncBatchNorm``; a checkpoint
holds rank 0's running statistics. So a model with batch norm trained on R
ranks matches the one-process run with the global batch only in its
parameters' *direction*, not bit for bit; a model without batch norm matches
it exactly.
"""

from __future__ import annotations

import time
from typing import Any

from glassnet.backend import get_array_module
from glassnet.distributed.world import DistributedError, World, import_mpi, init
from glassnet.errors import ConfigError, DTypeError
from glassnet.nn import Module
from glassnet.train.callbacks import Callback

__all__ = ["DistributedDataParallel"]

_POLL_SECONDS = 1e-4  # the watchdog's sleep between two MPI_Test calls


class DistributedDataParallel(Callback):
    """Keep ``model``'s replicas equal across ranks: broadcast its parameters, average its gradients.

    Pass it to the :class:`~glassnet.train.Trainer` twice: as ``grad_hook`` (the step calls it after
    ``backward``) and among the ``callbacks`` (its checkpoint state is the world size, so a run resumed
    on another number of ranks is refused)::

        with distributed.init() as world:
            ddp = DistributedDataParallel(model, world)
            trainer = Trainer(model, optimizer, callbacks=[ddp], grad_hook=ddp)

    Args:
        model: the :class:`~glassnet.nn.Module` replica of this rank (built the same way on every rank).
        world: the :class:`~glassnet.distributed.World` (default: :func:`~glassnet.distributed.init`).

    Attributes:
        flat: the (P,) gradient buffer, P = the model's number of parameters, one dtype.
        exchanges: gradient exchanges (Allreduce calls) so far.

    Raises:
        ConfigError: a model that is not a Module or has no parameter, or ranks whose models differ in their
            parameters' names, shapes or dtype (checked once, with one ``allgather``).
        DTypeError: parameters of more than one dtype (one flat buffer holds one dtype).
    """

    order = -100  # its state is checked on restore; it does nothing per batch

    def __init__(self, model: Module, world: World | None = None) -> None:
        if not isinstance(model, Module):
            raise ConfigError(f"DistributedDataParallel: model must be a glassnet.nn.Module, "
                              f"got {type(model).__name__}")
        self.world = world if world is not None else init()
        self.model = model
        named = list(model.named_parameters())
        if not named:
            raise ConfigError("DistributedDataParallel: the model has no parameter to synchronise")
        dtypes = sorted({str(p.data.dtype) for _, p in named})
        if len(dtypes) != 1:
            raise DTypeError(f"DistributedDataParallel: every parameter must have one dtype (one flat buffer), "
                             f"got {dtypes}")
        self.params = [p for _, p in named]
        layout = [(name, tuple(p.shape)) for name, p in named]
        xp = get_array_module(self.params[0].data)
        self.flat = xp.empty(sum(p.data.size for p in self.params), dtype=self.params[0].data.dtype)  # (P,)
        self._views, offset = [], 0
        for p in self.params:
            self._views.append(self.flat[offset:offset + p.data.size].reshape(p.shape))
            offset += p.data.size
        self.exchanges = 0
        self._MPI = import_mpi()
        # a model that differs between ranks would make Allreduce mix unrelated numbers (or hang): refuse it
        layouts = self.world.comm.allgather((layout, dtypes[0]))
        for r, other in enumerate(layouts):
            if other != layouts[0]:
                raise ConfigError(f"DistributedDataParallel: the model of rank {r} differs from rank 0's "
                                  f"(parameter names, shapes or dtype); build it the same way on every rank")
        self.broadcast_parameters()

    def broadcast_parameters(self) -> None:
        """Copy rank 0's parameters to every rank (one ``Bcast`` of the flat buffer)."""
        for view, p in zip(self._views, self.params):
            view[...] = p.data
        self.world.comm.Bcast(self.flat, root=0)
        for view, p in zip(self._views, self.params):
            p.data[...] = view

    def sync_gradients(self) -> None:
        """Replace every parameter's gradient by its mean over the ranks: one ``Allreduce`` on the flat buffer.

        A parameter without a gradient on this rank (unused in its forward) contributes zeros, so every rank
        takes part in the same exchange. Afterwards ``p.grad`` is a view into :attr:`flat` (no copy); the next
        exchange overwrites it.

        Raises:
            DistributedError: with a world timeout, the other ranks did not answer within it.
        """
        for view, p in zip(self._views, self.params):
            if p.grad is None:
                view[...] = 0
            else:
                view[...] = p.grad
        MPI, comm = self._MPI, self.world.comm
        if self.world.timeout is None:
            comm.Allreduce(MPI.IN_PLACE, self.flat, op=MPI.SUM)
        else:
            self._allreduce_with_deadline(self.world.timeout)
        self.flat /= self.world.size  # g = (1/R) Σ_r g_r
        for view, p in zip(self._views, self.params):
            p.grad = view
        self.exchanges += 1

    def _allreduce_with_deadline(self, timeout: float) -> None:
        MPI = self._MPI
        request = self.world.comm.Iallreduce(MPI.IN_PLACE, self.flat, op=MPI.SUM)
        deadline = time.monotonic() + timeout
        while not request.Test():
            if time.monotonic() > deadline:
                raise DistributedError(f"rank {self.world.rank}/{self.world.size}: gradient exchange "
                                       f"{self.exchanges + 1} got no answer from the other ranks within "
                                       f"{timeout:g} s; a rank has stopped")
            time.sleep(_POLL_SECONDS)

    __call__ = sync_gradients

    # ------------------------------------------------------------ checkpoint state
    def state_dict(self) -> dict[str, Any]:
        """``{"world_size": R}``: stored in every checkpoint of the run."""
        return {"world_size": self.world.size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Refuse a checkpoint written by another number of ranks (a single-process one counts as 1).

        The data order, the global batch and the per-rank batch-norm statistics all depend on the world
        size, so continuing on another one would not continue the same run.

        Raises:
            ConfigError: ``the checkpoint was written by a run on 2 ranks, this run has 3``.
        """
        saved = int(state.get("world_size", 1))
        if saved != self.world.size:
            raise ConfigError(f"resume: the checkpoint was written by a run on {saved} rank"
                              f"{'s' if saved != 1 else ''}, this run has {self.world.size}; resume with "
                              f"mpiexec -n {saved}" + ("" if saved > 1 else " (or without --distributed)"))
