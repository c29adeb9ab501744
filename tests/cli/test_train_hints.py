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


def test_train_cnn_on_digits_and_the_convolutional_models_by_name(tmp_path):
    import json

    from glassnet.cli.train import build_model

    result = invoke(["train", "cnn", "--data", "digits", "--epochs", "2", "--quiet", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["model"] == "cnn" and metrics["test_accuracy"] > 0.5
    config = {"activation": "relu", "dropout": 0.0}
    rng = np.random.default_rng(0)
    net = build_model("resnet20", "cifar10", [3072, 10], config, rng)
    assert net.num_parameters() == 269_722
    assert build_model("plain20", "cifar10", [3072, 10], config, rng).num_parameters() == 269_722
    assert build_model("cnn", "mnist", [784, 10], config, rng)(np.zeros((2, 784), np.float32)).shape == (2, 10)
    vgg = build_model("vgg", "cifar10", [3072, 10], config, rng)
    assert vgg.num_parameters() == build_model("vgg11", "cifar10", [3072, 10], config, rng).num_parameters()
    assert vgg(np.zeros((2, 3072), np.float32)).shape == (2, 10)
    assert build_model("vgg16", "cifar10", [3072, 10], config, rng)[1].config == "D"
    assert_one_line_error(invoke(["train", "vgg16", "--data", "digits", "--out", str(tmp_path / "z")]),
                          "CIFAR-10 network")
    assert_one_line_error(invoke(["train", "resnet20", "--data", "mnist", "--out", str(tmp_path / "x")]),
                          "CIFAR-10 network")
    assert_one_line_error(invoke(["train", "cnn", "--data", "iris", "--out", str(tmp_path / "y")]), "needs images")


def test_review_findings_are_one_line_errors(tmp_path):
    """A new user's review: each of these was a traceback or a silent surprise."""
    out = tmp_path / "keep"
    assert invoke(["train", "mlp", "--data", "digits", "--epochs", "1", "--quiet", "--out", str(out)]).exit_code == 0
    assert_one_line_error(invoke(["train", "cnn", "--data", "digits", "--epochs", "2", "--out", str(out),
                                  "--resume"]), "MODEL 'cnn' differs from the checkpoint's 'mlp'")
    assert_one_line_error(invoke(["train", "mlp", "--data", "digits", "--val-fraction", "0.999", "--out",
                                  str(tmp_path / "v")]), "too small for its 10 classes")
    assert_one_line_error(invoke(["train", "mlp", "--data", "digits", "--hidden", "64,,32", "--out",
                                  str(tmp_path / "h")]), "--hidden must be comma-separated")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    import glassnet.cli.lab  # noqa: F401

    assert_one_line_error(invoke(["lab", "binary-addition", "--quick", "--out", str(blocker / "sub")]),
                          "--out: cannot create folder")


def test_predict_reads_16_bit_images_by_their_range(tmp_path):
    from PIL import Image

    from glassnet.cli.predict import read_image

    grey = (np.linspace(0, 65535, 28 * 28).reshape(28, 28)).astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(grey).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    row = read_image(path, "mnist")
    assert row.shape == (784,) and 0.3 < row.mean() < 0.7  # a ramp, not a white (clipped) image


def test_the_shared_subsets_are_found_in_the_data_home_without_data_dir(monkeypatch):
    """GLASSNET_DATA pointing at the shared folder is enough: the mnist8k/cifar10_8k files are used, offline."""
    import urllib.request
    from pathlib import Path

    import pytest

    from glassnet.data import load_classification

    shared = Path("/work/shared/data")
    if not (shared / "mnist").is_dir():
        pytest.skip("needs /work/shared/data")

    def no_network(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("GLASSNET_DATA", str(shared))
    splits = load_classification("mnist")
    assert len(splits["y_train"]) + len(splits["y_val"]) + len(splits["y_test"]) == 8000
