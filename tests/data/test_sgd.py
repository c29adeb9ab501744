"""load_sgd / read_sgd_dialogues: a synthetic file in the official layout, and the shared copy when present."""

from __future__ import annotations

import hashlib
import json

import pytest

from glassnet.data.datasets import SGD_SHA256, available, load_sgd, read_sgd_dialogues
from glassnet.errors import ConfigError, DataError


def _turn(speaker, text):
    return {"frames": [{"actions": [], "service": "Restaurants_2", "slots": []}], "speaker": speaker,
            "utterance": text}


def _write(folder, name, dialogues):
    folder.mkdir(parents=True, exist_ok=True)
    data = [{"dialogue_id": f"1_{i:05d}", "services": ["Restaurants_2"],
             "turns": [_turn(("USER", "SYSTEM")[t % 2], u) for t, u in enumerate(d)]} for i, d in enumerate(dialogues)]
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


DIALOGUES_1 = [["Book a table.", "Where?", "San Jose."], ["Hi", "Hello, how can I help?"]]
DIALOGUES_2 = [["Find a movie.", "Which genre?", "Comedy.", "Found 3."]]


@pytest.fixture
def home(tmp_path):
    # numbers without a pinned sha256 (001-012 are pinned to the real files)
    _write(tmp_path / "sgd" / "train", "dialogues_101.json", DIALOGUES_1)
    _write(tmp_path / "sgd" / "train", "dialogues_102.json", DIALOGUES_2)
    return tmp_path


def test_reads_utterances_in_turn_order(home):
    assert read_sgd_dialogues(home / "sgd/train/dialogues_101.json") == DIALOGUES_1
    assert load_sgd("train", root=home, download=False, files=[101, 102]) == DIALOGUES_1 + DIALOGUES_2
    assert load_sgd("train", root=home, download=False, files=[102, 101]) == DIALOGUES_2 + DIALOGUES_1


def test_root_may_be_the_sgd_folder_and_max_dialogues_cuts(home):
    assert load_sgd("train", root=home / "sgd", download=False, files=[101]) == DIALOGUES_1
    assert load_sgd("train", root=home, download=False, files=[101, 102], max_dialogues=1) == DIALOGUES_1[:1]
    # 2 dialogues are all in file 101: the missing file 103 is never touched
    assert load_sgd("train", root=home, download=False, files=[101, 103], max_dialogues=2) == DIALOGUES_1


def test_missing_file_without_download_names_the_path(home):
    with pytest.raises(DataError, match="dialogues_001.json"):
        load_sgd("train", root=home, download=False, files=1)


def test_pinned_file_with_wrong_bytes_fails_its_sha256(tmp_path):
    _write(tmp_path / "sgd" / "dev", "dialogues_001.json", DIALOGUES_1)  # not the real dev file
    with pytest.raises(DataError, match="sha256"):
        load_sgd("dev", root=tmp_path, download=False)


@pytest.mark.parametrize("turns, match", [
    ([("SYSTEM", "Hi")], "expected USER"),
    ([("USER", "Hi"), ("USER", "Hi again")], "expected SYSTEM"),
    ([("USER", 3)], "str 'utterance'"),
])
def test_bad_layout_raises_naming_dialogue_and_turn(tmp_path, turns, match):
    data = [{"dialogue_id": "7_00042", "turns": [{"speaker": s, "utterance": u} for s, u in turns]}]
    path = tmp_path / "dialogues_001.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match=match) as info:
        read_sgd_dialogues(path)
    assert "7_00042" in str(info.value)


def test_not_json_or_not_a_list(tmp_path):
    (tmp_path / "a.json").write_text("{broken", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"turns": []}', encoding="utf-8")
    with pytest.raises(DataError, match="not UTF-8 JSON"):
        read_sgd_dialogues(tmp_path / "a.json")
    with pytest.raises(DataError, match="JSON list"):
        read_sgd_dialogues(tmp_path / "b.json")


@pytest.mark.parametrize("kwargs, match", [
    ({"split": "test"}, "split must be one of"),
    ({"split": "train", "max_dialogues": 0}, "max_dialogues"),
    ({"split": "train", "files": []}, "at least one"),
    ({"split": "train", "files": "001"}, "files must be"),
    ({"split": "train", "files": [0]}, "files"),
])
def test_bad_arguments(home, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_sgd(root=home, download=False, **kwargs)


def test_registered_in_the_catalog_and_the_download_command():
    from glassnet.cli.data import DOWNLOADS

    assert "sgd" in available() and "sgd" in DOWNLOADS


def test_shared_copy(shared_data):
    sgd = shared_data / "sgd"
    if not sgd.is_dir():
        pytest.skip("no sgd folder in the shared data")
    for key, digest in SGD_SHA256.items():
        assert hashlib.sha256((sgd / key).read_bytes()).hexdigest() == digest
    train = load_sgd("train", root=shared_data, download=False)
    dev = load_sgd("dev", root=shared_data, download=False)
    # the counts stated in the shared data README
    assert (len(train), sum(map(len, train))) == (1536, 24320)
    assert (len(dev), sum(map(len, dev))) == (128, 1650)
    assert min(map(len, train)) >= 4 and max(map(len, train)) <= 32
    raw = json.loads((sgd / "dev/dialogues_001.json").read_text(encoding="utf-8"))
    assert dev[0] == [t["utterance"] for t in raw[0]["turns"]]
