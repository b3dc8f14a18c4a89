"""`semantics: tf`: TensorFlow/Keras shape rules for conv, deconv and pooling (docs/semantics.md)."""

from __future__ import annotations

import pytest

from .conftest import check_json, run_cli_split


@pytest.mark.parametrize(
    ("size", "layer", "out"),
    [
        (7, "{op: conv, out: 1, kernel: 3, stride: 2, padding: same}", 4),
        (7, "{op: conv, out: 1, kernel: 3, stride: 2, padding: valid}", 3),
        (7, "{op: conv, out: 1, kernel: 3, stride: 2}", 3),  # Keras's default padding is valid
        (7, "{op: conv, out: 1, kernel: 4, stride: 3, padding: same}", 3),
        (4, "{op: deconv, out: 1, kernel: 3, stride: 2, padding: same}", 8),
        (4, "{op: deconv, out: 1, kernel: 3, stride: 2, padding: valid}", 9),
        (4, "{op: deconv, out: 1, kernel: 1, stride: 3, padding: valid}", 12),  # max(kernel, stride)
        (7, "{op: maxpool, kernel: 3, stride: 2, padding: same}", 4),
        (7, "{op: avgpool, kernel: 2, padding: valid}", 3),
        (7, "{op: conv, out: 1, kernel: 3, dilation: 2, padding: valid}", 3),
        (7, "{op: conv, out: 1, kernel: 3, dilation: 2, stride: 2, padding: same}", 4),
    ],
    ids=["conv-same", "conv-valid", "conv-default-valid", "conv-k4s3-same", "deconv-same", "deconv-valid",
         "deconv-valid-stride-wins", "maxpool-same", "avgpool-valid", "dilated-valid", "dilated-strided-same"],
)
def test_tensorflow_sizes(spec_file, size: int, layer: str, out: int) -> None:
    code, doc = check_json(spec_file(f"semantics: tf\ninput: [1, {size}, {size}]\nlayers:\n  - {{name: l, {layer[1:]}\n"))
    assert code == 0, doc["problems"]
    assert doc["layers"][0]["shape"] == [1, out, out]


def test_valid_window_must_fit(spec_file) -> None:
    code, doc = check_json(spec_file("semantics: tf\ninput: [1, 2]\nlayers:\n"
                                     "  - {name: l, op: conv, out: 1, kernel: 3, padding: valid}\n"))
    assert code == 1 and doc["problems"][0]["kind"] == "kernel-fits"
    assert "(padding 'valid', TensorFlow rules)" in doc["problems"][0]["message"]


def test_same_with_stride_is_fine_under_tf(spec_file) -> None:
    code, _ = check_json(spec_file("semantics: tf\ninput: [1, 9]\nlayers:\n"
                                   "  - {name: l, op: conv, out: 1, kernel: 3, stride: 2, padding: same}\n"))
    assert code == 0


def test_solve_uses_tf_rules(spec_file) -> None:
    path = spec_file("""
semantics: tf
input: [3, 64, 64]
layers:
  - {name: a, op: conv, out: 8, kernel: 3, stride: "?", padding: same}
  - {name: b, op: conv, out: 8, kernel: "?", stride: "?", padding: valid}
  - {name: up, op: deconv, out: 3, kernel: 3, stride: "?", padding: same}
constraints: ["a.H == 32", "b.H == 15", "up.shape == [3, 60, 60]"]
""")
    code, out, err = run_cli_split("solve", str(path), "--all", "--json")
    import json

    doc = json.loads(out)
    assert code == 0 and doc["complete"] is True
    # ceil(64 / s) = 32; floor((32 - k) / s) + 1 = 15; 15 * s = 60 (kernel 1..11 by default)
    expect = {(2, k, s, 4) for k in range(1, 12) for s in range(1, 5) if (32 - k) // s + 1 == 15 and k <= 32}
    got = {(v["a.stride"], v["b.kernel"], v["b.stride"], v["up.stride"]) for v in (s["values"] for s in doc["solutions"])}
    assert got == expect
