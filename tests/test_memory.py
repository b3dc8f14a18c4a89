"""Memory figures without torch (issue #21, part 1): the arithmetic of each total, the
command line's --batch and --dtype, the JSON keys and the units (tests/test_memory_torch.py
checks ``saved`` against PyTorch itself)."""

from __future__ import annotations

import json

import pytest

from archsolve.check.api import check_spec
from archsolve.ops.autograd import Dtype, MemoryMode
from archsolve.output.view import bytes_text
from archsolve.spec.load import load_text

from .conftest import SPECS, run_cli, run_cli_split

TINY = "input: [1, 8, 8]\nlayers:\n  - {name: c, op: conv, out: 2, kernel: 3}\n  - {name: r, op: relu}\n" \
       "  - {name: p, op: maxpool, kernel: 2}\n"


@pytest.mark.parametrize(("mode", "figures"), [
    # c: 2x6x6 = 72 elements, r the same, p: 2x3x3 = 18; saved: c's input (64), r's output (72),
    # p's input (r's output again: once) and p's indices (18 int64); 20 weights
    (MemoryMode(), {"activations": (72 + 72 + 18) * 4, "params": 20 * 4, "saved": (64 + 72) * 4 + 18 * 8}),
    (MemoryMode(batch=3), {"activations": 3 * 162 * 4, "params": 80, "saved": 3 * ((64 + 72) * 4 + 18 * 8)}),
    (MemoryMode(batch=2, dtype=Dtype.FLOAT16), {"activations": 2 * 162 * 2, "params": 40,
                                                "saved": 2 * ((64 + 72) * 2 + 18 * 8)}),
], ids=["default", "batch-3", "half"])
def test_each_figure(mode: MemoryMode, figures: dict[str, int]) -> None:
    mem = check_spec(load_text(TINY), memory=mode).memory
    assert mem is not None
    assert (mem.activations, mem.params, mem.saved) == (figures["activations"], figures["params"], figures["saved"])
    assert mem.training == mem.saved + 4 * mem.params


def test_a_relu_on_the_input_keeps_nothing_and_inplace_shares_a_storage() -> None:
    """Autograd records nothing before the first layer with weights; an in-place ReLU's output
    is its input's storage (kept once), unless something else reads that input."""
    first = check_spec(load_text("input: [1, 4, 4]\nlayers: [{op: relu}, {op: conv, out: 1, kernel: 1}]")).memory
    assert first.saved == 16 * 4  # only the conv's input
    inplace = load_text("input: [1, 4, 4]\nlayers:\n  - {name: c, op: conv, out: 1, kernel: 1}\n"
                        "  - {name: r, op: relu, inplace: true}\n  - {name: d, op: conv, out: 1, kernel: 1}\n")
    assert check_spec(inplace).memory.saved == (16 + 16) * 4  # the input, and c's output once for r and d
    shared = load_text("input: [1, 4, 4]\nlayers:\n  - {name: c, op: conv, out: 1, kernel: 1}\n"
                       "  - {name: r, op: relu, inplace: true}\n  - {name: s, op: add, from: [r, c]}\n")
    assert check_spec(shared).memory.saved == (16 + 16) * 4  # r reads c, read by s too: not in place


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1023 * 1024 + 512, "1.0 MiB"), (166348800, "159 MiB"),
    (8 * 2**30, "8.0 GiB"), (None, "-"),
])
def test_bytes_in_binary_units(n: int | None, text: str) -> None:
    assert bytes_text(n) == text


def test_the_command_line() -> None:
    code, out = run_cli("check", str(SPECS / "unet-original.yaml"), "--batch", "2", "--dtype", "float16")
    assert code == 0
    assert ("memory at batch 2, float16: activations 1.2 GiB, saved for backward 765 MiB, training 1002 MiB "
            "(weights 59.2 MiB x 4 with gradients and Adam)") in out.splitlines()
    code, out = run_cli("check", str(SPECS / "unet-original.yaml"), "--json", "--batch", "2")
    doc = json.loads(out)
    assert set(doc["totals"]["memory"]) == {"activations", "params", "saved", "training"}
    assert doc["memory_at"] == {"batch": 2, "dtype": "float32"}
    assert doc["layers"][1]["memory"] == 2 * 64 * 570 * 570 * 4
    code, out = run_cli("check", str(SPECS / "unet-original.yaml"), "--columns", "output,memory", "--depth", "0")
    assert "enc1    block:double_conv  [64, 568, 568]   78.8 MiB" in out.splitlines()


@pytest.mark.parametrize(("args", "message"), [
    (("--batch", "0"), "Invalid value for '--batch': 0 is not in the range 1<=x<=1000000000000."),
    (("--dtype", "float64"), "Invalid value for '--dtype': 'float64' is not one of 'float32', 'float16', 'bfloat16'."),
])
def test_bad_memory_options(args: tuple[str, ...], message: str) -> None:
    code, _, err = run_cli_split("check", str(SPECS / "unet-original.yaml"), *args)
    assert code == 2 and err.splitlines()[-1] == f"Error: {message}"
