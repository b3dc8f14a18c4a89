"""``check --json``'s problem entries: every key, with the field to blame."""

from __future__ import annotations

import pytest

from .conftest import SPECS, check_json


@pytest.mark.parametrize(("spec", "expected"), [
    ("unet-skip-mismatch.yaml", [("cat2", "mismatch", "error", "from")]),
    # the 1x1 stride-2 shortcuts read 0, 2, ..., 54 of 56: the last position is read by no window
    ("resnet50.yaml", [(f"layer{i}_0/down_conv", "drops", "warning", "stride") for i in (2, 3, 4)]),
])
def test_each_problem_names_its_field(spec: str, expected: list[tuple[str, str, str, str]]) -> None:
    """The field a problem blames reaches the JSON (it was always "": the propagation
    passed it where the fixes go, and the fixes replaced it)."""
    _, doc = check_json(SPECS / spec)
    assert [(p["layer"], p["kind"], p["severity"], p["field"]) for p in doc["problems"]] == expected
    assert all(list(p) == ["layer", "kind", "severity", "message", "fixes", "field"] for p in doc["problems"])
