"""What the user wrote reaches the terminal literally (issue #19, point 5).

A spec's name, its keys, its var, block and domain names, ``--set NAME`` and the file's own
path may hold control characters (an OSC sequence sets a terminal's title) or rich markup;
every command shows them as text: a control character as its ``\\xNN`` escape, markup as its
characters.  A name must be a whole name: one ending in a newline, or holding NUL, is no name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import examples, run_cli_split

# what may not reach stdout or stderr: C0 but the newline, DEL, C1
RAW = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
NASTY = ["\x1b]0;title\x07", "\x1b[2J", "\x9b31m", "\r", "\x00", "[link=http://x]a[/link]", "[/bold]", "\x7f", "\n"]


PLACES = ("name", "key", "var", "block", "domain", "set", "folder")


def _spec(place: str, nasty: str) -> str:
    """A valid spec with ``nasty`` in one place (the spec's name keeps it valid; the others
    make it a bad spec, whose message must show it literally)."""
    def at(here: str, plain: str) -> str:
        return nasty if place == here else plain

    return yaml.safe_dump({
        "name": at("name", "net"),
        "input": [1, "H"],
        "vars": {at("var", "k"): {"min": 4, "max": 9}, "H": {"min": 8, "max": 12}},
        "domains": {at("domain", "kernel"): {"min": 1, "max": 5}},
        "blocks": {at("block", "b"): {"layers": [{"op": "relu"}]}},
        "layers": [{"name": "c", "op": "conv", "out": 1, "kernel": "?", at("key", "stride"): 1},
                   {"name": "r", "block": "b"}],
    }, allow_unicode=True)


COMMANDS = [("check",), ("check", "--json"), ("solve",), ("solve", "--json"), ("inputs",), ("draw",),
            ("draw", "--format", "svg"), ("draw", "--format", "mermaid")]


@settings(max_examples=examples(60), deadline=None)
@given(place=st.sampled_from(PLACES), nasty=st.sampled_from(NASTY) | st.text(min_size=1, max_size=10))
def test_no_control_character_reaches_the_terminal(tmp_path_factory: pytest.TempPathFactory, place: str,
                                                   nasty: str) -> None:
    where = tmp_path_factory.mktemp("spec")
    if place == "folder":
        where = where / nasty.replace("/", "_").replace("\x00", "_")
        where.mkdir()
    path = where / "spec.yaml"
    path.write_text(_spec(place, nasty), encoding="utf-8")
    for command in COMMANDS + [("check", "--set", f"{nasty}=3")] * (place == "set"):
        code, out, err = run_cli_split(command[0], str(path), *command[1:])
        assert code in (0, 1, 2, 3), (command, code, err)
        assert not RAW.search(out) and not RAW.search(err), (command, out, err)
        if "--json" in command and out:
            json.loads(out)


@pytest.mark.parametrize(("where", "text", "message"), [
    ("a var", 'vars: {"k\\n": {min: 1, max: 3}}\n', ":2:8: vars.k\\x0a: 'k\\n' is not a valid variable name"),
    ("a layer", 'layers: [{name: "c\\n", op: conv, out: 1, kernel: 3}]\n',
     ":2:17: name: 'c\\n' is not a valid layer name (letters, digits and _; not activations, and, in, input, "
     "macs, max, memory, min, not, or, params)"),
    ("a layer, NUL", 'layers: [{name: "c\\0", op: conv, out: 1, kernel: 3}]\n',
     ":2:17: name: 'c\\x00' is not a valid layer name (letters, digits and _; not activations, and, in, input, "
     "macs, max, memory, min, not, or, params)"),
], ids=["var-newline", "layer-newline", "layer-nul"])
def test_a_name_ending_in_a_newline_or_holding_nul_is_refused(tmp_path: Path, where: str, text: str,
                                                              message: str) -> None:
    path = tmp_path / "spec.yaml"
    body = text if text.startswith("layers") else text + "layers: [{name: c, op: conv, out: 1, kernel: 3}]\n"
    path.write_text("input: [1, 8]\n" + body)
    assert run_cli_split("check", str(path)) == (2, "", f"archsolve: error: {path}{message}\n")
