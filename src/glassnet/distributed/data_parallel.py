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

Batch norm: the batch statistics of a training step are those of the rank's
local batch of B (per rank, as in PyTorch's ``DistributedDataParallel``
without ``SyncBatchNorm``: no exchange inside the forward or backward pass).
The running statistics (float buffers) are averaged over the ranks at the end
of every epoch's training pass, before validation, in the same ``Allreduce``
as the epoch's loss totals (:meth:`DistributedDataParallel.reduce_epoch`), so
every rank validates, checkpoints and resumes with the same buffers. The
running mean's update is linear, so the average of the ranks' running means
*is* the running mean of the global batches' means (equal B on every rank);
the averaged running variance is the mean of the local batches' variances,
which leaves out the spread of the R local means (a deliberate deviation,
small when the shares are random). So a model with batch norm trained on R
ranks matches the one-process run with the global batch only approximately
(its normalisation uses B samples, not G); a model without batch norm matches
it exactly.

Dropout: every rank draws its own masks (:mod:`glassnet.distributed.generators`:
on rank r >= 1 the model's Generators are re-seeded from their seed and r),
reproducibly; their states on every rank are in each checkpoint, so a resumed
run continues every rank's stream.

Logging: :meth:`DistributedDataParallel.reduce_epoch` (the trainer's
``epoch_hook``) sums the epoch's training totals (Σ loss·n, Σ n, each
metric's total and count) over the ranks, so the epoch's record is the mean
over the global batches, weighted by sample counts, on every rank.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from glassnet.backend import get_array_module, to_numpy
from glassnet.distributed.generators import seed_rank_generators
from glassnet.distributed.world import DistributedError, World, import_mpi, init
from glassnet.errors import ConfigError, DTypeError
from glassnet.nn import Module
from glassnet.train.callbacks import Callback

__all__ = ["DistributedDataParallel"]

_POLL_SECONDS = 1e-4  # the watchdog's sleep between two MPI_Test calls


class DistributedDataParallel(Callback):
    """Keep ``model``'s replicas equal across ranks: broadcast its parameters, average its gradients.

    Pass it to the :class:`~glassnet.train.Trainer` three times: as ``grad_hook`` (the step calls it after
    ``backward``), its :meth:`reduce_epoch` as ``epoch_hook`` (global training loss and metrics, averaged
    running statistics) and among the ``callbacks`` (its checkpoint state is the world size, so a run resumed
    on another number of ranks is refused, and every rank's dropout Generators)::

        with distributed.init() as world:
            ddp = DistributedDataParallel(model, world)
            trainer = Trainer(model, optimizer, callbacks=[ddp], grad_hook=ddp, epoch_hook=ddp.reduce_epoch)

    On construction, rank 0's parameters and float buffers are broadcast to every rank, and on rank r >= 1
    the Generators the model holds are re-seeded from their own seed and r
    (:func:`~glassnet.distributed.seed_rank_generators`), so the ranks draw different dropout masks.

    Args:
        model: the :class:`~glassnet.nn.Module` replica of this rank (built the same way on every rank).
        world: the :class:`~glassnet.distributed.World` (default: :func:`~glassnet.distributed.init`).

    Attributes:
        flat: the (P,) gradient buffer, P = the model's number of parameters, one dtype.
        exchanges: gradient exchanges (Allreduce calls) so far.
        generators: the model's Generators by name (this rank's streams).

    Raises:
        ConfigError: a model that is not a Module or has no parameter, or ranks whose models differ in their
            parameters' or buffers' names, shapes or dtypes (checked once, with one ``allgather``).
        DTypeError: parameters of more than one dtype (one flat buffer holds one dtype).
    """

    order = -100  # runs before the checkpoint writer (order 100): it gathers the ranks' Generator states

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
        named_buffers = self._float_buffers()
        layout = ([(name, tuple(p.shape)) for name, p in named],
                  [(name, tuple(b.shape), str(b.dtype)) for name, b in named_buffers])
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
                                  f"(parameter or buffer names, shapes or dtypes); build it the same way on "
                                  f"every rank")
        self.broadcast_parameters()
        self.generators = seed_rank_generators(model, self.world.rank)
        self._rank_generator_states: list[dict[str, Any]] | None = None

    def _float_buffers(self) -> list[tuple[str, Any]]:
        """The model's float buffer arrays (running statistics), looked up anew: a module may replace them.

        Integer buffers (``num_batches_tracked``) count the same steps on every rank and are left alone.
        """
        return [(n, b) for n, b in self.model.named_buffers()
                if not isinstance(b, np.generic) and getattr(b, "dtype", None) is not None and b.dtype.kind == "f"]

    def broadcast_parameters(self) -> None:
        """Copy rank 0's parameters (one ``Bcast`` of the flat buffer) and float buffers to every rank."""
        for view, p in zip(self._views, self.params):
            view[...] = p.data
        self.world.comm.Bcast(self.flat, root=0)
        for view, p in zip(self._views, self.params):
            p.data[...] = view
        buffers = [b for _, b in self._float_buffers()]
        if buffers:
            packed = self._pack(buffers)
            self.world.comm.Bcast(packed, root=0)
            self._unpack(packed, buffers)

    @staticmethod
    def _pack(buffers: list[Any], head: Any = None) -> Any:
        """``[head, every buffer raveled]`` as one float64 vector (the one message of an exchange)."""
        xp = get_array_module(buffers[0]) if buffers else np
        parts = ([] if head is None else [xp.asarray(head)]) + [b.ravel().astype(xp.float64) for b in buffers]
        return xp.concatenate(parts) if parts else xp.zeros(0)

    @staticmethod
    def _unpack(packed: Any, buffers: list[Any]) -> None:
        offset = 0
        for b in buffers:
            b[...] = packed[offset:offset + b.size].reshape(b.shape)  # in place: the modules hold these arrays
            offset += b.size

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
        self._allreduce_sum(self.flat, f"gradient exchange {self.exchanges + 1}")
        self.flat /= self.world.size  # g = (1/R) Σ_r g_r
        for view, p in zip(self._views, self.params):
            p.grad = view
        self.exchanges += 1

    __call__ = sync_gradients

    def reduce_epoch(self, totals: Any) -> Any:
        """The trainer's ``epoch_hook``: sum the epoch's training totals over the ranks, average the running stats.

        ``totals`` is this rank's float64 vector ``[Σ loss·n, Σ n, (total, count) of each metric]``; the result
        is the same vector summed over the ranks, so the trainer's record is the global mean weighted by the
        sample counts. The model's float buffers (batch-norm running statistics) are packed behind the totals
        and replaced, in place, by their mean over the ranks: one ``Allreduce`` of one float64 buffer per epoch.

        Raises:
            DistributedError: with a world timeout, the other ranks did not answer within it.
        """
        totals = np.asarray(totals, dtype=np.float64)
        buffers = [b for _, b in self._float_buffers()]
        packed = self._pack(buffers, head=totals)  # (n_totals + Σ buffer sizes,) float64
        self._allreduce_sum(packed, "the end-of-epoch exchange (loss totals, running statistics)")
        self._unpack(packed[totals.size:] / self.world.size, buffers)  # running stats <- (1/R) Σ_r stats_r
        return to_numpy(packed[:totals.size])

    def _allreduce_sum(self, buffer: Any, what: str) -> None:
        """``buffer <- Σ_r buffer_r`` in place; with a world timeout, polled against its deadline."""
        MPI, comm = self._MPI, self.world.comm
        if self.world.timeout is None:
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            return
        request = comm.Iallreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        deadline = time.monotonic() + self.world.timeout
        while not request.Test():
            if time.monotonic() > deadline:
                raise DistributedError(f"rank {self.world.rank}/{self.world.size}: {what} got no answer from "
                                       f"the other ranks within {self.world.timeout:g} s; a rank has stopped")
            time.sleep(_POLL_SECONDS)

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        """Gather every rank's Generator states on rank 0, for the checkpoint the writer takes next."""
        if self.generators:
            mine = {name: g.bit_generator.state for name, g in self.generators.items()}
            self._rank_generator_states = self.world.comm.gather(mine, root=0)

    # ------------------------------------------------------------ checkpoint state
    def state_dict(self) -> dict[str, Any]:
        """``{"world_size": R, "rank_generators": [states of rank 0, ..., rank R-1]}``, in every checkpoint.

        ``rank_generators`` (on rank 0, once an epoch has ended or a checkpoint was loaded) holds each rank's
        ``bit_generator.state`` of every model Generator, by name, so a resumed run continues every rank's
        dropout stream (the trainer's own ``rngs`` hold rank 0's only).
        """
        state: dict[str, Any] = {"world_size": self.world.size}
        if self._rank_generator_states is not None:
            state["rank_generators"] = self._rank_generator_states
        return state

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
        ranks = state.get("rank_generators")
        if ranks is not None:  # after the trainer restored rank 0's states into every rank: this rank's own
            for name, g in self.generators.items():
                g.bit_generator.state = ranks[self.world.rank][name]
            self._rank_generator_states = ranks
