"""Finding the model ``import`` reads: ``path/file.py:NAME`` or ``package.module:NAME``.

Loading the file runs it, as Python runs any file it imports: that is what ``import`` is for
(a spec file, by contrast, never runs code).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any

from archsolve.errors import UsageError
from archsolve.spec.load import suggest


def _where(exc: BaseException, path: str) -> str:
    """The line of the user's file where ``exc`` came from (its last frame there)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return f"{path}:{frames[-1].lineno}: " if frames else ""


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    name = f"archsolve_import_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up there
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 -- the user's code failed: say where, not a traceback
        del sys.modules[name]
        raise UsageError(f"{_where(exc, str(path))}running {path} failed: {type(exc).__name__}: {exc}") from None
    return module


def build_module(target: str, kwargs: dict[str, Any]) -> Any:
    """The ``nn.Module`` that ``target`` names, built with ``kwargs``.

        >>> type(build_module("torch.nn:Flatten", {})).__name__
        'Flatten'
    """
    from torch import nn

    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise UsageError(f"{target!r}: expected path/to/file.py:NAME or package.module:NAME")
    if where.endswith(".py") or "/" in where or "\\" in where:
        module = _load_file(Path(where))
        origin = where
    else:
        try:
            module = importlib.import_module(where)
        except Exception as exc:  # noqa: BLE001 -- a missing or failing module is the user's to fix
            raise UsageError(f"{target}: cannot import {where}: {type(exc).__name__}: {exc}") from None
        origin = getattr(module, "__file__", None) or where
    if not hasattr(module, name):
        names = [n for n in vars(module) if not n.startswith("_")]
        raise UsageError(f"{target}: {where} has no {name!r}{suggest(name, names)}")
    factory = getattr(module, name)
    if not callable(factory):
        raise UsageError(f"{target}: {name} is not an nn.Module class or a function returning one")
    import torch

    try:
        # on the meta device: tracing needs the modules' hyperparameters, not their weights, so
        # none are allocated or initialised (ResNet-152's 60M would take a third of a second)
        with torch.device("meta"):
            built = factory(**kwargs)
    except Exception as exc:  # noqa: BLE001 -- the user's constructor failed: say where
        raise UsageError(f"{_where(exc, str(origin))}{target}: building {name}(**{kwargs!r}) failed: "
                         f"{type(exc).__name__}: {exc}") from None
    if not isinstance(built, nn.Module):
        raise UsageError(f"{target}: {name}(...) gave a {type(built).__name__}, not an nn.Module")
    return built
