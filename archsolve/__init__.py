"""archsolve: design convolutional networks by solving for their shapes.

>>> from archsolve import check_file
>>> report = check_file("specs/unet-original.yaml")
>>> report.ok, report.output
(True, (2, 388, 388))
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["check_file", "check_spec", "load_spec", "load_text", "__version__"]


def __getattr__(name: str) -> Any:
    # lazy, so `import archsolve` stays cheap for the CLI
    if name in ("check_file", "check_spec"):
        from archsolve.check import api as check

        return getattr(check, name)
    if name in ("load_spec", "load_text"):
        from archsolve.spec import load as spec

        return getattr(spec, name)
    raise AttributeError(name)
