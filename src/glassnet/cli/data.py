"""``glassnet data``: list the data sets; ``glassnet data download NAME`` fetches one into the cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from glassnet.cli import cli
from glassnet.errors import ConfigError

__all__ = ["data_group", "DOWNLOADS"]


def _splits(loader: str, splits: tuple[str, ...]) -> Callable[[Any], None]:
    def download(root: Any) -> None:
        from glassnet.data import datasets

        for split in splits:
            getattr(datasets, loader)(split, root=root, download=True)

    return download


def _mnist(root: Any) -> None:
    from glassnet.data.datasets import load_mnist

    for prefix in ("train", "t10k"):
        load_mnist(root, prefix=prefix, download=True)


def _cifar10(root: Any) -> None:
    from glassnet.data.datasets import load_cifar10

    load_cifar10(root, batch=[f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"], download=True)


# What "download" fetches for each data set that has files (the others are embedded or generated).
DOWNLOADS: dict[str, Callable[[Any], None]] = {
    "mnist": _mnist,
    "cifar10": _cifar10,
    "ptb": _splits("load_ptb", ("train", "valid", "test")),
    "small_parallel_enja": _splits("load_small_parallel_enja", ("train", "dev", "test")),
    "sgd": _splits("load_sgd", ("train", "dev")),
}


def _whole(name: str) -> Callable[[Any], None]:
    def download(root: Any) -> None:
        from glassnet.data import datasets

        getattr(datasets, f"load_{name}")(root=root, download=True)

    return download


_PRETRAINED = ("the published CIFAR-10 ResNet-20 and ResNet-56 weights (torch files, akamaster/pytorch_resnet_cifar10, "
               "BSD-2) for glassnet predict and the lab")


def _pretrained(root: Any) -> None:
    from glassnet.zoo.pretrained import PRETRAINED, pretrained_cifar_resnet

    for name in PRETRAINED:
        pretrained_cifar_resnet(name, root=root, download=True)


# the folder under the data home where a data set's loader looks, where it is not the catalog name
_FOLDERS = {"neko": "aozora"}


def _status(name: str, description: str, home: Any) -> str:
    """Where data set ``name`` lives and which of its files are there (embedded sets need none)."""
    from glassnet.data import dataset_dir

    if "embedded" in description:
        return "embedded in an installed package, nothing to download"
    folder = dataset_dir(_FOLDERS.get(name, name), home)
    entries = _entries(folder) if folder.is_dir() else []
    if not entries:
        return f"not downloaded ({folder})"
    shown = ", ".join(entries[:6]) + (f", ... ({len(entries)} entries)" if len(entries) > 6 else "")
    return f"{folder}: {shown}"


def _visible(folder: Any) -> list[Any]:
    return sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)


def _entries(folder: Any) -> list[str]:
    """The files of ``folder``, then its subfolders as ``name/ (n files)``: a set split into folders (sgd's
    ``train/`` and ``dev/``) shows its files too. An empty subfolder does not count as data."""
    files = [p.name for p in _visible(folder) if p.is_file()]
    counts = {p.name: sum(q.is_file() for q in _visible(p)) for p in _visible(folder) if p.is_dir()}
    return files + [f"{d}/ ({n} file{'s' if n != 1 else ''})" for d, n in counts.items() if n]


@cli.group("data", invoke_without_command=True)
@click.option("--data-dir", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Data home to inspect [default: $GLASSNET_DATA or ~/.cache/glassnet].")
@click.pass_context
def data_group(ctx: click.Context, data_dir: str | None) -> None:
    """List the data sets, the cache folder and the files present (with no sub-command), or download one."""
    if ctx.invoked_subcommand is None:
        from glassnet.data import data_home
        from glassnet.data.datasets import available

        click.echo(f"data home: {data_home(data_dir)}  (change it with --data-dir or $GLASSNET_DATA)")
        for name, description in {**available(), "pretrained": _PRETRAINED}.items():
            click.echo(f"  {name:20s} {description}\n  {'':20s} {_status(name, description, data_dir)}")


@data_group.command("download")
@click.argument("name")
@click.option("--data-dir", "--root", "root", type=click.Path(file_okay=False), default=None,
              help="Data home [default: $GLASSNET_DATA or ~/.cache/glassnet]; --root is the old name.")
def download_command(name: str, root: str | None) -> None:
    """Download data set NAME into the cache, checking every file's sha256."""
    from glassnet.data import dataset_dir, datasets

    if name == "pretrained":
        _pretrained(root)
        click.echo(f"pretrained: ready in {dataset_dir('pretrained', root)}")
        return
    names = datasets.available()
    if name not in names:
        raise ConfigError(f"data download: unknown data set {name!r}; choose one of {', '.join(names)}, pretrained")
    action = DOWNLOADS.get(name)
    if action is None:
        if "embedded" in names[name] or not hasattr(datasets, f"load_{name}"):
            click.echo(f"{name}: embedded in the package, nothing to download")
            return
        action = _whole(name)
    action(root)
    click.echo(f"{name}: ready in {dataset_dir(name, root)}")
