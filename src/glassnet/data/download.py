"""Where data lives, and how it gets there: the cache-dir rule, sha256 checks, atomic downloads, safe extraction.

The cache-dir rule (the only place it is written):

* :func:`data_home` — ``root`` if given, else ``$GLASSNET_DATA``, else ``~/.cache/glassnet``.
* :func:`dataset_dir` — a data set's folder is ``data_home/<subdir>`` (``mnist``, ``cifar10``, ``ptb`` …, the
  layout of ``/work/shared/data``). When ``root`` itself already holds the data set's files, ``root`` is used
  as is, so ``root`` may name either the data home or the data set's own folder.

Integrity rule (:func:`verify_file`): a file with a published sha256 is checked against it on every load; a
file without one is checked against the hash recorded next to it in ``<file>.sha256`` when it was downloaded
(trust on first use) or extracted from a verified archive; a file with neither (one the user put there by
hand) is read as it is.

Nothing here runs code from a downloaded file: archives are extracted with tarfile's ``"data"`` filter,
which refuses absolute paths, ``..`` components, links that leave the target and device files.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from glassnet.errors import ConfigError, DataError
from glassnet.fileio import atomic_write_text

__all__ = [
    "data_home", "dataset_dir", "sha256_file", "verify_file", "fetch", "fetch_first", "offline_hint", "extract_tar",
    "ensure_file",
]

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
_USER_AGENT = "glassnet/0.1 (Python urllib)"


def data_home(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds every data set: ``root``, else ``$GLASSNET_DATA``, else ``~/.cache/glassnet``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("GLASSNET_DATA")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "glassnet"


def dataset_dir(subdir: str, root: str | os.PathLike | None = None, probe: str | None = None) -> Path:
    """The folder of one data set: ``data_home(root)/subdir``, or ``root`` itself when it already holds ``probe``.

    Args:
        subdir: the data set's folder name under the data home (``"mnist"``).
        root: data home or the data set's own folder; None for the default (see :func:`data_home`).
        probe: a file name that shows a folder holds the data set.
    """
    home = data_home(root)
    if root is not None and probe is not None and not (home / subdir / probe).exists() and (home / probe).exists():
        return home
    return home / subdir


def sha256_file(path: str | os.PathLike) -> str:
    """The hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_sha256_arg(name: str, sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not _SHA256_RE.fullmatch(sha256):
        raise ConfigError(f"{name}: sha256 must be 64 lowercase hex digits or None, got {sha256!r}")
    return sha256


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _record_sha256(path: Path, digest: str) -> None:
    """Write ``<file>.sha256`` (``sha256sum`` format) so later loads can check the file."""
    atomic_write_text(_sidecar(path), f"{digest}  {path.name}\n")


def verify_file(path: str | os.PathLike, sha256: str | None = None) -> str | None:
    """Check a file's sha256 against ``sha256``, else against its recorded ``<file>.sha256``.

    Returns:
        the computed hex digest, or None when there was nothing to check against (no hash computed).

    Raises:
        DataError: the file is missing, or its hash differs (the message names the file, expected and got).
    """
    path = Path(path)
    sha256 = _check_sha256_arg("verify_file", sha256)
    if not path.is_file():
        raise DataError(f"verify_file: no such file: {path}")
    source = "published sha256"
    if sha256 is None:
        side = _sidecar(path)
        if not side.is_file():
            return None
        recorded = side.read_text(encoding="utf-8").split()
        if not recorded or not _SHA256_RE.fullmatch(recorded[0]):
            raise DataError(f"verify_file: {side} does not hold a sha256; delete it and {path.name} to download again")
        sha256, source = recorded[0], f"sha256 recorded in {side.name}"
    got = sha256_file(path)
    if got != sha256:
        raise DataError(
            f"verify_file: {path} fails its sha256 check ({source}): expected {sha256}, got {got}; "
            "the file is corrupt or not the expected version: delete it to download it again"
        )
    return got


def fetch(
    url: str,
    sha256: str | None,
    cache_dir: str | os.PathLike,
    *,
    filename: str | None = None,
    extract: bool = False,
    progress: bool = True,
) -> Path:
    """Download ``url`` into ``cache_dir`` once, check its sha256, and return the file's path.

    The bytes go to a temporary file in ``cache_dir`` while a tqdm bar shows progress and the sha256 is
    computed on the fly; only a file whose hash matches is moved into place with ``os.replace`` (atomic),
    so an interrupted or corrupt download never leaves a file under the final name.

    ``sha256=None`` means no published hash exists for this file: it is trusted on first use — the computed
    hash is printed and recorded in ``<file>.sha256``, and every later load is checked against it.

    A file already in ``cache_dir`` is not downloaded again; it is checked (see :func:`verify_file`).

    Args:
        url: ``https://``, ``http://`` or ``file://`` URL.
        sha256: expected hex sha256 (64 lowercase hex digits) or None (trust on first use).
        cache_dir: target folder (created if missing).
        filename: name in ``cache_dir``; default the URL's last path component.
        extract: also extract the file (a tar archive, any compression) into ``cache_dir`` with
            :func:`extract_tar` (skipped while the files it extracted before are all present).
        progress: show the tqdm progress bar.

    Raises:
        ConfigError: malformed ``sha256``, or no file name can be taken from ``url``.
        DataError: the download failed, or the sha256 differs (message names expected and got; the
            temporary file is deleted), or extraction refused a member.
    """
    sha256 = _check_sha256_arg("fetch", sha256)
    name = filename or url.rstrip("/").rsplit("/", 1)[-1]
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        raise ConfigError(f"fetch: cannot take a file name from url {url!r}; pass filename=")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    dest = cache_dir / name
    if dest.is_file():
        verify_file(dest, sha256)
    else:
        got = _download(url, dest, sha256, progress)
        if sha256 is None:
            print(f"glassnet: no published sha256 for {url}; trusting first download, sha256 {got} "
                  f"(recorded in {_sidecar(dest)})")
    if extract:
        extract_tar(dest, cache_dir)
    return dest


def _download(url: str, dest: Path, sha256: str | None, progress: bool) -> str:
    """Stream ``url`` to a temp file next to ``dest``; check the hash; ``os.replace`` it into place."""
    from tqdm.auto import tqdm  # deferred: only downloads need it

    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    h = hashlib.sha256()
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=60) as response:
            total = response.headers.get("Content-Length")
            with tqdm(total=int(total) if total else None, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress, leave=False) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        if sha256 is not None and got != sha256:
            raise DataError(f"fetch: sha256 mismatch for {url}: expected {sha256}, got {got}; the file was discarded")
        if sha256 is None:
            _record_sha256(dest, got)  # before the file appears, so it never exists unrecorded
        os.replace(tmp, dest)
        return got
    except (urllib.error.URLError, OSError, ValueError) as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, DataError):
            raise
        raise DataError(f"fetch: could not download {url} to {dest}: {e}") from e
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def offline_hint(names: Iterable[str]) -> str:
    """What to do when nothing can be downloaded: point at a folder that already holds ``names``."""
    return (f"point --data-dir (in Python: root=) at a folder holding {', '.join(names)}, "
            f"or fetch it on a machine with network with `glassnet data download`")


def fetch_first(urls: Iterable[str], sha256: str | None, cache_dir: str | os.PathLike, hint: str = "",
                **kwargs) -> Path:
    """:func:`fetch` from the first of several mirrors that works; same arguments as :func:`fetch`.

    ``hint`` (e.g. :func:`offline_hint`) ends the error message after ``"; "``.

    Raises:
        DataError: every mirror failed; one line that lists each URL and why, then the hint.
    """
    errors = []
    for url in urls:
        try:
            return fetch(url, sha256, cache_dir, **kwargs)
        except DataError as e:
            errors.append(" ".join(str(e).split()))
    raise DataError("fetch: every mirror failed: " + "; ".join(errors) + (f"; {hint}" if hint else ""))


def extract_tar(archive: str | os.PathLike, target_dir: str | os.PathLike) -> list[Path]:
    """Extract a tar archive into ``target_dir`` safely and record each file's sha256 beside it.

    Members are extracted with tarfile's ``"data"`` filter — it refuses ``..`` components, links that
    leave the target and device files, and strips leading ``/`` — into a temporary folder inside
    ``target_dir``; only when the whole archive extracted cleanly are its top-level entries moved into place.
    Each regular file gets a ``<file>.sha256`` record, so later loads verify it (its trust derives from the
    archive's own sha256 check), and ``<archive>.extracted`` lists the files, so a second call whose files
    are all present does nothing.

    Returns:
        the paths of the extracted regular files.

    Raises:
        DataError: the archive is unreadable, or a member is refused by the filter (path traversal, …).
    """
    archive, target_dir = Path(archive), Path(target_dir)
    marker = archive.with_name(archive.name + ".extracted")
    if marker.is_file():
        done = [target_dir / line for line in marker.read_text(encoding="utf-8").splitlines() if line]
        if done and all(f.is_file() for f in done):
            return done
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".extract", dir=target_dir))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        # the names as extracted (after the filter), never the raw member names
        files = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file() and not p.is_symlink())
        for f in files:
            _record_sha256(tmp / f, sha256_file(tmp / f))
        for entry in tmp.iterdir():
            dest = target_dir / entry.name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(entry, dest)
    except tarfile.FilterError as e:
        raise DataError(f"extract_tar: {archive} has an unsafe member, refused: {e}") from e
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"extract_tar: cannot extract {archive}: {e}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_text(marker, "".join(f"{f.as_posix()}\n" for f in files))
    return [target_dir / f for f in files]


def ensure_file(
    who: str,
    directory: Path,
    filename: str,
    urls: Iterable[str] = (),
    sha256: str | None = None,
    download: bool = True,
    expected: Iterable[str] = (),
) -> Path:
    """The verified path of ``directory/filename``, downloaded from ``urls`` first if missing and allowed.

    ``expected``: the file names a folder must hold for the data set (default just ``filename``), named in
    the hint that ends the error when every mirror fails.

    Raises:
        DataError: the file is missing and ``download`` is False (or no URL is known), names the path;
            or the file fails its sha256 check (see :func:`verify_file`), or the download failed.
    """
    path = Path(directory) / filename
    if path.is_file():
        verify_file(path, sha256)
        return path
    urls = list(urls)
    if not download or not urls:
        if urls:
            raise DataError(f"{who}: no such file: {path}; put the file there, or download it with "
                            f"`glassnet data download` (in Python: download=True)")
        raise DataError(f"{who}: no such file: {path} (no download URL is known for it); put the file there")
    return fetch_first(urls, sha256, directory, hint=offline_hint(list(expected) or [filename]), filename=filename)
