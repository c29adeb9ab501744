"""Data-parallel training over MPI (mpi4py with the ``mpich`` wheel: ``pip install 'glassnet[mpi]'``).

Run the same script on R ranks (``mpiexec -n 2 python train.py`` or
``mpiexec -n 2 glassnet train mlp --data mnist --distributed``)::

    from glassnet import distributed
    with distributed.init() as world:                      # rank, size; a rank's exception aborts them all
        model = MLP(sizes, rng=seed)                       # the same seed on every rank
        ddp = distributed.DistributedDataParallel(model, world)    # Bcast of rank 0's parameters
        loader = distributed.DistributedLoader(data, batch_size=64, shuffle=True, rng=seed, world=world)
        trainer = Trainer(model, optimizer, callbacks=[ddp, *([ModelCheckpoint(out)] if world.is_main else [])],
                          grad_hook=ddp,                   # one Allreduce of every gradient per step
                          epoch_hook=ddp.reduce_epoch)     # one Allreduce per epoch: global loss and metrics
        trainer.fit(loader, epochs, progress=world.is_main)

* :func:`init` / :class:`World` — rank and world size from the MPI environment, abort on failure.
* :class:`DistributedDataParallel` — parameter broadcast, one flat-buffer gradient ``Allreduce`` per step,
  one end-of-epoch ``Allreduce`` (training totals summed, batch-norm running statistics averaged), every
  rank's dropout Generator states and the world size in checkpoints (resume on another number of ranks is
  refused).
* :class:`DistributedLoader` — each rank's strided share of the same seeded global batches.
* :func:`seed_rank_generators` — rank r >= 1 re-seeds the model's Generators from their seed and r, so the
  ranks draw different (and reproducible) dropout masks.

Only rank 0 prints and writes files (the caller's choice, as above; ``glassnet train --distributed`` does it).
The epoch's training loss and metrics are the means over every rank's samples (weighted by the sample
counts), the same on every rank; validation runs on the whole validation set on every rank (identical
weights and buffers give identical numbers). The progress bar's per-batch numbers are rank 0's.

What differs from one process with the global batch: the dropout masks (each rank draws its own) and
batch norm (batch statistics of the local batch; running statistics averaged at the end of each epoch).
Without either, R ranks end with the parameters of one process (float64: 1e-10; a test checks it).

Nothing in glassnet imports this package; importing it does not import mpi4py (the first :func:`init` does).
"""

from glassnet.distributed.data_parallel import DistributedDataParallel
from glassnet.distributed.generators import seed_rank_generators
from glassnet.distributed.loader import DistributedLoader
from glassnet.distributed.world import DistributedError, World, init

__all__ = ["init", "World", "DistributedError", "DistributedDataParallel", "DistributedLoader",
           "seed_rank_generators"]
