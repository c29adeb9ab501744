"""``glassnet data`` lists a data set kept in subfolders (sgd's ``train/`` and ``dev/``) with their files."""

import glassnet.cli.data  # noqa: F401  (registers the sub-command)
from tests.cli_helpers import invoke


def status_line(output, name):
    """The line under data set ``name`` in the listing: where it lives and what is there."""
    lines = output.splitlines()
    return next(lines[i + 1].strip() for i, line in enumerate(lines) if line.split()[:1] == [name])


def test_sgd_split_folders_are_listed_with_their_file_counts(tmp_path):
    for split, names in (("train", ("dialogues_001.json", "dialogues_002.json", "schema.json")),
                         ("dev", ("dialogues_001.json",))):
        (tmp_path / "sgd" / split).mkdir(parents=True)
        for n in names:
            (tmp_path / "sgd" / split / n).write_text("[]")
    result = invoke(["data", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert status_line(result.output, "sgd") == f"{tmp_path / 'sgd'}: dev/ (1 file), train/ (3 files)"


def test_files_come_before_folders_and_empty_or_hidden_ones_do_not_count(tmp_path):
    (tmp_path / "sgd" / "train").mkdir(parents=True)
    (tmp_path / "sgd" / ".partial").mkdir()
    (tmp_path / "sgd" / ".partial" / "x.json").write_text("[]")
    result = invoke(["data", "--data-dir", str(tmp_path)])
    assert status_line(result.output, "sgd") == f"not downloaded ({tmp_path / 'sgd'})"
    (tmp_path / "sgd" / "LICENSE").write_text("CC BY-SA 4.0")
    (tmp_path / "sgd" / "train" / "dialogues_001.json").write_text("[]")
    result = invoke(["data", "--data-dir", str(tmp_path)])
    assert status_line(result.output, "sgd") == f"{tmp_path / 'sgd'}: LICENSE, train/ (1 file)"
