"""Models of the course, built from ``glassnet.nn`` layers.

* :class:`MLP` — a multilayer perceptron.
* :class:`RNNLM` — an RNN/LSTM/GRU language model.
* :class:`Seq2Seq` — an LSTM encoder-decoder, optionally with attention; greedy and beam-search decoding.
* CNNs layer for layer as torchvision (:func:`load_torchvision`, :func:`to_torchvision`):
  :class:`AlexNet`, :class:`VGG` (``vgg11/13/16/19``), :class:`GoogLeNet`, :class:`ResNet`
  (``resnet18/34/50``), the CIFAR ResNets of He et al. 2016 (``resnet20`` … ``plain110``) and
  :class:`CifarVGG` (VGG's convs with one dense layer, for 32x32 images).
* :class:`Word2Vec` — skip-gram and CBOW with negative sampling; :class:`WordVectors` for neighbour and
  analogy queries.
* :class:`Autoencoder` (linear or MLP), :class:`DenoisingAutoencoder`, :class:`ConvAutoencoder` and
  :class:`VAE` (Bernoulli decoder).
* :class:`HRED` and :class:`VHRED` — hierarchical encoder-decoders for dialogue (``HRED(context_rnn=False)`` is
  the seq2seq baseline); :func:`linear_kl_weight` anneals VHRED's KL term.
* GANs for 28×28 MNIST: :class:`DCGANGenerator` / :class:`DCGANDiscriminator` and the plain
  :class:`MLPGenerator` / :class:`MLPDiscriminator`, with the non-saturating losses.
* :class:`YOLOv1` — a small YOLO v1 detector (conv, batch norm, leaky ReLU) for the digit scenes.
"""

from glassnet.zoo.alexnet import AlexNet
from glassnet.zoo.autoencoder import VAE, Autoencoder, ConvAutoencoder, DenoisingAutoencoder
from glassnet.zoo.cifar_resnet import (
    CifarResNet,
    plain20,
    plain32,
    plain44,
    plain56,
    plain110,
    resnet20,
    resnet32,
    resnet44,
    resnet56,
    resnet110,
)
from glassnet.zoo.gan import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    discriminator_loss,
    generator_loss,
)
from glassnet.zoo.googlenet import GoogLeNet
from glassnet.zoo.hred import HRED, VHRED, linear_kl_weight
from glassnet.zoo.mlp import MLP
from glassnet.zoo.resnet import ResNet, resnet18, resnet34, resnet50
from glassnet.zoo.rnnlm import RNNLM
from glassnet.zoo.seq2seq import Seq2Seq
from glassnet.zoo.torch_state import load_torch_state_dict, strip_prefix
from glassnet.zoo.torchvision import load_torchvision, to_torchvision
from glassnet.zoo.vgg import VGG, CifarVGG, vgg11, vgg13, vgg16, vgg19
from glassnet.zoo.word2vec import Word2Vec, WordVectors
from glassnet.zoo.yolo import YOLOv1

__all__ = ["MLP", "Autoencoder", "DenoisingAutoencoder", "ConvAutoencoder", "VAE", "RNNLM", "Seq2Seq", "HRED", "VHRED",
           "linear_kl_weight",
           "Word2Vec", "WordVectors", "AlexNet", "VGG", "CifarVGG", "vgg11", "vgg13", "vgg16", "vgg19", "GoogLeNet",
           "ResNet", "resnet18", "resnet34",
           "resnet50", "CifarResNet", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "plain20",
           "plain32", "plain44", "plain56", "plain110", "load_torchvision", "to_torchvision",
           "load_torch_state_dict", "strip_prefix", "DCGANGenerator", "DCGANDiscriminator", "MLPGenerator",
           "MLPDiscriminator", "discriminator_loss", "generator_loss", "YOLOv1"]
