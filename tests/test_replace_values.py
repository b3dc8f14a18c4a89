"""Write-back edits only the values that change, where they stand in the text
(``lang.yamlio.replace_values``): every other character is kept as written."""

from __future__ import annotations

import pytest
import yaml

from archsolve.errors import SpecError
from archsolve.lang.yamlio import replace_values

CASES = [
    # (text, {path: new}, expected)
    ('k: "?"\n', {("k",): "3"}, "k: 3\n"),
    ("k: '?'\n", {("k",): "3"}, "k: 3\n"),
    ('a: {x: +4, y: "?", z: 0x10}\n', {("a", "y"): "3"}, "a: {x: +4, y: 3, z: 0x10}\n"),
    ('a: ["?", +1]\n', {("a", 0): "12"}, "a: [12, +1]\n"),
    # a trailing comment keeps its column, shorter or longer
    ('a: {k: "?"}   # c\n', {("a", "k"): "3"}, "a: {k: 3}     # c\n"),
    ('a: {k: "?"}   # c\n', {("a", "k"): "1234"}, "a: {k: 1234}  # c\n"),
    ('a: {k: "?"} # c\n', {("a", "k"): "12345"}, "a: {k: 12345} # c\n"),
    # a quote between the edit and the comment: the comment is left where it goes
    ('a: {k: "?", n: "x"}  # c\n', {("a", "k"): "3"}, 'a: {k: 3, n: "x"}  # c\n'),
    # several edits on one line, right to left
    ('a: ["?", "?"]  # c\n', {("a", 0): "1", ("a", 1): "2"}, "a: [1, 2]      # c\n"),
    # an anchor stays for its aliases; a tag goes with the value
    ('a: &k "?"\nb: *k\n', {("a",): "5", ("b",): "5"}, "a: &k 5\nb: *k\n"),
    ('a: !!str "?"\n', {("a",): "5"}, "a: !!str 5\n"),
    # a block mapping moves up beside its key; its lines, and a comment on its last, go
    ("v:\n  H:   # height\n    min: 1\n    max: 9   # m\n\n  W: 2\n", {("v", "H"): "7"},
     "v:\n  H: 7  # height\n\n  W: 2\n"),
    ("v:\n  H:\n    in:\n      - 32\n      - 64\n    default: 64\nx: 1\n", {("v", "H"): "32"},
     "v:\n  H: 32\nx: 1\n"),
    ("v:\n  H: &d\n    min: 1\n    max: 9\n", {("v", "H"): "4"}, "v:\n  H: &d 4\n"),
    ("v:\n  H:\n    - 1\n    - 2\n", {("v", "H"): "1"}, "v:\n  H: 1\n"),
    ("v:\n  H:\n    min: 1\n    max:\nx: 1\n", {("v", "H"): "1"}, "v:\n  H: 1\nx: 1\n"),
    # a list item that is a block mapping
    ("l:\n  - min: 1\n    max: 2\n  - 5\n", {("l", 0): "1"}, "l:\n  - 1\n  - 5\n"),
    # directives, document markers, Unicode before the edit (indices are characters)
    ('%YAML 1.1\n---\nn: on\né: "?"\n...\n', {("é",): "3"}, "%YAML 1.1\n---\nn: on\né: 3\n...\n"),
    ('n: "\U0001F600"\nk: "?"\n', {("k",): "3"}, 'n: "\U0001F600"\nk: 3\n'),
    # no change: the text as it was
    ("a: +4   # c\n", {}, "a: +4   # c\n"),
]


@pytest.mark.parametrize(("text", "changes", "expected"), CASES, ids=range(len(CASES)))
def test_only_the_changed_values_change(text: str, changes: dict, expected: str) -> None:
    assert replace_values(text, changes, "s.yaml") == expected
    yaml.safe_load(expected)  # and the result is still YAML


REFUSED = [
    # two places an alias makes one, solved apart
    ('a: &k "?"\nb: *k\n', {("a",): "3", ("b",): "5"},
     "s.yaml:1:7: cannot write the solution back: one value in the file (a YAML alias) would have to hold "
     "both 3 and 5"),
    # an alias repeats the value in a place the write does not change
    ("v: &d {min: 1, max: 4}\nd: {kernel: *d}\n", {("v",): "2"},
     "s.yaml:1:7: cannot write the solution back: a YAML alias repeats this value in a place that would "
     "change with it"),
    # ...reached through an aliased parent
    ('p: &p [&k "?", 0]\nq: *p\n', {("p", 0): "1"},
     "s.yaml:1:11: cannot write the solution back: a YAML alias repeats this value in a place that would "
     "change with it"),
    ("a: 1\n", {("b",): "2"}, "s.yaml:1:1: cannot write the solution back: b is not in the file"),
    ("a: [1]\n", {("a", 3): "2"}, "s.yaml:1:4: cannot write the solution back: a.3 is not in the file"),
]


@pytest.mark.parametrize(("text", "changes", "message"), REFUSED, ids=range(len(REFUSED)))
def test_a_write_that_would_change_another_place_is_refused(text: str, changes: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        replace_values(text, changes, "s.yaml")
    assert str(err.value) == message


def test_paths_through_an_alias_to_the_same_place_are_one_edit() -> None:
    """Every place an aliased parent stands for is changed: one edit, not refused."""
    text = 'p: &p [&k "?", 0]\nq: *p\n'
    assert replace_values(text, {("p", 0): "1", ("q", 0): "1"}) == "p: &p [&k 1, 0]\nq: *p\n"
