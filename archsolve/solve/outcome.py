"""What ``solve`` is asked and what it answers, as values: the question (:class:`SolveMode`),
the answer's status (:class:`SolveStatus`) and, for an unsatisfiable spec, the conflict
(:class:`Conflict`) with the edits that would lift it (:class:`Relaxation`).

The exact search, the Z3 path, the relaxations and the API all speak these, so they live
below all four.  The statuses are plain enums, not strings: a comparison with a leftover
``"sat"`` is always False, where a string enum would let it pass unseen.

Example::

    >>> SolveStatus("unsat") is SolveStatus.UNSAT, SolveStatus.UNSAT == "unsat"
    (True, False)
    >>> Conflict(layers=("up",), constraints=("up.L == 30",), message="up cannot meet up.L == 30").to_json()
    {'layers': ['up'], 'constraints': ['up.L == 30'], 'message': 'up cannot meet up.L == 30', 'relaxations': []}
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from archsolve.spec.model import Spec

# --max-combinations above this is capped: the search ranks a layer's combinations and Z3's
# tables keep each one (a few hundred bytes apiece), so a layer of 10^9 filled the memory
MAX_COMBINATIONS = 1_000_000


def combination_limit(spec: Spec) -> int:
    """The most combinations one layer's unknowns may have: ``--max-combinations``, capped at
    :data:`MAX_COMBINATIONS` so that a layer's combinations always fit in memory.

        >>> from archsolve.limits import Limits
        >>> from archsolve.spec.load import load_text
        >>> combination_limit(load_text("{input: [1, 8], layers: [{op: relu}]}", limits=Limits(combinations=10**12)))
        1000000
    """
    return min(spec.limits.combinations, MAX_COMBINATIONS)


def combination_text(spec: Spec) -> str:
    """The limit in words, for a refusal: ``"the limit is 200,000"``, with the cap named when
    ``--max-combinations`` asked for more."""
    limit = combination_limit(spec)
    if limit < spec.limits.combinations:
        return f"the limit is {limit:,}: --max-combinations is capped there, as more would not fit in memory"
    return f"the limit is {limit:,}"


class Engine(enum.Enum):
    """Who answers (``auto``): the size walk where the network's shape allows it, else the
    exact search first and Z3 for what it cannot finish; or one of them alone (the tests
    compare them; the walk and the search alone answer ``unknown`` where they do not apply
    or give up)."""

    AUTO = "auto"
    DP = "dp"
    SEARCH = "search"
    Z3 = "z3"


class SolveMode(enum.Enum):
    """The question: any one solution, every solution (up to a limit), or the optimum."""

    FIRST = "first"
    ALL = "all"
    OPTIMUM = "opt"


class SolveStatus(enum.Enum):
    """The answer; its value is what ``solve --json`` writes as ``status``."""

    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"  # the time ran out, or the question was out of reach


@dataclass(frozen=True, kw_only=True)
class Relaxation:
    """One edit that gives a solution.  ``edit``: ``{"remove": ["domains.stride"]}``,
    ``{"widen": ["domains.amount"]}``, ``{"open": ["upB.kernel"]}`` or ``{"raise": ["memory"]}``;
    ``was``: what the spec says now (``{"stride": "1..2"}``, a default ``{"amount": "0..64"}``,
    ``{"upB.kernel": 4}``, ``{"memory": "memory <= 10 KiB"}``);
    ``default``: a removed override's default domain; ``domains``: the ``domains:`` entries a
    widening adds (``{"amount": {"min": 0, "max": 512}}``); ``to``: a raised budget's constraint
    (``{"memory": "memory <= 274KiB"}``); ``values``: the best solution then
    (by the spec's objective); ``message``: it in words.

        >>> widen = Relaxation(edit={"widen": ["domains.amount"]}, was={"amount": "0..64"}, default={},
        ...                    domains={"amount": {"min": 0, "max": 512}}, values={"p.amount": 512}, message="")
        >>> widen.to_json()["domains"]
        {'amount': {'min': 0, 'max': 512}}
    """

    edit: dict[str, list[str]]
    was: dict[str, Any]
    default: dict[str, str]
    values: dict[str, int]
    message: str
    domains: dict[str, dict[str, int]] = field(default_factory=dict)
    to: dict[str, str] = field(default_factory=dict)  # a raised budget: the constraint as it then reads

    def to_json(self) -> dict[str, Any]:
        return {**self.edit, "was": self.was, **({"default": self.default} if self.default else {}),
                **({"domains": self.domains} if self.domains else {}), **({"to": self.to} if self.to else {}),
                "values": self.values, "message": self.message}


@dataclass(frozen=True, kw_only=True)
class Conflict:
    """Why there is no solution: the layers and constraints in conflict, in words, and the
    edits that would give one (added by :mod:`~archsolve.solve.relax` once it is explained)."""

    layers: tuple[str, ...]
    constraints: tuple[str, ...]
    message: str
    relaxations: tuple[Relaxation, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "constraints": list(self.constraints), "message": self.message,
                "relaxations": [r.to_json() for r in self.relaxations]}
