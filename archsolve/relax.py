"""What would make an unsatisfiable spec solvable: ``domains:`` overrides to drop.

A spec often narrows a field's ``"?"`` (``domains: {stride: {min: 1, max: 2}}``) and then
asks for more than the narrowed layers can give.  For each override of a field that the
layers in conflict leave unknown, this module solves the spec again without it (the field
then takes its default domain, CONTRACT §1), and offers each override whose removal alone
gives a solution; when no single one does, all of them at once.  Every offer is a real
solve of the changed spec, so its answer was verified like any other.

Example::

    >>> [r.removed for r in relaxations(spec, ["upA", "upB"], None, 3.0)]   # doctest: +SKIP
    [('stride',)]
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from .errors import ArchsolveError
from .spec import Spec, load_document
from .yamlio import Document

RELAX_SECONDS = 3.0  # at most, for every try together


@dataclass(frozen=True)
class Relaxation:
    """Dropping the ``domains:`` overrides of ``removed`` gives a solution: ``values`` (the
    best by the spec's objective); ``was``/``default``: the domains before and after;
    ``message``: it in words, with the values of the conflicting layers' unknowns."""

    removed: tuple[str, ...]
    was: dict[str, str]
    default: dict[str, str]
    values: dict[str, int]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"remove": [f"domains.{f}" for f in self.removed], "was": self.was, "default": self.default,
                "values": self.values, "message": self.message}


def _message(removed: tuple[str, ...], was: dict[str, str], default: dict[str, str], values: dict[str, int],
             named: set[str]) -> str:
    """``it solves without domains.stride (1..2; default 1..4): upA.stride = 2, ...``"""
    what = " and ".join(f"domains.{f} ({was[f]}; default {default[f]})" for f in removed)
    shown = [f"{u} = {v}" for u, v in values.items() if u.rsplit(".", 1)[0] in named]
    return f"it solves without {what}: {', '.join(shown or [f'{u} = {v}' for u, v in values.items()])}"


def relaxations(spec: Spec, layers: list[str], minimize: str | None, seconds: float) -> list[Relaxation]:
    """The ``domains:`` overrides whose removal makes ``spec`` solvable (see the module
    docstring); ``layers``: the layers in conflict; at most ``seconds`` in all."""
    from .solve import SolverBug, solve_spec

    if spec.document is None or not isinstance(spec.document.data, dict) or not spec.domains:
        return []
    named = set(layers)
    fields = sorted({u.field.split("[")[0] for u in spec.unknowns.values()
                     if u.layer in named and u.field.split("[")[0] in spec.domains})
    deadline = time.monotonic() + seconds
    found: list[Relaxation] = []
    tries = [(f,) for f in fields] + ([tuple(fields)] if len(fields) > 1 else [])
    for group in tries:
        left = deadline - time.monotonic()
        if left <= 0 or (found and len(group) > 1):
            break
        data = copy.deepcopy(spec.document.data)
        for f in group:
            del data["domains"][f]
        if not data["domains"]:
            del data["domains"]
        try:
            relaxed = load_document(Document(data, spec.document.file, spec.document.marks))
            res = solve_spec(relaxed, minimize=minimize, timeout=left, explain=False)
        except SolverBug:
            raise  # a wrong answer is never an offer
        except ArchsolveError:
            continue  # the spec needs those overrides (a var's domain names them, ...)
        if res.status != "sat" or not res.solutions:
            continue
        default = {}
        for f in group:
            doms = sorted({str(u.domain) for u in relaxed.unknowns.values()
                           if u.layer in named and u.field.split("[")[0] == f})
            default[f] = " or ".join(doms)
        was = {f: str(spec.domains[f]) for f in group}
        values = res.solutions[0].values
        found.append(Relaxation(group, was, default, values, _message(group, was, default, values, named)))
    return found


__all__ = ["relaxations", "Relaxation", "RELAX_SECONDS"]
