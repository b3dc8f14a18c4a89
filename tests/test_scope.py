"""Which edits can clear a mismatched merge (archsolve.check.scope): exact answers on small
networks, and a brute force that every "cannot" is true -- no value of the edited fields, and
no input size, makes the network valid."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsolve.check.api import check_spec
from archsolve.check.scope import scope_of
from archsolve.shapes.graph import build_network
from archsolve.shapes.propagate import propagate
from archsolve.spec.load import load_text

from .conftest import examples


def _scope(text: str):
    return scope_of(propagate(build_network(load_text(text)), {}))


def _branches(op: str, convs: list[tuple[int, int, int]], size: int = 8, extra: str = "") -> str:
    """1D convs of the input (kernel, stride, padding), one channel each, merged by ``op``."""
    lines = [f"input: [1, {size}]", "layers:"]
    lines += [f"  - {{name: b{i}, op: conv, out: 1, kernel: {k}, stride: {s}, padding: {p}, from: input}}"
              for i, (k, s, p) in enumerate(convs)]
    lines.append(f"  - {{name: m, op: {op}, from: [{', '.join(f'b{i}' for i in range(len(convs)))}]}}{extra}")
    return "\n".join(lines) + "\n"


THREE = _branches("add", [(1, 1, 0), (1, 1, 1), (1, 1, 2)])  # sizes 8, 10, 12


@pytest.mark.parametrize(("text", "edited", "helps"), [
    (THREE, {"b0"}, False),            # 10 and 12 stay apart
    (THREE, {"b1"}, False),
    (THREE, {"b1", "b2"}, True),       # both can become 8
    (THREE, {"m"}, True),              # the merge's own fields: no proof
    (_branches("add", [(1, 1, 0), (1, 1, 1)]), {"b1"}, True),
    (_branches("concat", [(1, 1, 0), (1, 1, 1), (1, 1, 1)]), {"b0"}, True),    # 10 and 10 agree
    (_branches("concat", [(1, 1, 0), (1, 1, 1), (1, 1, 2)]), {"b2"}, False),
    # a broadcast: [1, 1] agrees with anything, so b0 and b2 (8 and 10) are the pair apart
    (_branches("mul", [(1, 1, 0), (8, 1, 0), (1, 1, 1)]), {"b1"}, False),
    (_branches("mul", [(1, 1, 0), (8, 1, 0), (1, 1, 1)]), {"b2"}, True),
])
def test_an_edit_helps_only_where_the_branches_it_leaves_agree(text: str, edited: set[str], helps: bool) -> None:
    assert _scope(text).helps(edited) is helps


@pytest.mark.parametrize(("text", "input_helps"), [
    (THREE, False),                                                     # n, n + 2, n + 4
    (_branches("add", [(1, 1, 0), (1, 2, 0)]), True),                   # n and (n + 1) // 2: n = 1
    (_branches("add", [(3, 1, 1), (1, 1, 0)]), True),                   # n and n: the merge is fine
    (_branches("concat", [(1, 1, 0), (3, 1, 0)]), False),               # n and n - 2
    # (n + 1) // 2 and (n + 3) // 2 are apart by 1 too, but two floors are past the proof:
    # the input sizes are tried, as before
    (_branches("add", [(1, 2, 0), (1, 2, 1)]), True),
])
def test_an_input_size_helps_unless_two_branches_differ_by_a_constant(text: str, input_helps: bool) -> None:
    assert _scope(text).input_helps is input_helps


def test_pairs_need_to_reach_all_but_one_branch_apart() -> None:
    scope = _scope(_branches("add", [(1, 1, p) for p in range(5)]))
    (merge,) = scope.merges
    assert merge.apart == {"b0", "b1", "b2", "b3", "b4"}
    one_each = [scope.reach({f"b{i}"}) for i in range(5)]
    assert not scope.pairs_may_help(one_each)                 # 2 of 5 reached: 3 left apart
    assert scope.pairs_may_help([*one_each, scope.reach({"b1", "b2", "b3"})])
    assert scope.pairs_may_help([scope.reach({"input"})])     # the input reaches every branch


def test_a_hundred_mismatched_branches_get_the_merge_fixes_and_no_trials() -> None:
    # each edit of one branch leaves 98 apart, and the input moves them all together: no
    # repair, no nearest size, only the two fixes that change every branch at once
    report = check_spec(load_text(_branches("add", [(1, 1, p) for p in range(100)], size=16)))
    (error,) = [p for p in report.problems if p.severity.value == "error"]
    assert [f.split(":")[0] for f in error.fixes] == [
        "crop " + " and ".join(f"b{i}" for i in range(1, 100)) + " to b0",
        "or pad " + " and ".join(f"b{i}" for i in range(99)) + " to b99's size"]
    assert report.repairs == []


@st.composite
def _merges(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, int]], int]:
    convs = draw(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(0, 1)), min_size=2, max_size=4))
    return draw(st.sampled_from(["add", "concat"])), convs, draw(st.integers(4, 9))


@settings(max_examples=examples(60), deadline=None)
@given(_merges())
def test_every_cannot_is_true(case: tuple[str, list[tuple[int, int, int]], int]) -> None:
    op, convs, size = case
    scope = _scope(_branches(op, convs, size))

    def valid(edits: dict[int, tuple[int, int, int]], n: int = size) -> bool:
        text = _branches(op, [edits.get(i, c) for i, c in enumerate(convs)], n)
        return propagate(build_network(load_text(text)), {}).ok

    fields = list(itertools.product(range(1, 4), range(1, 3), range(0, 2)))
    for i in range(len(convs)):
        if not scope.helps({f"b{i}"}):
            assert not any(valid({i: f}) for f in fields), (op, convs, size, i)
    for i, j in itertools.combinations(range(len(convs)), 2):
        if not scope.helps({f"b{i}", f"b{j}"}):
            assert not any(valid({i: f, j: g}) for f in fields for g in fields), (op, convs, size, i, j)
    if not scope.input_helps:
        assert not any(valid({}, n) for n in range(1, 40)), (op, convs)


TWO_MERGES = """
input: [1, 8]
layers:
  - {name: a, op: conv, out: 1, kernel: 3, padding: 0, from: input}
  - {name: b, op: conv, out: 1, kernel: 3, padding: 1, from: input}
  - {name: m1, op: add, from: [a, b]}
  - {name: c, op: conv, out: 1, kernel: 3, padding: 0, from: input}
  - {name: d, op: conv, out: 1, kernel: 3, padding: 1, from: input}
  - {name: m2, op: add, from: [c, d]}
"""


def test_a_fix_of_one_merge_is_judged_by_that_merge_alone() -> None:
    # each merge's padding fix clears it, though the other merge stays broken (found in review)
    report = check_spec(load_text(TWO_MERGES))
    fixes = {p.layer: p.fixes[-1] for p in report.problems}
    assert fixes == {"m1": "set a.padding to 1 (so a gives 8)", "m2": "set c.padding to 1 (so c gives 8)"}


def test_a_layer_the_file_does_not_name_is_no_proof() -> None:
    # the unnamed second conv loads as conv2_ (a layer before it is conv2): the single edits
    # of it that repair the merge are found, and named as the table names it (found in review:
    # they were pruned, and named conv2)
    report = check_spec(load_text("""
input: [1, 8]
layers:
  - {name: conv2, op: conv, out: 1, kernel: 3, padding: 1, from: input}
  - {op: conv, out: 1, kernel: 3, padding: 0, from: input}
  - {name: x, op: conv, out: 1, kernel: 3, padding: 1, from: input}
  - {name: m, op: add, from: [conv2, conv2_, x]}
"""))
    assert [r["changes"] for r in report.repairs] == [{"conv2_.kernel": 1}, {"conv2_.padding": 1}]


@st.composite
def _networks(draw: st.DrawFn) -> str:
    """One or two merges (add or concat) of 1D conv branches, some branches shared."""
    lines = [f"input: [1, {draw(st.integers(5, 10))}]", "layers:"]
    names: list[str] = []
    for i in range(draw(st.integers(2, 5))):
        k, s, p = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 1))
        lines.append(f"  - {{name: b{i}, op: conv, out: 1, kernel: {k}, stride: {s}, padding: {p}, from: input}}")
        names.append(f"b{i}")
    for j in range(draw(st.integers(1, 2))):
        picked = draw(st.lists(st.sampled_from(names), min_size=2, max_size=4))
        lines.append(f"  - {{name: m{j}, op: {draw(st.sampled_from(['add', 'concat']))}, from: [{', '.join(picked)}]}}")
    return "\n".join(lines) + "\n"


@settings(max_examples=examples(60), deadline=None)
@given(_networks())
def test_the_scope_only_saves_time(text: str) -> None:
    """The report (problems, their fixes, the repairs) is the same as when every edit is
    tried: what the scope rules out would have been refused by its trial anyway."""
    from archsolve.check import repair, scope

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(repair, "REPAIR_SECONDS", 30.0)  # no trial cut short by the clock either way
        pruned = check_spec(load_text(text))
        mp.setattr(scope.Scope, "helps", lambda self, *a, **k: True)
        mp.setattr(scope.Scope, "pairs_may_help", lambda self, fed: True)
        mp.setattr(scope.Scope, "merge", lambda self, name: None)
        mp.setattr(scope.Scope, "input_helps", True)
        tried = check_spec(load_text(text))
    assert [(p.layer, p.message, p.fixes) for p in pruned.problems] == \
        [(p.layer, p.message, p.fixes) for p in tried.problems]
    assert pruned.repairs == tried.repairs
