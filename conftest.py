"""The docstring examples (``--doctest-modules`` over archsolve/) name the bundled specs by
paths relative to the repository root: they run there, wherever pytest was started."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _examples_at_the_root(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if Path(str(request.node.path)).is_relative_to(ROOT / "archsolve"):
        monkeypatch.chdir(ROOT)
