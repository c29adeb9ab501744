"""When every mirror fails (no network), the one-line error ends by saying which folder to pass instead.

No test touches the network: the mirrors are file:// URLs to an empty folder.
"""

import pytest

from glassnet.data import download
from glassnet.data.datasets import cifar10, mnist
from glassnet.errors import DataError


@pytest.fixture
def offline(tmp_path, monkeypatch):
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    monkeypatch.setattr(mnist, "_MIRRORS", (nowhere.as_uri() + "/", (nowhere / "b").as_uri() + "/"))
    monkeypatch.setattr(cifar10, "CIFAR10_URL", (nowhere / "cifar-10-python.tar.gz").as_uri())
    return tmp_path / "home"


def one_line_error(load, **kwargs):
    with pytest.raises(DataError) as info:
        load(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_mnist_offline_error_is_one_line_ending_with_the_data_dir_hint(offline):
    message = one_line_error(mnist.load_mnist, root=offline, prefix="t10k")
    assert message.startswith("fetch: every mirror failed: fetch: could not download file://")
    assert message.count("could not download") == 2
    assert message.endswith("; point --data-dir (in Python: root=) at a folder holding "
                            "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, "
                            "or fetch it on a machine with network with `glassnet data download`")


def test_cifar10_offline_error_is_one_line_ending_with_the_data_dir_hint(offline):
    message = one_line_error(cifar10.load_cifar10, root=offline, batch=["data_batch_2", "test_batch"])
    assert message.startswith("load_cifar10: fetch: could not download file://")
    assert "; point --data-dir (in Python: root=) at a folder holding data_batch_2, test_batch, or" in message


def test_fetch_first_without_hint_is_one_line(tmp_path):
    urls = [(tmp_path / name).as_uri() for name in ("a.bin", "b.bin")]
    with pytest.raises(DataError) as info:
        download.fetch_first(urls, None, tmp_path / "cache", progress=False)
    message = str(info.value)
    assert "\n" not in message and message.startswith("fetch: every mirror failed: ")
    assert message.count("could not download") == 2 and "pass --data-dir" not in message


def test_offline_hint_names_the_files():
    assert download.offline_hint(["x", "y"]) == (
        "point --data-dir (in Python: root=) at a folder holding x, y, or fetch "
        "it on a machine with network with `glassnet data download`")
