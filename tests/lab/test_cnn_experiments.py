"""The CNN experiments' quick configurations on seed 0 with the shared MNIST/CIFAR-10 subsets."""

import json
from pathlib import Path

import pytest

from glassnet.lab import experiments, get_experiment, run_experiment

SHARED = Path("/work/shared/data")
pytestmark = pytest.mark.skipif(not (SHARED / "cifar10").is_dir() or not (SHARED / "mnist").is_dir(),
                                reason="needs /work/shared/data (MNIST and CIFAR-10 subsets)")


def run_quick(name, tmp_path):
    r = run_experiment(get_experiment(name), quick=True, out_dir=tmp_path, seed=0, data_dir=SHARED, verbose=False,
                       printer=None)
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["verdict"] == r.verdict and data["topic"] == "Convolutional networks"
    assert r.plots and all((tmp_path / p).stat().st_size > 3000 for p in r.plots)
    assert r.quick_criterion and r.quick_criterion != get_experiment(name).criterion
    return r


def test_every_cnn_experiment_is_registered_with_data_tags():
    names = {n for n, e in experiments().items() if e.topic == "Convolutional networks"}
    assert names == {"cnn-vs-mlp", "depth-plain", "dropout-fc", "inception", "pretrained-resnet",
                     "resnet-degradation", "small-filters"}
    for n in names:
        assert set(get_experiment(n).data) <= {"mnist", "cifar10", "pretrained"} and get_experiment(n).data


def test_cnn_vs_mlp(tmp_path):
    r = run_quick("cnn-vs-mlp", tmp_path)
    m = r.metrics
    assert m["mnist_mlp_params"] >= m["mnist_lenet_params"] == 431_080
    assert r.verdict == ("supported" if m["mnist_lenet_test_accuracy"] > m["mnist_mlp_test_accuracy"]
                         else "not supported")
    assert m["mnist_lenet_test_accuracy"] > 0.85


def test_small_filters_counts_parameters_exactly(tmp_path):
    r = run_quick("small-filters", tmp_path)
    c = 16
    assert r.metrics["params_5x5_block"] == 25 * c * c + c and r.metrics["params_3x3_blocks"] == 2 * (9 * c * c + c)
    assert r.verdict == "supported"


def test_inception_counts_the_saving_of_its_1x1_reductions(tmp_path):
    r = run_quick("inception", tmp_path)
    # 192·64+64 + 192·96+96 + 9·96·128+128 + 192·16+16 + 25·16·32+32 + 192·32+32
    assert r.metrics["params_3a_reduced"] == 163_696
    assert r.metrics["params_3a_naive"] == 192 * 64 + 64 + 9 * 192 * 128 + 128 + 25 * 192 * 32 + 32 + 192 * 32 + 32
    assert r.verdict == "supported"


def test_dropout_fc_narrows_the_gap(tmp_path):
    r = run_quick("dropout-fc", tmp_path)
    assert r.verdict == ("supported" if r.metrics["gap_with"] < r.metrics["gap_without"] else "not supported")
    assert r.metrics["gap_without"] > 0.05  # the plain network does overfit 400 images


def test_depth_plain(tmp_path):
    r = run_quick("depth-plain", tmp_path)
    assert r.verdict == "supported" and r.metrics["best_depth"] < 12


def test_resnet_degradation_runs_four_twins(tmp_path):
    r = run_quick("resnet-degradation", tmp_path)
    assert {row["network"] for row in r.table} == {"plain-8", "resnet-8", "plain-14", "resnet-14"}
    params = {row["network"]: row["parameters"] for row in r.table}
    assert params["plain-14"] == params["resnet-14"] and params["plain-8"] == params["resnet-8"]


def test_pretrained_resnet(tmp_path):
    r = run_quick("pretrained-resnet", tmp_path)
    assert r.verdict == "supported" and abs(r.metrics["resnet20_accuracy"] - 0.81) < 0.05
    assert {"confusion_matrix.png", "misclassified.png"} <= set(r.plots)
