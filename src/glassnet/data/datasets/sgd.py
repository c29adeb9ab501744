"""Schema-Guided Dialogue (SGD, DSTC8): English task-oriented USER/SYSTEM dialogues, in the official JSON layout.

The release (Rastogi et al. 2020, "Towards Scalable Multi-Domain Conversational Agents: The Schema-Guided
Dialogue Dataset", AAAI) is a folder per split, ``train/``, ``dev/``, ``test/``, each holding
``dialogues_001.json`` … and a ``schema.json``. A dialogues file is a JSON list of dialogues
``{"dialogue_id": "1_00000", "services": [...], "turns": [...]}``; a turn is
``{"speaker": "USER" | "SYSTEM", "utterance": "...", "frames": [...]}``. Only the utterances are read here:
the frames (slots, dialogue acts, states) are for dialogue-state tracking, not for response generation.

Layout under the data home: ``sgd/train/dialogues_NNN.json``, ``sgd/dev/dialogues_NNN.json`` (the shared copy
in ``/work/shared/data/sgd`` has train files 001-012 and dev file 001). Files with a pinned sha256
(:data:`SGD_SHA256`, computed from that copy) are checked on every load; any other file number is trusted on
first download (see :func:`~glassnet.data.download.fetch`). Licence: CC BY-SA 4.0.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from glassnet.checks import check_int, check_optional, check_size
from glassnet.data.datasets.catalog import register
from glassnet.data.download import dataset_dir, ensure_file
from glassnet.errors import ConfigError, DataError

__all__ = ["load_sgd", "read_sgd_dialogues", "SGD_SHA256"]

_SGD_URL = "https://raw.githubusercontent.com/google-research-datasets/dstc8-schema-guided-dialogue/master/"

#: sha256 per ``<split>/dialogues_NNN.json``, computed from /work/shared/data/sgd (they match its README).
SGD_SHA256 = {
    "train/dialogues_001.json": "5ce28a6e656bc88c1da29c983d243d5a81eb37de92698da3864d1cf02894ca24",
    "train/dialogues_002.json": "56a06f9762593b27f5b34225de4ce37da5e83c9c5747e56bca2899f147d88b3e",
    "train/dialogues_003.json": "aae3d8d141c8c36bc5268ca573044b4e82d4534947c169d951a1f229b9852029",
    "train/dialogues_004.json": "4f4aa821e01d7d9efd44c2e89264d37e428045e7058bf3b3c6be0eaec09eddce",
    "train/dialogues_005.json": "e19563efc34dead580435331d39ec3183c79230fa361b2e2d79035af242dd90b",
    "train/dialogues_006.json": "6b4829cb18185f063b81d271b847aa6915ef970cb592a2366edbec56d4b4c746",
    "train/dialogues_007.json": "59adf47264e106df1ce4a59d2c88e95b5a12497e6f5e3e5464381c2a7526837c",
    "train/dialogues_008.json": "36614c125ce310dd162b62d624b8bcd117053cf727978458b6c36b6592f6e757",
    "train/dialogues_009.json": "d8cc086374bbce168a03169341687eaa9f886fe25f8b8dd5bd6832f6f441951d",
    "train/dialogues_010.json": "d8658cd35bd4b6d274720d14308ec721f238d70cc37ea947c38f9d83a0267c1b",
    "train/dialogues_011.json": "66f7eb72a46fa379d85e53ae607e5920a4fa14a4a99765d91ee67f3675fdf4d7",
    "train/dialogues_012.json": "483b09fc9ad3d5b7285d2e1bc44057f1286ea3e73d7ff191fcec5e1acb364412",
    "dev/dialogues_001.json": "fe3a8ed9e160c15e20e7cfd16d03734b4473df0d3864f2ad687ea9eeee5eea52",
}

_SPLITS = ("train", "dev")
#: the file numbers read by default: the pinned ones (train 1-12 of the official 127, dev 1)
_DEFAULT_FILES = {split: tuple(int(k[-8:-5]) for k in SGD_SHA256 if k.startswith(split + "/")) for split in _SPLITS}
_SPEAKERS = ("USER", "SYSTEM")


def read_sgd_dialogues(path: str | os.PathLike) -> list[list[str]]:
    """The dialogues of one official ``dialogues_NNN.json`` file, each a list of utterance strings in turn order.

    Checks the layout: a JSON list of objects with ``dialogue_id`` and ``turns``; each turn has ``speaker``
    and ``utterance`` strings; speakers alternate USER, SYSTEM, USER, … starting with USER.

    Raises:
        DataError: the file is not UTF-8 JSON, or does not follow the layout (the message names the file, the
            dialogue id and the turn).
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"read_sgd_dialogues: {path} is not UTF-8 JSON: {e}") from e
    if not isinstance(data, list):
        raise DataError(f"read_sgd_dialogues: {path} must hold a JSON list of dialogues, got {type(data).__name__}")
    dialogues = []
    for i, d in enumerate(data):
        if not isinstance(d, dict) or not isinstance(d.get("turns"), list) or not d["turns"]:
            raise DataError(f"read_sgd_dialogues: {path}: dialogue {i} must be an object with a non-empty "
                            f"'turns' list")
        who = f"read_sgd_dialogues: {path}: dialogue {d.get('dialogue_id', i)!r}"
        utterances = []
        for t, turn in enumerate(d["turns"]):
            if not isinstance(turn, dict) or not isinstance(turn.get("utterance"), str):
                raise DataError(f"{who}, turn {t}: expected an object with a str 'utterance', got {turn!r:.80}")
            want = _SPEAKERS[t % 2]  # the layout: USER first, then alternating
            if turn.get("speaker") != want:
                raise DataError(f"{who}, turn {t}: speakers must alternate starting with USER, expected {want}, "
                                f"got {turn.get('speaker')!r}")
            utterances.append(turn["utterance"])
        dialogues.append(utterances)
    return dialogues


@register("sgd", "Schema-Guided Dialogue (DSTC8), English task-oriented USER/SYSTEM dialogues (train/dev)")
def load_sgd(split: str = "train", root: str | os.PathLike | None = None, download: bool = True,
             max_dialogues: int | None = None, files: int | Sequence[int] | None = None) -> list[list[str]]:
    """Load dialogues of one SGD split, each a list of utterance strings (USER, SYSTEM, USER, … in turn order).

    Utterances are returned as written (cased, punctuated); tokenise them with
    :func:`glassnet.text.word_tokenize`. Dialogues come in file order, then in their order within a file.

    Sizes of the default files: train 1,536 dialogues (files 001-012 of the official 127), 24,320 turns;
    dev 128 dialogues (file 001), 1,650 turns. A dialogue has 4 to 32 turns.

    Args:
        split: ``"train"`` or ``"dev"``.
        root: data home or the ``sgd`` folder itself (see :mod:`glassnet.data.download`).
        download: fetch missing files from the official repository
            (github.com/google-research-datasets/dstc8-schema-guided-dialogue).
        max_dialogues: keep only the first this many (None: all); files past the ones needed are not read.
        files: the file numbers to read: an int n for ``dialogues_001`` … ``dialogues_{n:03d}``, or a sequence
            of numbers; default the files with a pinned sha256 (train 1-12, dev 1). Others are trusted on first
            download (hash printed and recorded).

    Returns:
        list of dialogues, each a list of str utterances.

    Raises:
        ConfigError: ``split`` not in "train", "dev", a bad ``max_dialogues`` or ``files``.
        DataError: a file missing with download=False, a sha256 mismatch, or a file that is not in the official
            layout (see :func:`read_sgd_dialogues`).
    """
    who = "load_sgd"
    if split not in _SPLITS:
        raise ConfigError(f"{who}: split must be one of {', '.join(map(repr, _SPLITS))}, got {split!r}")
    max_dialogues = check_optional(max_dialogues, check_size, "max_dialogues", who)
    numbers = _file_numbers(files, split)
    folder = dataset_dir("sgd", root, probe=split) / split
    dialogues: list[list[str]] = []
    for k in numbers:
        if max_dialogues is not None and len(dialogues) >= max_dialogues:
            break
        name = f"dialogues_{k:03d}.json"
        key = f"{split}/{name}"
        path = ensure_file(who, folder, name, urls=[_SGD_URL + key], sha256=SGD_SHA256.get(key), download=download)
        dialogues.extend(read_sgd_dialogues(path))
    return dialogues if max_dialogues is None else dialogues[:max_dialogues]


def _file_numbers(files, split: str) -> tuple[int, ...]:
    if files is None:
        return _DEFAULT_FILES[split]
    if isinstance(files, (str, bytes)) or not isinstance(files, (int, Sequence)):
        raise ConfigError(f"load_sgd: files must be an int >= 1 or a sequence of file numbers, got {files!r}")
    if isinstance(files, Sequence):
        numbers = tuple(check_int(k, "files[]", "load_sgd", min=1, max=999) for k in files)
        if not numbers:
            raise ConfigError("load_sgd: files must name at least one file number, got an empty sequence")
        return numbers
    return tuple(range(1, check_int(files, "files", "load_sgd", min=1, max=999) + 1))
