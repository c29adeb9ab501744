"""``glassnet predict``: pretrained and trained weights on image files; bad input is one line."""

from pathlib import Path

import numpy as np
import pytest

import glassnet.cli.predict  # noqa: F401  (registers the sub-command)
import glassnet.cli.train  # noqa: F401
from tests.cli_helpers import assert_one_line_error, invoke

SHARED = Path("/work/shared/data")


@pytest.mark.skipif(not (SHARED / "pretrained").is_dir(), reason="needs /work/shared/data/pretrained")
def test_pretrained_resnet20_names_the_classes_of_cifar_images(tmp_path, monkeypatch):
    from PIL import Image

    from glassnet.data.datasets import load_cifar10

    monkeypatch.setenv("GLASSNET_DATA", str(SHARED))
    x, y = load_cifar10(SHARED, batch="cifar10_8k_batch", download=False)
    names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    files = []
    for i in range(3):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(x[i].transpose(1, 2, 0)).save(files[-1])
    result = invoke(["predict", "resnet20", *map(str, files), "--top", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    for line, label in zip(lines, y[:3]):  # these three are classified right (truck, automobile, ship)
        assert line.split(": ")[1].startswith(names[label]) and line.count("%") == 2


def test_a_trained_checkpoint_predicts_and_bad_input_is_one_line(tmp_path):
    from PIL import Image

    run = tmp_path / "run"
    assert invoke(["train", "cnn", "--data", "digits", "--epochs", "1", "--quiet", "--out", str(run)]).exit_code == 0
    image = tmp_path / "seven.png"
    Image.fromarray(np.eye(8, dtype=np.uint8)[::-1] * 255).resize((32, 32)).save(image)
    result = invoke(["predict", str(run / "best.npz"), str(image)])
    assert result.exit_code == 0 and result.output.startswith(f"{image}: ") and result.output.count("%") == 3
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    assert_one_line_error(invoke(["predict", str(run / "best.npz"), str(junk)]), "cannot read image")
    iris = tmp_path / "iris"
    assert invoke(["train", "mlp", "--data", "iris", "--epochs", "1", "--quiet", "--out", str(iris)]).exit_code == 0
    assert_one_line_error(invoke(["predict", str(iris / "best.npz"), str(image)]), "not images")
    assert_one_line_error(invoke(["predict", str(tmp_path / "none.npz"), str(image)]), "no such file")
