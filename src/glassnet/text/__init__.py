"""Text for sequence models: a vocabulary with special tokens, tokenizers, and BLEU (from sacrebleu).

* :class:`Vocabulary`: token <-> id with ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>`` and a minimum frequency;
  ``encode``/``decode`` and padded batches.
* :func:`whitespace_tokenize` for pre-tokenised corpora (PTB, small_parallel_enja);
  :class:`JapaneseTokenizer` for raw Japanese (janome, the optional extra ``glassnet[ja]``).
* :func:`corpus_bleu`: corpus BLEU by sacrebleu, never our own re-implementation.
* :class:`UnigramSampler`: negative words from the smoothed unigram distribution (word2vec).
* :func:`word_tokenize` for raw English; :class:`DialogueCorpus`: (context, response) batches for HRED / VHRED.
* dialogue metrics: :func:`distinct_n`, :func:`mean_length`, :func:`generic_response_share`, :func:`perplexity`.
* decoding: :func:`greedy_next`, :func:`sample_next` (temperature, top-k).
"""

from glassnet.text.bleu import corpus_bleu
from glassnet.text.decoding import greedy_next, sample_next
from glassnet.text.dialogue import DialogueBatch, DialogueCorpus, dialogue_vocabulary
from glassnet.text.diversity import distinct_n, generic_response_share, mean_length, perplexity
from glassnet.text.sampling import UnigramSampler
from glassnet.text.tokenize import JapaneseTokenizer, whitespace_tokenize, word_tokenize
from glassnet.text.vocab import BOS, EOS, PAD, SPECIALS, UNK, Vocabulary, pad_sequences

__all__ = ["Vocabulary", "pad_sequences", "PAD", "UNK", "BOS", "EOS", "SPECIALS",
           "whitespace_tokenize", "word_tokenize", "JapaneseTokenizer", "corpus_bleu", "UnigramSampler",
           "DialogueBatch", "DialogueCorpus", "dialogue_vocabulary",
           "distinct_n", "mean_length", "generic_response_share", "perplexity",
           "greedy_next", "sample_next"]
