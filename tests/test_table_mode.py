"""The layer table as a person asks for it (issue #20, point 1): ``--depth`` folds nested rows,
``--columns`` picks the columns, counts are in units unless ``--exact``, and a terminal's
table fits 80 columns without splitting a shape or a count."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from archsolve.check.api import check_file
from archsolve.output.report import check_rich
from archsolve.output.view import TableMode, check_view, field_text, unit_text

from .conftest import SPECS, run_cli, run_cli_split
from .test_check import _golden


@pytest.mark.parametrize(("value", "text"), [
    (None, "-"), (0, "0"), (7, "7"), (999, "999"), (1000, "1.0 k"), (1049, "1.0 k"), (1050, "1.1 k"),
    (37_568, "37.6 k"), (99_949, "99.9 k"), (99_950, "100 k"), (999_499, "999 k"), (999_500, "1.0 M"),
    (31_030_658, "31.0 M"), (150_428_424_448, "150 G"), (12_080_353_536, "12.1 G"),
    (10**18, "1.0 E"), (10**21, "1000 E"), (-37_568, "-37.6 k"),
])
def test_counts_in_units(value: int | None, text: str) -> None:
    assert unit_text(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (None, "-"), (3, "3"), ((3, 3), "3"), ((3, 1), "3x1"), ((2, 2, 1), "2x2x1"), ("same", "same"),
    (((1, 1), (1, 1)), "1,1"), (((0, 1), (2, 3)), "0,1x2,3"),
])
def test_field_values_in_a_cell(value: object, text: str) -> None:
    assert field_text(value) == text


@pytest.mark.parametrize(("args", "golden"), [
    (("--depth", "0"), "unet-original-depth0.txt"),
    (("--depth", "0", "--exact"), "unet-original-depth0-exact.txt"),
    (("--columns", "input,output,kernel,stride,padding", "--depth", "1"), "unet-original-columns.txt"),
    (("--columns", "macs,params"), "unet-original-macs-first.txt"),
    (("--depth", "0", "--count-bias", "--flops", "--exact"), "unet-original-flops-bias.txt"),
])
def test_table_forms_match_golden_text(args: tuple[str, ...], golden: str) -> None:
    code, out = run_cli("check", str(SPECS / "unet-original.yaml"), *args)
    assert code == 0
    _golden(f"check/{golden}", out)


def test_depth_folds_the_json_layers_when_asked_and_only_then() -> None:
    _, out = run_cli("check", str(SPECS / "unet-original.yaml"), "--json")
    whole = json.loads(out)
    _, out = run_cli("check", str(SPECS / "unet-original.yaml"), "--json", "--depth", "0")
    folded = json.loads(out)
    assert [r["name"] for r in folded["layers"]] == [r["name"] for r in whole["layers"] if r["depth"] == 0]
    assert folded["totals"] == whole["totals"]
    assert (whole["totals"]["params"], whole["totals"]["macs"]) == (31030658, 150428424448)
    # the columns and units are for people: the JSON keeps every field and digit
    _, out = run_cli("check", str(SPECS / "unet-original.yaml"), "--json", "--columns", "kernel")
    assert json.loads(out) == whole


@pytest.mark.parametrize(("args", "message"), [
    (("--columns", "kernel,foo,bar"), "Invalid value for '--columns': foo, bar: choose among input, output, "
                                      "kernel, stride, padding, params, macs, rf, memory, separated by commas"),
    (("--columns", ","), "Invalid value for '--columns': ',': choose among input, output, kernel, stride, "
                         "padding, params, macs, rf, memory, separated by commas"),
    (("--depth", "-1"), "Invalid value for '--depth': -1 is not in the range x>=0."),
])
def test_bad_table_options_are_exit_2(args: tuple[str, ...], message: str) -> None:
    code, out, err = run_cli_split("check", str(SPECS / "unet-original.yaml"), *args)
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == f"Error: {message}"


@pytest.mark.parametrize("spec", ["unet-original.yaml", "resnet152.yaml", "unet3d.yaml"])
def test_a_terminal_table_fits_80_columns_and_splits_no_shape_or_count(spec: str) -> None:
    view = check_view(check_file(str(SPECS / spec)))
    console = Console(file=io.StringIO(), width=80)
    check_rich(view, console)
    lines = console.file.getvalue().splitlines()
    assert max(map(len, lines)) <= 80
    for row in view.table.rows:
        shape, params, macs = row.cells[2], row.cells[3], row.cells[4]
        assert any(shape in line and params in line and macs in line for line in lines), row.name


def test_json_says_bias_adds_and_flops_when_asked() -> None:
    _, out = run_cli("check", str(SPECS / "unet-original.yaml"), "--json", "--depth", "0", "--count-bias", "--flops")
    doc = json.loads(out)
    assert {k: v for k, v in doc["totals"].items() if k != "memory"} == {
        "params": 31030658, "macs": 150428424448, "bias_adds": 134353440, "flops": 2 * (150428424448 + 134353440)}
    assert doc["layers"][-1] == {"name": "head", "op": "conv", "depth": 0, "from": ["dec1"], "shape": [2, 388, 388],
                                 "params": 130, "macs": 19269632, "rf": [204, 204], "bias_adds": 2 * 388 * 388,
                                 "flops": 2 * (19269632 + 2 * 388 * 388), "memory": 2 * 388 * 388 * 4}


def test_solve_shows_units_and_exact_on_request() -> None:
    _, out = run_cli("solve", str(SPECS / "unet-solve.yaml"))
    assert "output [2, 128, 128]   params 482 k   MACs 575 M" in out.splitlines()
    _, out = run_cli("solve", str(SPECS / "unet-solve.yaml"), "--exact")
    assert "output [2, 128, 128]   params 481,762   MACs 575,406,080" in out.splitlines()


def test_a_mode_is_passed_not_global() -> None:
    """Two views of one report in one process, each as its mode says."""
    report = check_file(str(SPECS / "unet-original.yaml"))
    assert check_view(report, TableMode(exact=True)).table.params_text == "31,030,658"
    assert check_view(report).table.params_text == "31.0 M"
