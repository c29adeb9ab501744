"""Review of the label-smoothing / dropout / translate-enja levers: reproductions of what a review found wrong."""

from pathlib import Path

import pytest

from glassnet.errors import ConfigError
from glassnet.lab import get_experiment, run_experiment

SHARED = Path("/work/shared/data")
TINY = {"train_pairs": 200, "dev_pairs": 5, "checkpoint_every": 2, "dropout": 0.2, "eval_every": 2}
KW = dict(quick=True, data_dir=SHARED, verbose=False, printer=None)

needs_data = pytest.mark.skipif(not (SHARED / "small_parallel_enja").exists(), reason="needs small_parallel_enja")


@needs_data
def test_extended_run_has_the_dev_bleu_curve_of_an_uninterrupted_run(tmp_path):
    # a run of steps=4 extended to steps=6 must match one run of steps=6; the step-4 point of the curve is lost:
    # the first run skips it (step == steps) and the resumed run starts at step 5
    exp = get_experiment("translate-enja")
    run_experiment(exp, out_dir=tmp_path / "a", overrides={**TINY, "steps": 4}, **KW)
    extended = run_experiment(exp, out_dir=tmp_path / "a", overrides={**TINY, "steps": 6}, resume=True, **KW)
    whole = run_experiment(exp, out_dir=tmp_path / "b", overrides={**TINY, "steps": 6}, **KW)
    assert extended.metrics["resumed_from_step"] == 4
    assert extended.metrics["bleu"] == whole.metrics["bleu"]  # the weights do continue exactly
    assert extended.metrics["bleu_curve"] == whole.metrics["bleu_curve"]  # {'2','6'} vs {'2','4','6'}


@needs_data
def test_bad_length_penalty_is_refused_before_training(tmp_path):
    # length_penalty=nan with beam=2 is only refused by beam_search after every training step has run
    exp = get_experiment("translate-enja")
    with pytest.raises(ConfigError, match="length_penalty"):
        run_experiment(exp, out_dir=tmp_path, overrides={**TINY, "steps": 4, "beam": 2, "length_penalty": float("nan")},
                       **KW)
    assert not (tmp_path / "checkpoint.npz").exists(), "the whole run was trained before the bad value was refused"
