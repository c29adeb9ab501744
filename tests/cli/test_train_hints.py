"""``glassnet train`` with missing data: one line naming the command's own flags, and no folder left behind."""

import numpy as np

import glassnet.cli.train  # noqa: F401  (registers the sub-command)
from tests.cli_helpers import assert_one_line_error, invoke


def test_missing_data_names_cli_flags_and_leaves_no_out_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(["train", "mlp", "--data", "mnist", "--data-dir", str(empty), "--quiet"])
    assert_one_line_error(result, "no such file")
    assert "glassnet data download" in result.stderr
    assert not (tmp_path / "runs").exists(), "a run that could not start must not create --out"


def test_the_catalog_lives_in_glassnet_data():
    from glassnet.cli.train import DATASETS
    from glassnet.data import CLASSIFICATION, load_classification
    from glassnet.data.classification import Scaling

    assert DATASETS is CLASSIFICATION and CLASSIFICATION["digits"].scaling == Scaling(16.0)
    splits = load_classification("digits")
    assert splits["x_train"].dtype == np.float32 and splits["x_train"].max() <= 1.0
    assert len(splits["y_train"]) + len(splits["y_val"]) + len(splits["y_test"]) == 1797
    iris = load_classification("iris")
    np.testing.assert_allclose(iris["x_train"].mean(axis=0), 0.0, atol=1e-5)  # standardised on train only
    np.testing.assert_allclose(iris["x_train"].std(axis=0), 1.0, atol=1e-5)
