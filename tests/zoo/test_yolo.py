import numpy as np
import pytest

from glassnet import no_grad
from glassnet.detection import decode_predictions, encode_targets, yolo_v1_loss
from glassnet.errors import ConfigError
from glassnet.zoo import YOLOv1


def expected_parameters(in_channels, widths, B, C, S, head, hidden):
    convs = sum(c_in * c_out * 9 for c_in, c_out in zip((in_channels, *widths[:-1]), widths))
    norms = 2 * sum(widths)
    out = B * 5 + C
    if head == "conv":
        return convs + norms + widths[-1] * out + out
    return convs + norms + widths[-1] * S * S * hidden + hidden + hidden * S * S * out + S * S * out


@pytest.mark.parametrize("head", ["conv", "fc"])
def test_shapes_and_parameter_count(head):
    model = YOLOv1(rng=0, head=head)
    assert (model.S, model.B, model.C) == (6, 2, 10)
    assert model.num_parameters() == expected_parameters(1, (8, 16, 32, 64, 128), 2, 10, 6, head, 256)
    assert model.num_parameters() == {"conv": 101_068, "fc": 1_463_432}[head]  # the docstring's numbers
    x = np.random.default_rng(0).random((2, 1, 96, 96)).astype(np.float32)
    y = model(x)
    assert y.shape == (2, 6, 6, 20) and y.data.dtype == np.float32


def test_other_sizes_rgb_and_config_round_trip():
    model = YOLOv1(in_channels=3, image_size=32, B=1, C=3, widths=(4, 8, 8), rng=1)
    assert model.S == 8
    assert model.num_parameters() == expected_parameters(3, (4, 8, 8), 1, 3, 8, "conv", 256)
    assert model(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 8, 8, 8)
    clone = YOLOv1(**model.config(), rng=2)
    clone.load_state_dict(model.state_dict())
    model.eval(), clone.eval()
    x = np.random.default_rng(0).random((2, 3, 32, 32)).astype(np.float32)
    with no_grad():
        np.testing.assert_array_equal(clone(x).data, model(x).data)
    assert "S=8, B=1, C=3, head='conv'" in repr(model)


def test_same_seed_same_weights_and_the_loss_trains_every_parameter():
    a, b = YOLOv1(widths=(4, 8, 8), image_size=32, C=3, rng=5), YOLOv1(widths=(4, 8, 8), image_size=32, C=3, rng=5)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    x = np.random.default_rng(0).random((2, 1, 32, 32)).astype(np.float32)
    t = encode_targets([np.array([[2.0, 3.0, 20.0, 25.0]]), np.zeros((0, 4))], [np.array([1]), np.zeros(0, int)],
                       a.S, a.C, 32)
    yolo_v1_loss(a(x), t, a.S, a.B, a.C).total.backward()
    for name, p in a.named_parameters():
        assert p.grad is not None and np.abs(p.grad).sum() > 0, name
    assert len(decode_predictions(a(x), a.S, a.B, a.C, 0.0, 0.5, 32)) == 2


def test_bad_configurations_raise():
    with pytest.raises(ConfigError, match=r"image_size must be a multiple of 2\^\(len\(widths\) - 1\) = 16, got 90"):
        YOLOv1(image_size=90)
    with pytest.raises(ConfigError, match="S must be image_size / 16 = 6"):
        YOLOv1(S=7)
    with pytest.raises(ConfigError, match="head"):
        YOLOv1(head="dense")
    with pytest.raises(ConfigError, match="widths"):
        YOLOv1(widths=())
