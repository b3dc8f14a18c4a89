"""``archsolve export --dynamic``: the written ``dynamic_shapes()`` against torch.export.

The U-Nets are built on the meta device (no weights: torch.export traces with fake tensors
anyway), exported once at their smallest valid size, and the program run at the smallest, a
middle and the largest size ``archsolve inputs`` lists: each output is ``check --set``'s.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archsolve.check.api import check_spec
from archsolve.check.known import export_check
from archsolve.cli import main
from archsolve.output.export import class_name, torch_source
from archsolve.spec.load import load_spec

from .conftest import SPECS

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


@functools.cache  # `inputs` over the domain, once per spec: each call's dims are fresh objects all the same
def _namespace(spec_file: str) -> dict[str, Any]:
    spec = load_spec(str(SPECS / spec_file))
    namespace: dict[str, Any] = {"__name__": "archsolve_exported"}
    exec(compile(torch_source(export_check(spec), dynamic=True), spec_file, "exec"), namespace)
    return namespace


def _dim(dim: Any) -> tuple[str, int, int, str, int, int]:
    """A derived ``Dim`` as its form, min and max, then its root's name, min and max."""
    return (dim.__name__, dim.min, dim.max, dim.root.__name__, dim.root.min, dim.root.max)


@pytest.mark.parametrize(("spec_file", "dims"), [
    # 188 + 16k up to 1020: 16 * n + 156 over n in 2..54 (torch.export fixes a root of 0 or 1)
    ("unet-original-sizes.yaml", {2: ("16*H_n + 156", 188, 1020, "H_n", 2, 54),
                                  3: ("16*H_n + 156", 188, 1020, "H_n", 2, 54)}),
    ("unet-padded-sizes.yaml", {2: ("16*H_n - 16", 16, 4096, "H_n", 2, 257),
                                3: ("16*W_n - 16", 16, 4096, "W_n", 2, 257)}),
])
def test_the_dims_are_the_valid_sizes(spec_file: str, dims: dict[int, tuple[str, int, int, str, int, int]]) -> None:
    shapes = _namespace(spec_file)["dynamic_shapes"]()
    assert list(shapes) == ["x"]
    assert {axis: _dim(d) for axis, d in shapes["x"].items()} == dims


def test_a_var_on_two_axes_is_one_dim() -> None:
    shapes = _namespace("unet-original-sizes.yaml")["dynamic_shapes"]()
    assert shapes["x"][2] is shapes["x"][3]


@pytest.mark.parametrize(("spec_file", "channels", "sizes", "refused"), [
    ("unet-original-sizes.yaml", 1, [(188, 188), (604, 604), (1020, 1020)], [(190, 190), (1036, 1036)]),
    ("unet-padded-sizes.yaml", 3, [(16, 16), (2048, 1024), (4096, 4096)], [(24, 16), (16, 4112)]),
])
def test_torch_export_takes_it_and_the_program_runs_at_three_sizes(
        spec_file: str, channels: int, sizes: list[tuple[int, int]], refused: list[tuple[int, int]]) -> None:
    """Exported at the smallest size; a size off the step or past the largest fails the
    program's guards (torch's AssertionError), as it fails ``_check_input`` in eager mode."""
    spec = load_spec(str(SPECS / spec_file))
    namespace = _namespace(spec_file)
    with torch.device("meta"):
        model = namespace[class_name(spec)]().eval()
    x = torch.zeros(1, channels, *sizes[0], device="meta")
    with torch.fx.experimental._config.patch(backed_size_oblivious=True):
        program = torch.export.export(model, (x,), dynamic_shapes=namespace["dynamic_shapes"]())
    run = program.module()
    for h, w in sizes:
        given = {"H": h} if "W" in spec.tied() else {"H": h, "W": w}  # W: H, or a var of its own
        report = check_spec(spec, given, repairs=False)
        y = run(torch.zeros(1, channels, h, w, device="meta"))
        assert list(y.shape) == [1, *report.output], (h, w)
    for h, w in refused:
        with pytest.raises(AssertionError, match="^Guard failed"):
            run(torch.zeros(1, channels, h, w, device="meta"))


@pytest.mark.parametrize(("spec_file", "message"), [
    ("resnet50.yaml", "archsolve: error: specs/resnet50.yaml has no input size var: nothing is dynamic; "
                      "write the input as [C, H, W] with a var H\n"),
    ("unet3d.yaml", "archsolve: error: specs/unet3d.yaml has no input size var: nothing is dynamic; "
                    "write the input as [C, D, H, W] with a var D\n"),
])
def test_a_spec_without_a_size_var_is_exit_2(spec_file: str, message: str) -> None:
    result = CliRunner().invoke(main, ["export", f"specs/{spec_file}", "--dynamic"])
    assert (result.exit_code, result.output) == (2, message)


def test_a_var_a_layer_is_built_for_is_not_dynamic(tmp_path: Path) -> None:
    path = tmp_path / "fixed.yaml"
    path.write_text("name: fixed\ninput: [1, H]\nvars: {H: {min: 8, max: 64}}\n"
                    "layers: [{op: flatten}, {op: linear, out: H}]\n")
    result = CliRunner().invoke(main, ["export", str(path), "--set", "H=8", "--dynamic"])
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        2, f"archsolve: error: {path}: nothing is dynamic for torch.export: "
           "H takes only 8, the size a layer of this module is built for")


def test_the_dynamic_file_imports_back_to_the_same_check(tmp_path: Path) -> None:
    from archsolve.bridge import load_model

    original = export_check(load_spec(str(SPECS / "unet-original-sizes.yaml")))
    path = tmp_path / "unet_dynamic.py"
    path.write_text(torch_source(original, dynamic=True))
    back = check_spec(load_model(f"{path}:{class_name(original.spec)}", list(original.input)))
    assert back.ok
    assert (back.output, back.totals) == (original.output, original.totals)


@pytest.mark.parametrize(("text", "lines", "sizes"), [
    # a step of 1: a plain Dim
    ("name: line\ninput: [1, L]\nvars: {L: {min: 1, max: 64}}\nlayers: [{op: conv, out: 2, kernel: 3}]\n",
     ['    # L: every value in 3..64', '    L = torch.export.Dim("L", min=3, max=64)',
            '    return {"x": {2: L}}'], [(3,), (64,)]),
    # a size tied to a var (W: H + 2): a dim derived from the var's
    ("name: wide\nexact: true\ninput: [1, H, W]\nvars: {H: {min: 1, max: 64}, W: H + 2}\n"
     "layers: [{op: maxpool, kernel: 2}]\n",
     ['    # H: 2k (k >= 1), 2..64, as 2 * n - 2 with n from 2 (torch.export makes a size of 0 or 1 a constant)',
            '    H = 2 * torch.export.Dim("H_n", min=2, max=33) - 2', '    return {"x": {2: H, 3: H + 2}}'],
     [(2, 4), (64, 66)]),
], ids=["step-1", "tied-w-h-plus-2"])
def test_small_specs_dims_and_their_programs(text: str, lines: list[str], sizes: list[tuple[int, ...]]) -> None:
    """The function's last lines, exactly; torch.export takes it and the program runs as the module does."""
    from archsolve.spec.load import load_text

    spec = load_text(text)
    src = torch_source(export_check(spec), dynamic=True)
    assert '"""\n' + "\n".join(lines) + '\n\n\nif __name__ == "__main__":' in src
    namespace: dict[str, Any] = {"__name__": "archsolve_exported"}
    exec(compile(src, spec.name, "exec"), namespace)
    model = namespace[class_name(spec)]().eval()
    x = torch.zeros(1, 1, *sizes[-1])
    with torch.fx.experimental._config.patch(backed_size_oblivious=True):
        run = torch.export.export(model, (x,), dynamic_shapes=namespace["dynamic_shapes"]()).module()
    for size in sizes:
        assert list(run(torch.zeros(1, 1, *size)).shape) == list(model(torch.zeros(1, 1, *size)).shape)
