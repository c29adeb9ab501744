"""Models of the course, built from ``glassnet.nn`` layers.

* :class:`MLP` — a multilayer perceptron.
* :class:`RNNLM` — an RNN/LSTM/GRU language model.
* :class:`Seq2Seq` — an LSTM encoder-decoder, optionally with attention; greedy and beam-search decoding.
* :class:`Word2Vec` — skip-gram and CBOW with negative sampling; :class:`WordVectors` for neighbour and
  analogy queries.
"""

from glassnet.zoo.mlp import MLP
from glassnet.zoo.rnnlm import RNNLM
from glassnet.zoo.seq2seq import Seq2Seq
from glassnet.zoo.torch_state import load_torch_state_dict, strip_prefix
from glassnet.zoo.word2vec import Word2Vec, WordVectors

__all__ = ["MLP", "RNNLM", "Seq2Seq", "Word2Vec", "WordVectors", "load_torch_state_dict", "strip_prefix"]
