"""One training step (forward, backward, clipping, Adam step) of every zoo model on the fake device.

Each model is built on the host, moved with ``Module.to(fake_device)``, fed device inputs and
stepped through :func:`glassnet.train.train_step` inside ``fake_device.guard()``: any NumPy call
on device data, any host array mixed in, raises. The step must then equal the same step on the
host (the fake device computes with NumPy, so to rounding of the same operations), and every
parameter, gradient, buffer and optimizer slot must still live on the device.
"""

import numpy as np
import pytest

from glassnet import functional as F
from glassnet import nn
from glassnet.backend import get_array_module, to_device, to_numpy
from glassnet.detection import encode_targets, yolo_v1_loss
from glassnet.optim import Adam
from glassnet.testing.fake_device import fake_device, guard
from glassnet.train import train_step
from glassnet.zoo import (
    HRED,
    MLP,
    RNNLM,
    VAE,
    VHRED,
    Autoencoder,
    CifarResNet,
    ConvAutoencoder,
    DCGANDiscriminator,
    DCGANGenerator,
    DenoisingAutoencoder,
    MLPDiscriminator,
    MLPGenerator,
    Seq2Seq,
    Word2Vec,
    YOLOv1,
    discriminator_loss,
    generator_loss,
)
from glassnet.zoo.googlenet import BasicConv2d, Inception
from glassnet.zoo.resnet import BasicBlock, Bottleneck
from tests.helpers import cupy_or_skip

R = np.random.default_rng(0)
IMAGES = R.random((2, 1, 28, 28)).astype(np.float32)
Z = R.standard_normal((2, 6)).astype(np.float32)
TOKENS = R.integers(0, 11, (2, 5))
SRC, TGT = R.integers(4, 11, (2, 4)), np.array([[2, 5, 6, 3, 0], [2, 7, 3, 0, 0]])
CONTEXT = np.array([[[0, 0, 0], [5, 6, 3]], [[4, 3, 0], [7, 8, 3]]])
N_TURNS, RESPONSE = np.array([1, 2]), np.array([[2, 5, 3, 0], [2, 6, 7, 3]])
W2V = (R.integers(0, 9, 3), R.integers(0, 9, 3), R.integers(0, 9, (3, 2)))
CBOW = (R.integers(0, 9, (3, 4)), R.integers(0, 9, 3), R.integers(0, 9, (3, 2)), R.random((3, 4)) < 0.7)


def _lm_loss(model, tokens):
    logits, _ = model(tokens[:, :-1])
    return F.softmax_cross_entropy(logits, tokens[:, 1:])


class _TinyCNN(nn.Module):  # the CNN layers the zoo's big nets are made of, at a size that runs in ms
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, rng=0)
        self.bn = nn.BatchNorm2d(4)
        self.lrn = nn.LocalResponseNorm(3)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3, rng=1)

    def forward(self, x):
        h = self.pool(self.lrn(F.relu(self.bn(self.conv(x)))))  # (N, 4, 14, 14)
        return self.fc(F.flatten(self.avg(h)))  # (N, 3)


class _TinyImageNetBlocks(nn.Module):  # the blocks of GoogLeNet and the torchvision ResNets, a few channels wide
    def __init__(self):
        super().__init__()
        self.stem = BasicConv2d(3, 4, kernel_size=3, padding=1, rng=0)
        self.inception = Inception(4, 2, 2, 3, 2, 3, 2, rng=1)  # (N, 10, H, W)
        self.bottleneck = Bottleneck(10, 2, stride=2, rng=2)  # (N, 8, H/2, W/2)
        self.basic = BasicBlock(8, 4, stride=2, rng=3)  # (N, 4, H/4, W/4)
        self.fc = nn.Linear(4, 3, rng=4)

    def forward(self, x):
        h = self.basic(self.bottleneck(self.inception(self.stem(x))))
        return self.fc(F.mean(h, axis=(2, 3)))  # (N, 3)


YOLO_TARGETS = encode_targets([np.array([[1.0, 2.0, 9.0, 12.0], [10.0, 10.0, 15.0, 14.0]]), np.zeros((0, 4))],
                              [np.array([2, 0]), np.zeros(0, np.int64)], 4, 3, 16)

# name -> (model, host inputs, loss(model, *inputs))
MODELS = {
    "mlp": (lambda: MLP([784, 8, 3], dropout=0.5, rng=0), (IMAGES, np.array([0, 2])),
            lambda m, x, y: F.softmax_cross_entropy(m(F.flatten(x)), y)),
    "cnn_layers": (_TinyCNN, (IMAGES, np.array([1, 2])), lambda m, x, y: F.softmax_cross_entropy(m(x), y)),
    "cifar_resnet": (lambda: CifarResNet(1, num_classes=3, rng=0), (R.random((2, 3, 8, 8)).astype(np.float32),
                                                                   np.array([0, 1])),
                     lambda m, x, y: F.softmax_cross_entropy(m(x), y)),
    "googlenet_resnet_blocks": (_TinyImageNetBlocks, (R.random((2, 3, 8, 8)).astype(np.float32), np.array([2, 0])),
                                lambda m, x, y: F.softmax_cross_entropy(m(x), y)),
    **{f"rnnlm_{cell}": (lambda cell=cell: RNNLM(11, 4, 5, cell=cell, num_layers=2, dropout=0.2, rng=0), (TOKENS,),
                         _lm_loss) for cell in ("rnn", "lstm", "gru")},
    **{f"seq2seq_{a}": (lambda a=a: Seq2Seq(11, 11, 4, 5, attention=a, rng=0), (SRC, TGT, np.array([4, 2])),
                        lambda m, s, t, n: m.loss(s, t, n)) for a in (None, "dot", "general", "additive")},
    "hred": (lambda: HRED(11, 4, 5, 6, 7, rng=0), (CONTEXT, N_TURNS, RESPONSE),
             lambda m, c, n, r: m.loss(c, n, r, rng=1)),
    "vhred": (lambda: VHRED(11, 4, 5, 6, 7, latent=3, latent_hidden=4, rng=0), (CONTEXT, N_TURNS, RESPONSE),
              lambda m, c, n, r: m.loss(c, n, r, kl_weight=0.5, rng=1)),
    "word2vec_skipgram": (lambda: Word2Vec(9, 4, "skipgram", rng=0), W2V, lambda m, *b: m(*b)),
    "word2vec_cbow": (lambda: Word2Vec(9, 4, "cbow", rng=0), CBOW, lambda m, *b: m(*b)),
    "autoencoder": (lambda: Autoencoder([784, 6, 2], rng=0), (IMAGES,), lambda m, x: m.loss(x)),
    "denoising_autoencoder": (lambda: DenoisingAutoencoder([784, 6, 2], rng=0), (IMAGES,),
                              lambda m, x: m.loss(x, rng=1)),
    "vae": (lambda: VAE(784, 6, 2, rng=0), (IMAGES,), lambda m, x: m.loss(x, rng=1)),
    "conv_denoising_autoencoder": (lambda: ConvAutoencoder(1, 28, widths=(4,), code=3, noise_std=0.2, rng=0),
                                   (IMAGES,), lambda m, x: m.loss(x, rng=1)),
    "dcgan_d": (lambda: (DCGANGenerator(6, width=4, rng=0), DCGANDiscriminator(width=4, rng=1)), (IMAGES, Z),
                lambda m, x, z: discriminator_loss(m[1], m[0], x, z)),
    "dcgan_g": (lambda: (DCGANGenerator(6, width=4, rng=0), DCGANDiscriminator(width=4, rng=1)), (Z,),
                lambda m, z: generator_loss(m[1], m[0], z)),
    "mlp_gan_d": (lambda: (MLPGenerator(6, (8,), rng=0), MLPDiscriminator((8,), rng=1)), (IMAGES, Z),
                  lambda m, x, z: discriminator_loss(m[1], m[0], x, z)),
    "mlp_gan_g": (lambda: (MLPGenerator(6, (8,), rng=0), MLPDiscriminator((8,), rng=1)), (Z,),
                  lambda m, z: generator_loss(m[1], m[0], z)),
    # YOLO v1: host targets (encode_targets) go to the device inside the loss; the responsible-box choice too
    "yolo_v1": (lambda: YOLOv1(1, 16, B=2, C=3, widths=(4, 8, 8), rng=0),
                (R.random((2, 1, 16, 16)).astype(np.float32),),
                lambda m, x: yolo_v1_loss(m(x), YOLO_TARGETS, 4, 2, 3).total),
}


def _step(name, device):
    make, inputs, loss = MODELS[name]
    built = make()
    model = nn.ModuleList(list(built)) if isinstance(built, tuple) else built
    model.to(device)
    inputs = [to_device(x, device) for x in inputs]
    opt = Adam(list(model.parameters()), lr=1e-2)
    result = train_step(opt, lambda: loss(built, *inputs), model=model, max_norm=1.0)
    return model, opt, result


def _check_step(name, device, tol):
    host_model, _, host = _step(name, "cpu")
    with guard():
        model, opt, result = _step(name, device)
    assert result.loss == pytest.approx(host.loss, rel=tol)
    assert result.grad_norm == pytest.approx(host.grad_norm, rel=10 * tol)
    arrays = [("param " + k, p.data) for k, p in model.named_parameters()]
    arrays += [("grad " + k, p.grad) for k, p in model.named_parameters() if p.grad is not None]
    arrays += [("buffer " + k, b) for k, b in model.named_buffers()]
    arrays += [(f"optimizer state {i}.{k}", v) for i, s in enumerate(opt.state) for k, v in s.items() if k != "step"]
    for what, a in arrays:
        assert get_array_module(a) is device, f"{name}: {what} is a {type(a).__name__}"
    for (k, p), (_, q) in zip(model.named_parameters(), host_model.named_parameters()):
        np.testing.assert_allclose(to_numpy(p.data), q.data, rtol=10 * tol, atol=tol, err_msg=f"{name}: {k}")
    for (k, b), (_, c) in zip(model.named_buffers(), host_model.named_buffers()):
        np.testing.assert_allclose(to_numpy(b), c, rtol=10 * tol, atol=tol, err_msg=f"{name}: buffer {k}")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_one_training_step_on_the_fake_device_equals_the_host_step(name):
    _check_step(name, fake_device, 1e-6)  # float32, the same NumPy operations: rounding of reassociation only


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(MODELS))
def test_one_training_step_on_cupy_matches_the_host_step(name):
    _check_step(name, cupy_or_skip(), 1e-4)  # float32 on other kernels (cuBLAS, cuDNN-free convolutions)


RESPONSE_IDS = np.array([[2, 5, 3, 0], [2, 6, 7, 3]])
# name -> f(device): the decoding, sampling and evaluation paths, whose bookkeeping runs on the host
# through the explicit path (logits come to the host once per step)
INFERENCE = {
    "rnnlm_generate": lambda d: RNNLM(11, 4, 5, rng=0).to(d).generate([1, 2], 4, rng=0),
    "rnnlm_generate_greedy": lambda d: RNNLM(11, 4, 5, cell="gru", rng=0).to(d).generate([1, 2], 4, temperature=0),
    "seq2seq_greedy_attention": lambda d: Seq2Seq(11, 11, 4, 5, attention="general", rng=0).to(d).greedy(
        to_device(SRC, d), max_len=4, return_attention=True),
    "seq2seq_beam": lambda d: Seq2Seq(11, 11, 4, 5, attention="dot", rng=0).to(d).beam_search(SRC, beam=3, max_len=4),
    "hred_greedy": lambda d: HRED(11, 4, 5, 6, 7, rng=0).to(d).reply(CONTEXT, N_TURNS, max_len=4),
    "hred_beam": lambda d: HRED(11, 4, 5, 6, 7, rng=0).to(d).reply(CONTEXT, N_TURNS, method="beam", max_len=4),
    "hred_sample_top_k": lambda d: HRED(11, 4, 5, 6, 7, rng=0).to(d).reply(
        CONTEXT, N_TURNS, method="sample", top_k=3, max_len=4, rng=0),
    "vhred_reply": lambda d: VHRED(11, 4, 5, 6, 7, latent=3, latent_hidden=4, rng=0).to(d).reply(
        CONTEXT, N_TURNS, max_len=4, rng=0),
    "vhred_nll": lambda d: VHRED(11, 4, 5, 6, 7, latent=3, latent_hidden=4, rng=0).to(d).eval().nll(
        to_device(CONTEXT, d), N_TURNS, RESPONSE_IDS),
    "vae_sample": lambda d: VAE(784, 6, 2, rng=0).to(d).sample(3, rng=0),
    "vae_iwae_nll": lambda d: VAE(784, 6, 2, rng=0).to(d).iwae_nll(to_device(IMAGES, d), k=4, rng=0),
}


def _same(a, b):
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for u, v in zip(a, b):
            _same(u, v)
    elif isinstance(a, np.ndarray):
        assert type(a) is np.ndarray  # results meant for the host come back as host arrays
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-5)
    else:
        assert a == b


@pytest.mark.parametrize("name", sorted(INFERENCE))
def test_decoding_and_sampling_on_the_fake_device_equal_the_host(name):
    host = INFERENCE[name]("cpu")
    with guard():
        device = INFERENCE[name](fake_device)
    _same(device, host)


def test_word2vec_on_the_device_takes_host_ids():
    """As F.embedding, HRED and Seq2Seq do: host id arrays go to the weights' device inside the op."""
    host = Word2Vec(9, 4, "skipgram", rng=0)
    loss_host = float(host(*W2V).data)
    model = Word2Vec(9, 4, "skipgram", rng=0).to(fake_device)
    with guard():
        loss = model(*W2V)  # host targets, contexts and negatives
        loss.backward()
        assert all(get_array_module(p.grad) is fake_device for p in model.parameters() if p.grad is not None)
    assert float(loss.data) == pytest.approx(loss_host, rel=1e-6)
