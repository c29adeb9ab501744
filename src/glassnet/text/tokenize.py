"""Tokenizers: whitespace for pre-tokenised corpora, janome for raw Japanese (optional extra ``glassnet[ja]``)."""

from __future__ import annotations

from glassnet.errors import ConfigError

__all__ = ["whitespace_tokenize", "JapaneseTokenizer"]


def whitespace_tokenize(text: str, lower: bool = False) -> list[str]:
    """Split on runs of whitespace (PTB and small_parallel_enja are already tokenised this way)."""
    return (text.lower() if lower else text).split()


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
