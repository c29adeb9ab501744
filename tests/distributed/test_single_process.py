"""The pieces of data-parallel training that run without MPI: per-rank dropout streams, the trainer's epoch hook."""

import numpy as np
import pytest

from glassnet import Tensor, nn, optim
from glassnet.data import ArrayDataset, DataLoader
from glassnet.distributed import seed_rank_generators
from glassnet.errors import ConfigError
from glassnet.train import Trainer


def model_with_dropout(seed=3):
    rng = np.random.default_rng(seed)  # one stream for init and both dropouts, as glassnet train builds it
    return nn.Sequential(nn.Linear(4, 8, rng=rng), nn.Dropout(0.5, rng=rng), nn.Linear(8, 8, rng=rng),
                         nn.Dropout(0.5, rng=np.random.default_rng(seed + 1)))


def masks(model, n=5):
    model.train()
    x = Tensor(np.ones((16, 8), dtype=np.float32))
    return np.stack([np.stack([model[1](x).data != 0, model[3](x).data != 0]) for _ in range(n)])


def test_rank_0_keeps_its_streams_and_other_ranks_get_their_own_reproducible_ones():
    reference = masks(model_with_dropout())
    by_rank = {}
    for rank in (0, 1, 2):
        model = model_with_dropout()
        held = model[1].rng
        generators = seed_rank_generators(model, rank)
        assert sorted(generators) == ["1.rng", "3.rng"] and model[1].rng is held  # states change, not objects
        by_rank[rank] = masks(model)
        model = model_with_dropout()
        seed_rank_generators(model, rank)
        np.testing.assert_array_equal(masks(model), by_rank[rank])  # the same seed and rank: the same masks
    np.testing.assert_array_equal(by_rank[0], reference)  # rank 0 draws what one process draws
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert (by_rank[a] != by_rank[b]).mean() > 0.3, (a, b)  # independent masks differ in about half
    # a different seed gives rank 1 other masks
    other = model_with_dropout(seed=4)
    seed_rank_generators(other, 1)
    assert not np.array_equal(masks(other), by_rank[1])


def test_seed_rank_generators_refuses_bad_arguments():
    with pytest.raises(ConfigError, match="model must be a glassnet.nn.Module"):
        seed_rank_generators(object(), 1)
    with pytest.raises(ConfigError, match="rank"):
        seed_rank_generators(model_with_dropout(), -1)


def _trainer(epoch_hook=None):
    rng = np.random.default_rng(0)
    data = ArrayDataset(rng.standard_normal((24, 4)), rng.integers(0, 3, size=24))
    model = nn.Sequential(nn.Linear(4, 3, rng=1)).to("float64")
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"], epoch_hook=epoch_hook)
    return trainer, DataLoader(data, batch_size=8)


def test_the_epoch_record_is_computed_from_the_totals_the_epoch_hook_returns():
    seen = []

    def hook(totals):  # as if a second rank had the same totals, but saw every sample right
        seen.append(totals.copy())
        return totals + np.array([0.0, totals[1], totals[3], totals[3]])

    plain, loader = _trainer()
    plain.fit(loader, epochs=1)
    hooked, loader = _trainer(hook)
    hooked.fit(loader, epochs=1)
    (totals,) = seen
    assert totals.dtype == np.float64 and totals.shape == (4,) and totals[1] == totals[3] == 24
    p, h = plain.history.epochs[0], hooked.history.epochs[0]
    assert totals[0] / 24 == pytest.approx(p["loss"], rel=1e-12)
    assert h["loss"] == pytest.approx(p["loss"] / 2, rel=1e-12)  # Σ loss·n over 48 samples
    assert h["accuracy"] == pytest.approx((p["accuracy"] + 1) / 2, rel=1e-12)


def test_trainer_refuses_an_epoch_hook_that_is_not_callable():
    with pytest.raises(ConfigError, match="epoch_hook must be callable"):
        _trainer(epoch_hook=3)
