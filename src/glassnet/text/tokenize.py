"""Tokenizers: whitespace for pre-tokenised corpora, words and punctuation for raw English (dialogue corpora),
janome for raw Japanese (optional extra ``glassnet[ja]``)."""

from __future__ import annotations

import re

from glassnet.errors import ConfigError

__all__ = ["whitespace_tokenize", "word_tokenize", "JapaneseTokenizer"]

# a word: letters/digits/underscore, with inner apostrophes kept ("don't", "i'm"); else one punctuation mark
_WORD_RE = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def whitespace_tokenize(text: str, lower: bool = False) -> list[str]:
    """Split on runs of whitespace (PTB and small_parallel_enja are already tokenised this way)."""
    return (text.lower() if lower else text).split()


def word_tokenize(text: str, lower: bool = True) -> list[str]:
    """Split raw English into words and punctuation marks, lower-cased by default (for SGD utterances).

    A word is a run of letters, digits and ``_`` that may hold apostrophes inside (``"don't"``, ``"i'm"``
    stay one token); every other non-space character is a token of its own:
    ``word_tokenize("Sure, at 11:30?")`` -> ``['sure', ',', 'at', '11', ':', '30', '?']``.
    Deliberately simpler than Penn Treebank tokenisation (which splits ``"don't"`` into ``do n't``).

    Raises:
        ConfigError: if ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise ConfigError(f"word_tokenize: text must be a str, got {type(text).__name__}")
    return _WORD_RE.findall(text.lower() if lower else text)


class JapaneseTokenizer:
    """Japanese morphological segmentation (分かち書き) by janome, a pure-Python analyser with its own dictionary.

    ``JapaneseTokenizer()("吾輩は猫である")`` -> ``['吾輩', 'は', '猫', 'で', 'ある']``. Building one loads the
    dictionary (about a second); reuse the instance. Whitespace (including the full-width space that opens a
    Japanese paragraph) is dropped.

    Raises:
        ConfigError: if janome is not installed, saying how to install it (``pip install glassnet[ja]``).
    """

    def __init__(self):
        try:
            from janome.tokenizer import Tokenizer
        except ImportError:
            raise ConfigError(
                "JapaneseTokenizer needs janome, which is not installed: pip install 'glassnet[ja]' (or janome)"
            ) from None
        self._tokenizer = Tokenizer(wakati=True)

    def __call__(self, text: str) -> list[str]:
        return [t for t in self._tokenizer.tokenize(text) if t.strip()]
