"""Each rank's own random streams: the model's Generators (Dropout masks) re-seeded from their seed and the rank.

Every rank builds its model the same way, with the same seed, so that the
initial weights agree (the broadcast then only confirms them). The Generators
the model keeps for training-time randomness would agree too, and then every
rank would draw the *same* dropout masks for its different samples: R ranks
would train with R copies of one mask pattern instead of independent ones.

So on rank r >= 1 every Generator the model holds (found by
:func:`~glassnet.train.model_generators`) is re-seeded from its own seed and
the rank::

    seed sequence of the Generator      S = SeedSequence(entropy, spawn_key)       # the same on every rank
    rank r's stream (r >= 1)            S_r = SeedSequence(entropy, spawn_key + (RANK_KEY, r))
    rank 0's stream                     S (untouched)

NumPy's SeedSequence hashes the spawn key into the state, so the R streams
are independent of each other and of anything else spawned from S, and the
same seed gives the same streams in every run (reproducible masks). Rank 0
keeps its stream, so a one-rank run draws exactly the masks of the
single-process run.

Deliberate consequence: with dropout, an R-rank run no longer equals the
single-process run with the global batch (that one draws one mask pattern for
all G samples from one stream); it differs *only* through the masks. Without
dropout (or any other model randomness) the two agree to the float
reassociation error, as the parity test checks.
"""

from __future__ import annotations

import numpy as np

from glassnet.checks import check_size
from glassnet.errors import ConfigError
from glassnet.nn import Module

__all__ = ["seed_rank_generators", "RANK_KEY"]

RANK_KEY = 0x6D7069  # "mpi": marks the spawn-key entries added per rank, apart from the user's own spawns


def seed_rank_generators(model: Module, rank: int) -> dict[str, np.random.Generator]:
    """Re-seed every Generator ``model`` holds for rank ``rank`` (in place; rank 0: left as it is).

    The Generator objects stay the same (the modules keep their references); only their states change,
    to the start of the stream ``SeedSequence(entropy, spawn_key + (RANK_KEY, rank))`` of the same
    bit-generator type.

    Args:
        model: the rank's replica (its Generators built from a seed, the same on every rank).
        rank: r >= 0.

    Returns:
        the model's Generators by dotted name (``"layers.2.rng"``), as :func:`~glassnet.train.model_generators`.

    Raises:
        ConfigError: a model that is not a Module, or a rank that is not an int >= 0.
    """
    from glassnet.train import model_generators

    if not isinstance(model, Module):
        raise ConfigError(f"seed_rank_generators: model must be a glassnet.nn.Module, got {type(model).__name__}")
    rank = check_size(rank, "rank", "seed_rank_generators", min=0)
    generators = model_generators(model)
    if rank == 0:
        return generators
    for g in generators.values():
        seq = g.bit_generator.seed_seq  # every bit generator keeps the SeedSequence it was seeded from
        child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, RANK_KEY, rank),
                                       pool_size=seq.pool_size)
        g.bit_generator.state = type(g.bit_generator)(child).state
    return generators
