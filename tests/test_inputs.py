"""`archsolve inputs`: valid input sizes, patterns, nearest sizes; cross-checked by a plain loop."""

from __future__ import annotations

import json
from typing import Any

import pytest

from archsolve.errors import SpecError
from archsolve.shapes.graph import build_network
from archsolve.shapes.propagate import propagate
from archsolve.spec.load import load_spec

from .conftest import SPECS, examples, run_cli, run_cli_split


def inputs_json(*args: str) -> dict:
    code, out, err = run_cli_split("inputs", *args, "--json")
    assert code == 0, out + err
    return json.loads(out)


def plain_loop(path: str, name: str, lo: int, hi: int, others: dict[str, int] | None = None) -> list[int]:
    """What a user would write: run check's propagation for every size."""
    net = build_network(load_spec(path))
    ok = []
    for v in range(lo, hi + 1):
        try:
            if propagate(net, {**(others or {}), name: v}, receptive_fields=False).ok:
                ok.append(v)
        except SpecError:
            pass
    return ok


def test_original_unet_accepts_188_plus_16k() -> None:
    doc = inputs_json(str(SPECS / "unet-original-sizes.yaml"), "--near", "500")
    h = doc["axes"]["H"]
    assert h["pattern"] == {"start": 188, "step": 16}
    assert h["values"] == list(range(188, 1025, 16)) and len(h["values"]) == 53
    assert h["nearest"] == [492, 508]
    assert h["values"] == plain_loop(str(SPECS / "unet-original-sizes.yaml"), "H", 1, 1024)


def test_padded_unet_accepts_multiples_of_16_on_each_axis() -> None:
    doc = inputs_json(str(SPECS / "unet-padded-sizes.yaml"), "--range", "1..300", "--near", "572")
    for axis in ("H", "W"):
        assert doc["axes"][axis]["values"] == list(range(16, 301, 16))
        assert doc["axes"][axis]["pattern"] == {"start": 16, "step": 16}
        assert doc["axes"][axis]["nearest"] == [288]  # the largest in range
    code, out = run_cli("inputs", str(SPECS / "unet-padded-sizes.yaml"), "--axis", "W", "--near", "572")
    assert code == 0
    assert "W: 256 valid value(s) in 1..4096: 16k (k >= 1)" in out and "nearest to 572: 576" in out


@pytest.mark.parametrize(("constraint", "pattern", "progressions", "words"), [
    ("H <= 31", {"start": 1, "step": 1, "end": 31}, [], "every value in 1..31"),
    ("H <= 64", {"start": 1, "step": 1}, [], "every value in 1..64"),          # the range ends it
    ("H % 4 == 0 and H <= 60", {"start": 4, "step": 4, "end": 60}, [], "4k (k >= 1), up to 60"),
    ("H % 4 == 0 and H <= 62", {"start": 4, "step": 4, "end": 60}, [], "4k (k >= 1), up to 60"),
    ("H % 4 == 0", {"start": 4, "step": 4}, [], "4k (k >= 1)"),                   # 68 is past the range
    ("(H % 6 == 1 or H % 6 == 3) and H <= 40",
     None, [{"start": 1, "step": 6, "end": 37}, {"start": 3, "step": 6, "end": 39}], "1 + 6k or 3 + 6k, up to 39"),
])
def test_a_pattern_that_stops_inside_the_range_says_its_end(spec_file, constraint: str, pattern: Any,
                                                             progressions: list[Any], words: str) -> None:
    path = spec_file(f"""
input: [1, H]
vars: {{H: {{min: 1, max: 64}}}}
layers:
  - {{name: c, op: conv, out: 1, kernel: 1}}
constraints:
  - "{constraint}"
""")
    h = inputs_json(str(path))["axes"]["H"]
    assert (h["pattern"], h["progressions"]) == (pattern, progressions)
    code, out = run_cli("inputs", str(path))
    assert code == 0 and f"in 1..64: {words}" in out, out


def test_not_one_progression_gives_a_union(spec_file) -> None:
    path = spec_file("""
input: [1, H]
vars: {H: {min: 1, max: 40}}
exact: true
layers:
  - {name: p, op: maxpool, kernel: 2}
constraints:
  - "H % 6 == 0 or H % 6 == 2"
""")
    doc = inputs_json(str(path))
    h = doc["axes"]["H"]
    assert h["values"] == plain_loop(str(path), "H", 1, 40) == [2, 6, 8, 12, 14, 18, 20, 24, 26, 30, 32, 36, 38]
    assert h["pattern"] is None
    assert h["progressions"] == [{"start": 2, "step": 6}, {"start": 6, "step": 6}]
    code, out = run_cli("inputs", str(path))
    assert "13 valid value(s) in 1..40: 2 + 6k or 6 + 6k" in out


def test_tied_vars_follow(spec_file) -> None:
    path = spec_file("""
input: [1, H, W]
vars: {H: {min: 1, max: 100}, W: H * 2}
exact: true
layers:
  - {name: p, op: maxpool, kernel: [2, 4]}
""")
    doc = inputs_json(str(path))
    assert list(doc["axes"]) == ["H"]
    assert doc["axes"]["H"]["values"] == list(range(2, 101, 2))


@pytest.mark.parametrize(
    ("spec", "args", "message"),
    [
        ("input: [1, 8]\nlayers: [{op: relu}]\n", (), "the input has no size variable"),
        ("input: [1, H]\nvars: {H: {min: 1, max: 9}}\nlayers: [{op: relu}]\n", ("--range", "9..3"),
         "the range is empty"),
        ("input: [1, H]\nvars: {H: {min: 1, max: 9}}\nlayers: [{op: relu}]\n", ("--range", "1..99"),
         "goes past the domain of H (1..9)"),
        ("input: [1, H]\nvars: {H: {min: 1, max: 9}}\nlayers: [{op: relu}]\n", ("--range", "a..b"),
         "expected LO..HI"),
        ("input: [1, H]\nvars: {H: {min: 1, max: 9}}\nlayers: [{op: relu}]\n", ("--axis", "W"),
         "not an input size variable"),
        ("input: [1, H, W]\nvars: {H: {min: 1, max: W}, W: {min: 1, max: H}}\nlayers: [{op: relu}]\n", (),
         "the domain of H (1..W) names other vars and has no widest range (the domains of these vars name "
         "each other: H -> W -> H); give --range"),
        ("input: [1, H, W]\nvars: {H: {min: 1, max: 9}, W: {min: 1, max: H}}\nlayers: [{op: relu}]\n",
         ("--axis", "W", "--range", "1..10"), "goes past the domain of W (1..H: 1..9 at its widest)"),
    ],
    ids=["no-var", "empty-range", "past-domain", "bad-range", "bad-axis", "domains-name-each-other",
         "past-a-dependent-domain"],
)
def test_bad_usage_exits_2(spec_file, spec: str, args: tuple[str, ...], message: str) -> None:
    path = spec_file(spec)
    code, out = run_cli("inputs", str(path), *args)
    assert code == 2 and message in out and "Traceback" not in out


CLASSIFIER = """
input: [3, H, W]
vars: {H: {min: 1, max: 64}, W: H}
layers:
  - {name: c, op: conv, out: 4, kernel: 3}
  - {name: p, op: maxpool, kernel: 2}
  - {name: f, op: flatten}
  - {name: fc, op: linear, out: 10}
"""


def test_a_classifier_z3_cannot_encode_is_checked_size_by_size(spec_file) -> None:
    # flatten multiplies H by W: Z3's linear encoding refuses it, one check per size answers
    path = str(spec_file(CLASSIFIER))
    assert inputs_json(path)["axes"]["H"]["values"] == plain_loop(path, "H", 1, 64) == list(range(4, 65))


def test_a_domain_naming_another_var_takes_the_given_range(spec_file) -> None:
    path = str(spec_file("input: [1, H, W]\nvars: {H: {min: 1, max: 9}, W: {min: 1, max: H}}\n"
                         "layers: [{name: c, op: conv, out: 1, kernel: 3}]\n"))
    assert inputs_json(path, "--axis", "W", "--range", "1..9")["axes"]["W"]["values"] == list(range(3, 10))


def test_a_domain_naming_another_var_defaults_to_its_widest_range(spec_file) -> None:
    """W in 8..H for H in 8..40: W ranges over 8..40, and the solver keeps W <= H."""
    path = str(spec_file("input: [1, H, W]\nvars: {H: {min: 8, max: 40}, W: {min: 8, max: H}}\n"
                         "layers:\n  - {name: p, op: maxpool, kernel: 2}\n"
                         "  - {name: u, op: deconv, out: 1, kernel: 2, stride: 2}\n"
                         "  - {name: c, op: concat, from: [input, u]}\n"))
    axis = inputs_json(path, "--axis", "W")["axes"]["W"]
    assert (axis["range"], axis["values"]) == ([8, 40], list(range(8, 41, 2)))


def test_many_valid_sizes_are_listed(spec_file) -> None:
    # nearly every size is valid: the listing splits the range (blocking clauses piled up
    # and took minutes for this)
    path = str(spec_file("input: [1, H, W]\nvars: {H: {min: 1, max: 100000}, W: H}\n"
                         "layers: [{name: c, op: conv, out: 1, kernel: 3, padding: 1}, {name: p, op: maxpool, kernel: 2}]\n"))
    assert inputs_json(path, "--range", "1..3000")["axes"]["H"]["values"] == list(range(2, 3001))


@pytest.mark.parametrize(("text", "args", "code", "line"), [
    ("input: [1, H]\nvars: {H: {min: 1, max: 50}}\nlayers: [{name: p, op: maxpool, kernel: 4}]\n"
     "constraints: [p.L <= 6]\n", (), 0, "H: 24 valid value(s) in 1..50: every value in 4..27"),
    ("input: [1, H]\nvars: {H: {min: 1, max: 100}}\nlayers: [{name: p, op: maxpool, kernel: 4}]\n"
     "constraints: [p.L <= 15]\nexact: true\n", (), 0, "H: 15 valid value(s) in 1..100: 4k (k >= 1), up to 60"),
    ("input: [3, H]\nvars: {H: {min: 1, max: 50}}\nlayers:\n  - {name: a, op: conv, out: 4, kernel: 3, padding: 1}\n"
     "  - {name: m, op: add, from: [input, a]}\n", (), 1, "H: 0 valid value(s) in 1..50: none"),
    ("input: [1, H // 0]\nvars: {H: {min: 1, max: 20}}\nlayers: [{name: c, op: conv, out: 1, kernel: 3}]\n", (), 2,
     "spec.yaml:1:12: input[1]: division by zero in H // 0"),
    ("input: [1, H, W]\nvars: {H: {min: 1, max: 20}, W: H}\nlayers: [{name: c, op: conv, out: 1, kernel: 3}]\n",
     ("--axis", "W"), 2, "W is tied to H, so ask for H"),
], ids=["every-value", "stops-inside-the-range", "none-is-exit-1", "input-division-placed", "tied-axis"])
def test_inputs_says_what_it_found(spec_file, text: str, args: tuple[str, ...], code: int, line: str) -> None:
    got, out = run_cli("inputs", str(spec_file(text)), *args)
    assert got == code and line in out, out


def test_a_time_out_shows_what_was_found(spec_file) -> None:
    # one valid tile ruled out: 188 + 16k with a hole is no pattern to prove, and listing
    # 62,000 sizes one by one takes minutes
    text = (SPECS / "unet-original-sizes.yaml").read_text().replace("max: 1024", "max: 1000000") + \
        "constraints: [H != 600012]\n"
    code, out = run_cli("inputs", str(spec_file(text)), "--timeout", "3", "--json")
    assert code == 3
    doc = json.loads(out)["axes"]["H"]
    assert doc["complete"] is False and doc["pattern"] is None
    assert all((v - 188) % 16 == 0 for v in doc["values"])  # each one found is valid


def test_a_time_out_keeps_every_axis_and_knows_no_nearest(monkeypatch: pytest.MonkeyPatch) -> None:
    from archsolve.errors import SolverTimeout
    from archsolve.solve.smt.solver import Z3Problem

    def three_then_out(self: Z3Problem, name: str, lo: int, hi: int) -> Any:
        yield from (16, 32, 48)
        raise SolverTimeout("the solver ran out of time")

    monkeypatch.setattr(Z3Problem, "values_in", three_then_out)
    code, out = run_cli("inputs", str(SPECS / "unet-padded-sizes.yaml"), "--near", "2000")
    assert code == 3
    assert out.splitlines()[0] == "H: the time ran out; 3 valid value(s) in 1..4096 found by then"
    assert "W: the time ran out; 0 valid value(s) in 1..4096 found by then" in out  # never started
    assert out.count("nearest to 2000: not known (the time ran out)") == 2


def test_a_classifier_with_two_open_sizes_is_refused_naming_the_layer(spec_file) -> None:
    text = CLASSIFIER.replace("W: H", "W: {min: 1, max: 64}")
    path = str(spec_file(text))
    code, out, err = run_cli_split("inputs", path)
    assert code == 2 and "Traceback" not in err
    assert err.strip().endswith("spec.yaml:7:5: f: 4 * p.H * p.W multiplies two sizes that unknowns decide, and the "
                                "solver keeps products linear; fix one of those sizes, or use an expression of the "
                                "unknowns instead; with other sizes or unknowns open too, inputs cannot answer this "
                                "(give them a default, fix them with vars tied to this one, or use solve)"), err


def test_more_valid_values_than_it_lists_asks_for_a_narrower_range(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_VALUES valid sizes `inputs` stops and says so, naming the var (exit 2)."""
    from archsolve.solve import inputs

    monkeypatch.setattr(inputs, "MAX_VALUES", 5)
    code, out = run_cli("inputs", str(SPECS / "unet-padded-sizes.yaml"), "--axis", "H", "--range", "1..1000")
    assert code == 2 and "more than 5 valid values of H; narrow --range" in out


# Ranges wider than inputs.PATTERN_FROM: the valid sizes are first tried as a pattern seen in
# the first ones and proven for the whole range; each must give what one check per size gives
PATTERNS = [
    ("every-value-from-a-threshold", "layers:\n  - {name: a, op: conv, out: 2, kernel: 3, stride: 2}\n"
     "  - {name: b, op: conv, out: 2, kernel: 5, stride: 3}\n"),
    ("one-progression", "exact: true\nlayers:\n  - {name: e, op: conv, out: 2, kernel: 3}\n"
     "  - {name: d, op: maxpool, kernel: 2}\n  - {name: m, op: conv, out: 2, kernel: 3}\n"
     "  - {name: u, op: deconv, out: 2, kernel: 2, stride: 2}\n  - {name: c, op: crop, from: e, like: u}\n"
     "  - {name: cat, op: concat, from: [c, u]}\n"),
    ("two-progressions", "layers: [{name: a, op: conv, out: 2, kernel: 3}]\n"
     "constraints: ['H % 4 != 0', 'H % 4 != 3']\n"),
    ("a-pattern-that-stops", "layers: [{name: a, op: maxpool, kernel: 2}]\nconstraints: [a.L <= 2500]\n"),
    ("a-pattern-that-breaks-once", "layers: [{name: a, op: maxpool, kernel: 2}]\nconstraints: [a.L != 2100]\n"),
    # MACs grow with the size: a budget on them is a constraint like any other (was exit 2)
    ("a-macs-budget", "layers: [{name: a, op: conv, out: 2, kernel: 3, stride: 2}]\nconstraints: [macs <= 6000]\n"),
    ("a-params-budget", "layers: [{name: a, op: conv, out: 2, kernel: 3, stride: 2}]\nconstraints: [params <= 8]\n"),
    # the listed domain's values only, however many of them the pattern would give
    ("a-listed-domain", None),
]


@pytest.mark.parametrize("layers", [c[1] for c in PATTERNS], ids=[c[0] for c in PATTERNS])
def test_a_wide_range_gives_what_one_check_per_size_gives(spec_file, layers: str | None) -> None:
    if layers is None:  # a listed domain: multiples of 16 up to 512, and 8192
        listed = [*range(16, 513, 16), 8192]
        path = str(spec_file(f"exact: true\ninput: [1, H]\nvars: {{H: {{in: {listed}}}}}\n"
                             "layers: [{name: p, op: maxpool, kernel: 16}]\n"))
        axis = inputs_json(path)["axes"]["H"]
        assert axis["complete"] and axis["values"] == listed
        return
    path = str(spec_file("input: [1, H]\nvars: {H: {min: 1, max: 6000}}\n" + layers))
    axis = inputs_json(path)["axes"]["H"]
    assert axis["complete"] and axis["values"] == plain_loop(path, "H", 1, 6000)


def test_the_original_unet_over_a_million_sizes() -> None:
    """188 + 16k up to 10^6: proven in two checks (one check per size took minutes)."""
    text = (SPECS / "unet-original-sizes.yaml").read_text().replace("max: 1024}", "max: 1000000}")
    assert "max: 1000000}" in text
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/unet.yaml"
        with open(path, "w") as f:
            f.write(text)
        h = inputs_json(path, "--timeout", "30")["axes"]["H"]
    assert h["complete"] and h["pattern"] == {"start": 188, "step": 16}
    assert (len(h["values"]), h["values"][-1]) == (62489, 999996)


# hypothesis: random 1D chains (with a skip merge now and then) over 1..PATTERN_WIDE, where
# the proven pattern must give exactly what one check per size gives
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PATTERN_WIDE = 4500  # just past inputs.PATTERN_FROM


@st.composite
def wide_chains(draw: Any) -> str:
    exact = draw(st.booleans())
    layers: list[str] = []
    for i in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["conv", "maxpool", "deconv", "avgpool"]))
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        if op == "conv":
            layers.append(f"  - {{name: l{i}, op: conv, out: 2, kernel: {k}, stride: {s}, "
                          f"padding: {draw(st.integers(0, k - 1))}, dilation: {draw(st.integers(1, 2))}}}")
        elif op == "deconv":
            layers.append(f"  - {{name: l{i}, op: deconv, out: 2, kernel: {k}, stride: {s}}}")
        else:
            layers.append(f"  - {{name: l{i}, op: {op}, kernel: {k}, stride: {s}, "
                          f"ceil_mode: {str(draw(st.booleans())).lower()}}}")
    if draw(st.booleans()):  # back up to the input size, and a merge with it
        layers.append(f"  - {{name: up, op: upsample, scale: {draw(st.integers(1, 4))}}}")
        layers.append("  - {name: cat, op: concat, from: [input, up]}")
    constraints = draw(st.sampled_from(["", "constraints: ['H % 3 != 1']\n", "constraints: ['H >= 40']\n"]))
    return (("exact: true\n" if exact else "") + f"input: [1, H]\nvars: {{H: {{min: 1, max: {PATTERN_WIDE}}}}}\n"
            + "layers:\n" + "\n".join(layers) + "\n" + constraints)


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=wide_chains())
def test_a_proven_pattern_is_what_one_check_per_size_gives(spec_file, text: str) -> None:
    from archsolve.solve.inputs import input_sizes

    path = str(spec_file(text))
    try:
        plain = plain_loop(path, "H", 1, PATTERN_WIDE)
    except SpecError:
        return  # a bad spec for every size alike
    report = input_sizes(load_spec(path), timeout=60)
    assert report["H"].complete and report["H"].values == plain, text
