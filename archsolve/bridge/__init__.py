"""The bridge from PyTorch: read an ``nn.Module`` back as a spec (``archsolve import``).

A model is traced with ``torch.fx`` (symbolically: no forward pass on data, no weights
read) and each node of its graph becomes a layer, by the op table's torch facts
(:mod:`archsolve.ops.torchform`).  The spec is written as YAML text and loaded like any
other, so an imported spec is an ordinary spec.  torch is imported inside the functions
only: the rest of archsolve runs without it.

Example::

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> spec = spec_from_module(net, (3, 32, 32), name="tiny")
    >>> [layer.name for layer in spec.layers]
    ['conv_0', 'relu_1', 'maxpool_2']
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Mapping, Sequence
from typing import Any

from archsolve.bridge import cache as _cache
from archsolve.bridge.fxmap import spec_text
from archsolve.bridge.target import build_module
from archsolve.errors import UsageError
from archsolve.limits import DEFAULT_LIMITS, Limits
from archsolve.spec.model import Spec

DEFAULT_DOMAIN = (1, 4096)


def _torch_needed() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("importing a PyTorch model needs torch: pip install archsolve[torch]") from None


def spec_from_module(module: Any, input: Sequence[int | str], *, name: str | None = None,
                     domain: tuple[int, int] = DEFAULT_DOMAIN, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """The spec of an ``nn.Module`` for an input ``[C, *spatial]``; a name in ``input`` is a
    var ranging over ``domain``.

        >>> from torch import nn
        >>> spec = spec_from_module(nn.Sequential(nn.Conv1d(2, 4, 3)), ("2", "L"))
        >>> spec.name, [layer.op for layer in spec.layers]
        ('Sequential', ['conv'])
    """
    from archsolve.spec.load import load_text

    _torch_needed()
    text = spec_text(module, tuple(input), name=name or type(module).__name__, domain=domain)
    return load_text(text, f"<import {name or type(module).__name__}>", limits)


def import_text(target: str, input: Sequence[int | str], *, kwargs: Mapping[str, Any] | None = None,
                domain: tuple[int, int] = DEFAULT_DOMAIN, cache: bool = False) -> str:
    """The spec text of ``path/file.py:NAME`` or ``package.module:NAME`` (NAME a module class or
    a function returning a module, called with ``kwargs``): what ``archsolve import`` writes.
    ``cache``: reuse the text of an unchanged model, and keep this one (:mod:`archsolve.bridge.cache`;
    the command line's default).

        >>> import_text("torch.nn:ReLU", (3, 8, 8)).splitlines()[0]
        'name: ReLU'
    """
    from archsolve.spec.load import load_text

    text = _model_text(target, input, kwargs=kwargs, domain=domain, cache=cache)
    load_text(text, f"<import {target}>")  # what import writes is a spec that loads
    return text


def load_model(target: str, input: Sequence[int | str], *, kwargs: Mapping[str, Any] | None = None,
               domain: tuple[int, int] = DEFAULT_DOMAIN, limits: Limits = DEFAULT_LIMITS, cache: bool = False) -> Spec:
    """The spec of ``target`` (as :func:`import_text`), loaded within ``limits`` (``--max-layers``...).

        >>> [layer.op for layer in load_model("torch.nn:ReLU", (3, 8, 8)).layers]
        ['relu']
    """
    from archsolve.spec.load import load_text

    return load_text(_model_text(target, input, kwargs=kwargs, domain=domain, cache=cache),
                     f"<import {target}>", limits)


def _model_text(target: str, input: Sequence[int | str], *, kwargs: Mapping[str, Any] | None,
                domain: tuple[int, int], cache: bool) -> str:
    where = _cache.folder() if cache else None
    key = _cache.entry_key(target, input, dict(kwargs or {}), domain) if where is not None else None
    if where is not None and key is not None:
        kept = _cache.lookup(where, key)
        if kept is not None:
            return kept
    _torch_needed()
    import torch

    module = build_module(target, dict(kwargs or {}))
    text = spec_text(module, tuple(input), name=target.rpartition(":")[2], domain=domain)
    if where is not None and key is not None:
        path = target.rpartition(":")[0]
        model = os.path.abspath(path) if path.endswith(".py") else None
        files = _cache.loaded_files([*(os.path.join(p, "") for p in torch.__path__),
                                     os.path.join(sysconfig.get_paths()["stdlib"], "")])
        _cache.store(where, key, text, [*files, *([model] if model else [])], model=model)
    return text
