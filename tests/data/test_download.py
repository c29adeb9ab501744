"""The downloader: file:// downloads, sha256 checks, trust on first use, atomic writes, safe tar extraction.

No test touches the network: every URL is a file:// URL to a file the test writes.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from glassnet.data import data_home, dataset_dir, fetch, verify_file
from glassnet.data.download import ensure_file, extract_tar, fetch_first
from glassnet.errors import ConfigError, DataError

PAYLOAD = b"glassnet test payload\n" * 1000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def source(tmp_path) -> Path:
    src = tmp_path / "remote" / "payload.bin"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    return src


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_fetch_file_url_with_correct_sha256(source, tmp_path):
    cache = tmp_path / "cache"
    path = fetch(source.as_uri(), sha(PAYLOAD), cache, progress=False)
    assert path == cache / "payload.bin" and path.read_bytes() == PAYLOAD
    assert leftovers(cache) == []  # the temp file was renamed, not left behind
    source.unlink()  # a second fetch uses the cached copy, checking it, without downloading
    assert fetch(source.as_uri(), sha(PAYLOAD), cache, progress=False) == path


def test_fetch_sha256_mismatch_names_both_hashes_and_leaves_nothing(source, tmp_path):
    cache = tmp_path / "cache"
    wrong = "0" * 64
    with pytest.raises(DataError) as info:
        fetch(source.as_uri(), wrong, cache, progress=False)
    message = str(info.value)
    assert f"expected {wrong}" in message and f"got {sha(PAYLOAD)}" in message
    assert list(cache.iterdir()) == []  # neither the final file nor the temp file exists


def test_fetch_trust_on_first_use_records_and_then_checks(source, tmp_path, capsys):
    cache = tmp_path / "cache"
    path = fetch(source.as_uri(), None, cache, progress=False)
    assert sha(PAYLOAD) in capsys.readouterr().out  # the computed hash is printed once
    assert (cache / "payload.bin.sha256").read_text().split() == [sha(PAYLOAD), "payload.bin"]
    assert verify_file(path) == sha(PAYLOAD)
    path.write_bytes(PAYLOAD + b"tampered")
    with pytest.raises(DataError, match="recorded in payload.bin.sha256"):
        fetch(source.as_uri(), None, cache, progress=False)


def test_cached_file_that_changed_fails_the_published_hash(source, tmp_path):
    cache = tmp_path / "cache"
    path = fetch(source.as_uri(), sha(PAYLOAD), cache, progress=False)
    path.write_bytes(b"corrupt")
    with pytest.raises(DataError, match=f"expected {sha(PAYLOAD)}, got {sha(b'corrupt')}"):
        verify_file(path, sha(PAYLOAD))


def test_fetch_missing_url_raises_data_error_without_leftovers(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="could not download"):
        fetch((tmp_path / "nowhere.bin").as_uri(), None, cache, progress=False)
    assert list(cache.iterdir()) == []


def test_fetch_first_falls_back_to_the_next_mirror(source, tmp_path):
    urls = [(tmp_path / "missing" / "payload.bin").as_uri(), source.as_uri()]
    path = fetch_first(urls, sha(PAYLOAD), tmp_path / "cache", progress=False)
    assert path.read_bytes() == PAYLOAD
    with pytest.raises(DataError, match="every mirror failed"):
        fetch_first(urls[:1], sha(PAYLOAD), tmp_path / "cache2", progress=False)


@pytest.mark.parametrize("bad", ["abc", "G" * 64, "A" * 64, 123])
def test_fetch_bad_sha256_argument_raises_config_error(source, tmp_path, bad):
    with pytest.raises(ConfigError, match="sha256"):
        fetch(source.as_uri(), bad, tmp_path / "cache", progress=False)


def test_ensure_file_without_download_names_the_missing_path(tmp_path):
    with pytest.raises(DataError, match=r"load_x: no such file: .*data\.bin; put the file there, or download it with "
                       r"`glassnet data download` \(in Python: download=True\)"):
        ensure_file("load_x", tmp_path, "data.bin", urls=["file:///nowhere"], download=False)
    with pytest.raises(DataError, match="no download URL"):
        ensure_file("load_x", tmp_path, "data.bin", urls=(), download=True)


def test_data_home_rule(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("GLASSNET_DATA")
    assert data_home() == Path.home() / ".cache" / "glassnet"
    # root may be the data home or the data set's own folder
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "a.gz").write_bytes(b"")
    assert dataset_dir("mnist", tmp_path, probe="a.gz") == tmp_path / "mnist"
    assert dataset_dir("mnist", tmp_path / "mnist", probe="a.gz") == tmp_path / "mnist"
    assert dataset_dir("mnist", tmp_path / "empty", probe="a.gz") == tmp_path / "empty" / "mnist"


def make_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_fetch_extracts_a_verified_archive_and_records_member_hashes(tmp_path):
    archive = make_tar(tmp_path / "pack.tar.gz", {"pack/a.txt": b"alpha", "pack/sub/b.txt": b"beta"})
    cache = tmp_path / "cache"
    fetch(archive.as_uri(), sha(archive.read_bytes()), cache, extract=True, progress=False)
    assert (cache / "pack" / "a.txt").read_bytes() == b"alpha"
    assert (cache / "pack" / "sub" / "b.txt").read_bytes() == b"beta"
    assert verify_file(cache / "pack" / "a.txt") == sha(b"alpha")  # checked against the recorded hash
    assert leftovers(cache) == []
    (cache / "pack" / "a.txt").write_bytes(b"tampered")
    with pytest.raises(DataError, match="a.txt fails its sha256 check"):
        verify_file(cache / "pack" / "a.txt")


@pytest.mark.parametrize("evil", ["../escape.txt", "ok/../../escape.txt"])
def test_path_traversal_member_is_refused(tmp_path, evil):
    archive = make_tar(tmp_path / "evil.tar.gz", {"fine.txt": b"fine", evil: b"pwned"})
    target = tmp_path / "target"
    with pytest.raises(DataError, match="unsafe member"):
        extract_tar(archive, target)
    assert not (tmp_path / "escape.txt").exists()
    assert list(target.iterdir()) == []  # nothing half-extracted is left in place


def test_absolute_member_stays_inside_the_target(tmp_path):
    outside = tmp_path / "outside.txt"
    archive = make_tar(tmp_path / "abs.tar.gz", {str(outside): b"pwned"})
    files = extract_tar(archive, tmp_path / "target")
    assert not outside.exists()  # the data filter strips the leading "/"
    assert files == [tmp_path / "target" / str(outside).lstrip("/")]
    assert files[0].read_bytes() == b"pwned"


def test_second_extraction_is_skipped_while_files_are_present(tmp_path):
    archive = make_tar(tmp_path / "pack.tar", {"a.txt": b"alpha"})
    target = tmp_path / "target"
    assert extract_tar(archive, target) == [target / "a.txt"]
    (target / "a.txt").write_bytes(b"edited")
    extract_tar(archive, target)
    assert (target / "a.txt").read_bytes() == b"edited"  # not extracted again
    (target / "a.txt").unlink()
    extract_tar(archive, target)
    assert (target / "a.txt").read_bytes() == b"alpha"  # a missing file triggers a new extraction


def test_symlink_out_of_target_is_refused(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(DataError, match="unsafe member"):
        extract_tar(archive, tmp_path / "target")


def test_corrupt_archive_raises_data_error(tmp_path):
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"not a tar archive")
    with pytest.raises(DataError, match="cannot extract"):
        extract_tar(archive, tmp_path / "target")
