"""The MPI world of a data-parallel run: rank, world size, and a failure on one rank that ends every rank.

mpi4py is imported here and only here, on the first call of :func:`init`, so
``import glassnet`` (and every single-process run) never loads MPI.

Failure handling (DESIGN.md: a run never hangs silently): a rank that raises
calls ``MPI_Abort`` on ``COMM_WORLD`` instead of exiting normally, because a
normal exit would leave the other ranks blocked in their next ``Allreduce``
forever. Abort makes ``mpiexec`` kill every rank and exit with a non-zero
status. It is installed twice: as the ``with`` block of :class:`World`
(``with init() as world: ...``) and as ``sys.excepthook`` (an uncaught
exception in a script). A rank killed from outside (``kill -9``, out of
memory) is seen by MPICH's process manager (hydra), which then ends the job
the same way. A rank that stops without dying (an endless loop, a deadlock)
is caught by the optional watchdog: ``init(timeout=seconds)`` makes every
gradient exchange a non-blocking ``Iallreduce`` polled against that deadline,
which raises :class:`~glassnet.distributed.DistributedError` (and so aborts)
when it passes.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

from glassnet.checks import check_number
from glassnet.errors import GlassnetError

__all__ = ["World", "init", "DistributedError", "import_mpi"]

EXTRA = "pip install 'glassnet[mpi]'"


class DistributedError(GlassnetError, RuntimeError):
    """A data-parallel run cannot go on: MPI is missing, or another rank stopped answering."""


def import_mpi() -> Any:
    """The ``mpi4py.MPI`` module (importing it initialises MPI).

    Raises:
        DistributedError: mpi4py (or the MPI library under it) is not installed, naming the extra.
    """
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"glassnet.distributed needs mpi4py and an MPI library ({e}); "
                               f"install them with: {EXTRA}") from None
    return MPI


class World:
    """The ranks of one run: ``rank`` (0 .. size - 1) and ``size`` (the world size) of ``comm``.

    Use it as a context manager: an exception leaving the ``with`` block on any
    rank prints ``rank r/size: <traceback>`` to stderr and calls ``MPI_Abort``,
    so every rank ends instead of waiting for the one that failed.

    Attributes:
        comm: the mpi4py communicator (``MPI.COMM_WORLD``).
        rank: this process's rank; rank 0 alone prints and writes files.
        size: the number of ranks (the world size).
        timeout: seconds a gradient exchange may wait for the other ranks, or None (block).
    """

    def __init__(self, comm: Any, timeout: float | None = None) -> None:
        self.comm = comm
        self.rank, self.size = int(comm.Get_rank()), int(comm.Get_size())
        self.timeout = timeout

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that prints the progress bar and writes checkpoints, plots and metrics."""
        return self.rank == 0

    def abort(self, exc: BaseException | None = None, code: int = 1) -> None:
        """Print ``exc`` with this rank's number, then end every rank with ``MPI_Abort(code)``."""
        if exc is not None:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            sys.stderr.write(f"rank {self.rank}/{self.size}: {text}")
        sys.stderr.write(f"rank {self.rank}/{self.size}: aborting every rank (MPI_Abort {code})\n")
        sys.stderr.flush()
        sys.stdout.flush()
        self.comm.Abort(code)

    def agree(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on every rank; if it raises a glassnet error on any rank, every rank raises one.

        For checks whose outcome can differ between ranks (each reads its own view of a folder, as
        ``--resume`` does): a rank that failed alone would leave the others waiting in their next
        collective call. One ``allgather`` of the outcomes makes them agree: a failing rank raises its
        own error; the others raise a :class:`DistributedError` naming the failed rank and its message.
        Other exceptions propagate as they are (the ``with`` block aborts then).

        Returns:
            ``fn(*args)`` (this rank's value) when it succeeded on every rank.
        """
        value, error = None, None
        try:
            value = fn(*args)
        except GlassnetError as e:
            error = e
        failures = self.comm.allgather(None if error is None else str(error))
        if error is not None:
            raise error
        for r, message in enumerate(failures):
            if message is not None:
                raise DistributedError(f"rank {r}/{self.size} failed: {message}")
        return value

    def __enter__(self) -> World:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and self.size > 1:
            self.abort(exc, code=130 if isinstance(exc, KeyboardInterrupt) else 1)
        return False

    def __repr__(self) -> str:
        return f"World(rank={self.rank}, size={self.size}, timeout={self.timeout})"


_WORLD: World | None = None


def init(timeout: float | None = None) -> World:
    """Join the MPI job this process was started in (``mpiexec -n 2 python train.py``); returns its :class:`World`.

    Started without ``mpiexec``, the world has one rank (MPI's singleton start). The first call imports
    mpi4py and, with more than one rank, installs the abort-on-uncaught-exception hook; a later call
    returns the same World (a new ``timeout`` replaces the old one).

    Args:
        timeout: seconds each gradient exchange may wait for the slowest rank before every rank is aborted
            (> 0), or None to block (a rank that *dies* still ends the job: see the module docstring).

    Raises:
        DistributedError: mpi4py is not installed (the message names the ``mpi`` extra).
        ConfigError: a timeout that is not a number > 0.
    """
    global _WORLD
    if timeout is not None:
        timeout = check_number(timeout, "timeout", "distributed.init", min=0.0, min_open=True)
    MPI = import_mpi()
    if _WORLD is None:
        _WORLD = World(MPI.COMM_WORLD, timeout)
        if _WORLD.size > 1:
            _install_excepthook(_WORLD)
    _WORLD.timeout = timeout
    return _WORLD


def _install_excepthook(world: World) -> None:
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        world.abort(None, code=1)

    sys.excepthook = hook
