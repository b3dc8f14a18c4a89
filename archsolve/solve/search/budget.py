"""How long a search may go on: its deadline, its memo's size, and a quick try's CPU time and pace.

``solve`` first gives the search a quick try (:data:`archsolve.solve.api.SEARCH_BUDGET` of
CPU time) and hands the question to Z3 when it runs out.  A quick try also gives up early
when its walk has found nothing and, at the pace it has kept, would take more than
:data:`HOPELESS_S`: the walk reports the share of its tree behind it (:func:`share`).

Example::

    >>> import time
    >>> budget = Budget(deadline=time.perf_counter() + 1.0, memo={})
    >>> for _ in range(1000):
    ...     budget.tick()
    >>> budget.nodes
    1000
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sized

from archsolve.errors import interrupted

MAX_MEMO = 2_000_000  # remembered results and held combinations (about 0.5 GB) before the search gives up
# A quick try (solve's first, before Z3) also gives up early when, found nothing yet, its pace
# says the walk would take more than HOPELESS_S; it is judged once it has run JUDGE_AFTER_S.
HOPELESS_S = 10.0
JUDGE_AFTER_S = 0.05


class OutOfBudget(Exception):
    """The search ran past its time budget, or holds as much as it may in memory; the
    message says which."""


class Budget:
    """A search's budget: ``deadline`` (``time.perf_counter()``), ``quick`` (a quick try's end
    in this process's CPU time; None: no quick try), and the ``memo`` whose size it bounds.
    A walk calls :meth:`tick` for every node; it raises :class:`OutOfBudget`."""

    def __init__(self, *, deadline: float, quick: float | None = None, memo: Sized) -> None:
        self.deadline = deadline
        self.quick = quick
        self.memo = memo
        self.nodes = 0
        self.progress: Callable[[], float | None] | None = None  # the running walk's share behind it
        self.walk_cpu = 0.0  # the CPU time its walk started at

    def start(self, progress: Callable[[], float | None]) -> None:
        """A walk begins; ``progress`` gives the share of its tree behind it, or None once it
        has found something."""
        self.progress = progress
        self.walk_cpu = time.process_time()

    def extend(self, deadline: float) -> None:
        """Go on until ``deadline``, no longer as a quick try (a count past a listing's limit)."""
        self.deadline = deadline
        self.quick = None

    def tick(self) -> None:
        self.nodes += 1
        if not self.nodes & 255:
            self.check()

    def check(self, holding: int = 0) -> None:
        """Raise :class:`OutOfBudget` now if the time or the memory is spent (a walk's
        :meth:`tick` calls it every 256 nodes); ``holding``: items held that the memo does
        not count yet."""
        interrupted()
        if time.perf_counter() > self.deadline or (self.quick is not None and self.hopeless()):
            raise OutOfBudget("the time ran out")
        if len(self.memo) + holding > MAX_MEMO:
            raise OutOfBudget(f"the search holds {MAX_MEMO:,} results, as many as fit in its memory budget")

    def hopeless(self) -> bool:
        """Whether a quick try should hand over now: its CPU time is spent (CPU, not wall
        time: a busy machine must not push a search that would finish over to Z3), or it has
        found nothing yet and, at the pace it has kept, its walk would take more than
        HOPELESS_S.  The share done counts a step's combinations before the current one, so
        a walk whose later branches end early looks slower than it is: it is judged only
        until it finds something (the bound then cuts, and a listing stops at its limit)."""
        assert self.quick is not None
        now = time.process_time()
        if now > self.quick:
            return True
        spent = now - self.walk_cpu
        if self.progress is None or spent < JUDGE_AFTER_S:
            return False
        done = self.progress()
        return done is not None and spent > HOPELESS_S * done


def share(drawn: list[int], widths: list[int]) -> float:
    """The share of a walk's tree behind it: at each open step (width > 0), the combinations
    drawn before the current one, each worth one branch's share of the steps above.

        >>> share([3, 2], [4, 10])  # past two of four, and one of the third's ten
        0.525
    """
    done, scale = 0.0, 1.0
    for k, w in zip(drawn, widths, strict=True):
        if w:
            done += scale * min(max(k - 1, 0), w) / w
            scale /= w
    return done
