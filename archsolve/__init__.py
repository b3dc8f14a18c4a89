"""archsolve: design convolutional networks by solving for their shapes.

The Python API (:mod:`archsolve.api`): :func:`load`, :func:`loads` and :func:`from_torch`
give a :class:`Net`, with ``check``, ``solve``, ``inputs`` and ``graph``.

>>> import archsolve as A
>>> report = A.load("specs/unet-original.yaml").check()
>>> report.ok, report.output
(True, (2, 388, 388))
>>> A.check_file("specs/unet-original.yaml").output
(2, 388, 388)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Net", "check_file", "check_spec", "from_torch", "load", "load_spec", "load_text", "loads", "plan",
           "__version__"]

# where each name lives: imported on first use, so `import archsolve` stays cheap for the CLI
_LAZY = {
    "Net": "archsolve.api", "load": "archsolve.api", "loads": "archsolve.api", "from_torch": "archsolve.api",
    "plan": "archsolve.api",
    "check_file": "archsolve.check.api", "check_spec": "archsolve.check.api",
    "load_spec": "archsolve.spec.load", "load_text": "archsolve.spec.load",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archsolve' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
