"""The two pretrained CIFAR-10 ResNets (torch.save files) loaded into glassnet's zoo, end to end, against torch."""

from pathlib import Path

import numpy as np
import pytest

from glassnet.data.datasets import load_cifar10
from glassnet.zoo import load_torch_state_dict, resnet20, resnet56, strip_prefix

torch = pytest.importorskip("torch")
SHARED = Path("/work/shared/data")
pytestmark = pytest.mark.skipif(not (SHARED / "pretrained").is_dir() or not (SHARED / "cifar10").is_dir(),
                                reason="needs /work/shared/data/pretrained and cifar10")
MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)  # akamaster's trainer.py normalisation
STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)


def images(n):
    x, y = load_cifar10(SHARED, batch="cifar10_8k_batch", download=False)
    return ((x[:n].astype(np.float32) / 255 - MEAN) / STD).astype(np.float32), y[:n]


@pytest.mark.parametrize("build, blocks, file, n, expected", [
    (resnet20, 3, "resnet20-12fca82f.th", 800, 0.81),
    (resnet56, 9, "resnet56-4bfd9763.th", 200, 0.83),
])
def test_pretrained_resnet_classifies_like_torch(build, blocks, file, n, expected):
    from tests.zoo.test_cnn_zoo import TorchCifarResNet

    state = strip_prefix(load_torch_state_dict(SHARED / "pretrained" / file))
    model = build()
    report = model.load_torchvision(state, strict=False)
    # the files predate num_batches_tracked; everything else loads by name and shape
    assert not report.unexpected and not report.mismatched
    assert report.missing and all(k.endswith("num_batches_tracked") for k in report.missing)
    model.eval()
    x, y = images(n)
    ours = np.concatenate([model(x[i:i + 100]).data for i in range(0, n, 100)])
    twin = TorchCifarResNet(blocks).eval()
    twin.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, strict=False)
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=1e-4)
    acc, torch_acc = float((ours.argmax(1) == y).mean()), float((theirs.argmax(1) == y).mean())
    assert acc == torch_acc
    assert abs(acc - expected) < 0.05, acc  # the README's 81.0% / 83.1% on all 8000 JPEG-decoded images
