"""Fixtures for glassnet.data tests: the shared real-data folder (integration tests skip without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository, else ``/work/shared/data``; skip when neither exists."""
    for candidate in (REPO_ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    pytest.skip("shared data folder not found (../shared/data or /work/shared/data)")
