"""The JSON Schema (draft 2020-12) of spec files, generated from the op table.

One source of truth: the fields, kinds, defaults and choices that the loader validates with
(:data:`archsolve.ops.OPS`, :data:`archsolve.spec.TOP_KEYS`) are turned into the schema, so
an editor's completion and a CI validation agree with ``archsolve check``.

Example::

    >>> schema = spec_schema()
    >>> schema["$schema"]
    'https://json-schema.org/draft/2020-12/schema'
"""

from __future__ import annotations

from typing import Any

from archsolve.ops.autograd import Dtype
from archsolve.ops.base import REQUIRED, FieldDef, Kind
from archsolve.ops.table import ALIASES, OPS
from archsolve.spec.model import LAYER_KEYS, MAX_VALUE, TOP_KEYS

VALUE = {"description": "an integer, \"?\" (solve it), a var or block-parameter name, or an expression "
                        "over them (+ - * // % min() max())",
         "anyOf": [{"type": "integer"}, {"type": "string", "minLength": 1}]}
AXES = {"anyOf": [{"$ref": "#/$defs/value"},
                  {"type": "array", "items": {"$ref": "#/$defs/value"}, "minItems": 1, "maxItems": 3}]}
SIDES = {"anyOf": [{"$ref": "#/$defs/value"},
                   {"type": "array", "minItems": 1, "maxItems": 3, "items": {"anyOf": [
                       {"$ref": "#/$defs/value"},
                       {"type": "array", "items": {"$ref": "#/$defs/value"}, "minItems": 2, "maxItems": 2}]}}]}
DOMAIN = {"anyOf": [
    {"type": "object", "properties": {"min": {"$ref": "#/$defs/value"}, "max": {"$ref": "#/$defs/value"}},
     "required": ["min", "max"], "additionalProperties": False},
    {"type": "object", "properties": {"in": {"type": "array", "items": {"type": "integer"}, "minItems": 1}},
     "required": ["in"], "additionalProperties": False},
]}
VAR_DOMAIN = {"anyOf": [
    {"type": "object", "properties": {"min": {"$ref": "#/$defs/value"}, "max": {"$ref": "#/$defs/value"},
                                      "default": {"type": "integer"}},
     "required": ["min", "max"], "additionalProperties": False},
    {"type": "object", "properties": {"in": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
                                      "default": {"type": "integer"}},
     "required": ["in"], "additionalProperties": False},
], "description": "a domain; default: the value check, draw and export take when --set gives none"}
FROM = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
ARGUMENT = {"description": "a value, a list of values (one per spatial axis), or a layer name (for a parameter "
                           "the block reads in 'from' or 'like')",
            "anyOf": [{"$ref": "#/$defs/value"},
                      {"type": "array", "items": {"$ref": "#/$defs/value"}, "minItems": 1, "maxItems": 3}]}
REPEAT = {"description": "how many chained copies; inside a block also a parameter or an expression of them",
          "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}]}


def _field(f: FieldDef) -> dict[str, Any]:
    if f.kind is Kind.BOOL:
        out: dict[str, Any] = {"type": "boolean"}
    elif f.kind is Kind.NUMBER:
        out = {"type": "number"}
    elif f.kind is Kind.CHOICE:
        out = {"enum": list(f.choices)}
    elif f.kind is Kind.LAYER:
        out = {"type": "string", "description": "the name of a layer"}
    elif f.kind is Kind.AXES:
        out = {"$ref": "#/$defs/axes"}
    elif f.kind is Kind.SIDES:
        out = {"$ref": "#/$defs/sides"}
    elif f.kind is Kind.DIMS:
        out = {"type": "array", "items": {"$ref": "#/$defs/value"}, "minItems": 1, "maxItems": 4}
    else:
        out = {"$ref": "#/$defs/value"}
    notes = []
    if f.words:
        notes.append(" or ".join(repr(w) for w in f.words))
    if f.default is not REQUIRED and f.default is not None:
        notes.append(f"default {f.default if not str(f.default).startswith('=') else 'the ' + f.default[1:]}")
    if f.domain:
        notes.append(f'"?" ranges over {f.domain[0]}..{f.domain[1]}')
    if f.doc:
        notes.append(f.doc)
    if notes:
        out = {**out, "description": "; ".join(notes)}
    return out


_COMMON = {"name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}, "from": {"$ref": "#/$defs/from"},
           "repeat": {"$ref": "#/$defs/repeat"}, "comment": {"type": "string"}}


def _layer(op: str, name: str) -> dict[str, Any]:
    """One op's layer: its fields, those it needs, and no other (``$defs/op:NAME``)."""
    d = OPS[op]
    props: dict[str, Any] = {"op": {"const": name}, **_COMMON}
    for f in d.fields:
        if not f.borrowed:
            props[f.name] = _field(f)
    required = ["op", *(f.name for f in d.fields if f.default is REQUIRED and not f.borrowed)]
    # propertyNames before required: a misspelt field ("kernal") is the error jsonschema's
    # best_match reports, with the op's fields listed, rather than the field it then lacks
    return {"type": "object", "title": f"{name} ({d.torch})" if d.torch else name, "properties": props,
            "propertyNames": {"enum": list(props)}, "required": required, "additionalProperties": False}


def _layer_choice(names: list[str]) -> dict[str, Any]:
    """A layer: a block call, or a layer whose ``op`` picks its schema (``if``/``then`` per op,
    not ``anyOf``: an editor then offers every op for ``op:`` and that op's fields after it,
    and a wrong field is reported against its op's definition, not against every op's)."""
    ops = {"enum": names, "description": "the layer's operation; its fields follow from it"}
    cases: list[dict[str, Any]] = [{"if": {"required": ["block"]}, "then": {"$ref": "#/$defs/call"},
                                    "else": {"required": ["op"]}}]
    cases += [{"if": {"required": ["op"], "properties": {"op": {"const": n}}}, "then": {"$ref": f"#/$defs/op:{n}"}}
              for n in names]
    return {"type": "object", "title": "a layer (op: ...) or a block call (block: ...)",
            "properties": {"op": ops, "block": {"type": "string", "description": "the block to call"}, **_COMMON},
            "allOf": cases}


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of spec files (draft 2020-12)."""
    names = [*OPS, *ALIASES]
    call = {"type": "object", "title": "a block call",
            "properties": {"block": {"type": "string"}, "name": {"type": "string"}, "from": {"$ref": "#/$defs/from"},
                           "repeat": {"$ref": "#/$defs/repeat"}},
            "required": ["block"], "not": {"required": ["op"]},
            "additionalProperties": {"$ref": "#/$defs/argument"}}
    domain_fields = sorted({f.name for d in OPS.values() for f in d.fields if f.domain is not None})
    assert set(LAYER_KEYS) >= {"name", "op", "block", "from", "repeat"}
    top = {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "semantics": {"enum": ["torch", "tf"], "default": "torch"},
        "exact": {"type": "boolean", "default": False},
        "holes": {"type": "boolean", "default": True},
        "batch": {"type": "integer", "minimum": 1, "maximum": MAX_VALUE, "default": 1,
                  "description": "the batch size memory and activations are counted at"},
        "dtype": {"enum": [d.value for d in Dtype], "default": Dtype.FLOAT32.value,
                  "description": "the type memory and activations are counted in"},
        "input": {"type": "array", "items": {"$ref": "#/$defs/value"}, "minItems": 2, "maxItems": 4,
                  "description": "channels, then 1, 2 or 3 spatial sizes"},
        "vars": {"type": "object", "additionalProperties": {"anyOf": [{"$ref": "#/$defs/var_domain"},
                                                                      {"$ref": "#/$defs/value"}]}},
        "domains": {"type": "object", "propertyNames": {"enum": domain_fields},
                    "additionalProperties": {"$ref": "#/$defs/domain"}},
        "blocks": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {
                "params": {"type": "object", "additionalProperties": {"anyOf": [{"type": "null"},
                                                                                {"$ref": "#/$defs/argument"}]}},
                "layers": {"type": "array", "items": {"$ref": "#/$defs/layer"}, "minItems": 1},
                "description": {"type": "string"}},
            "required": ["layers"], "additionalProperties": False}},
        "layers": {"type": "array", "items": {"$ref": "#/$defs/layer"}, "minItems": 1},
        "constraints": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "minimize": {"type": "string"},
    }
    assert set(top) == set(TOP_KEYS), set(top) ^ set(TOP_KEYS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://archsolve.dev/schema/spec.json",
        "title": "archsolve spec",
        "type": "object",
        "properties": top,
        "required": ["input", "layers"],
        "additionalProperties": False,
        "$defs": {"value": VALUE, "axes": AXES, "sides": SIDES, "domain": DOMAIN, "var_domain": VAR_DOMAIN,
                  "from": FROM, "argument": ARGUMENT, "repeat": REPEAT,
                  "layer": _layer_choice(names), "call": call,
                  **{f"op:{n}": _layer(ALIASES.get(n, n), n) for n in names}},
    }


_KIND_TEXT = {
    Kind.INT: "integer value", Kind.AXES: "value, or one per spatial axis", Kind.SIDES:
    "amount per side: one value, one per axis, or [before, after] per axis", Kind.CHOICE: "one of",
    Kind.BOOL: "true / false", Kind.NUMBER: "number", Kind.LAYER: "layer name",
    Kind.DIMS: "a shape: one value per dimension, one of them may be -1",
}


def reference_markdown() -> str:
    """docs/spec.md: every op and field, from the same table the loader uses."""
    lines = [
        "# The spec language: every op and field",
        "",
        "Generated from archsolve's op table (`archsolve/ops.py`) by `archsolve.schema.reference_markdown`;",
        "a test keeps it in step. The file format as a whole is in docs/spec-format.md; `archsolve schema`",
        "prints the same definitions as a JSON Schema for editors (first line of a spec:",
        "`# yaml-language-server: $schema=archsolve.schema.json`).",
        "",
        "Every layer also takes `name`, `from` (a layer name, or a list for merges) and `repeat`.",
        "A *value* is an integer, `\"?\"` (left to `solve`), a var or block-parameter name, or an",
        "expression over them with `+ - * // %`, parentheses, `min()` and `max()`.",
        "",
    ]
    for name, d in OPS.items():
        alias = [a for a, target in ALIASES.items() if target == name]
        title = f"## `{name}`" + (f" (alias `{'`, `'.join(alias)}`)" if alias else "")
        lines += [title, "", f"PyTorch: {d.torch}." + (" A merge: `from` lists two or more layers." if d.merge else ""),
                  ""]
        if not d.fields:
            lines += ["No fields.", ""]
            continue
        lines += ["| field | kind | default | `\"?\"` ranges over |", "|---|---|---|---|"]
        for f in d.fields:
            if f.borrowed:
                continue
            kind = _KIND_TEXT[f.kind] + (f": {', '.join(f.choices)}" if f.choices else "")
            if f.words:
                kind += f", or {' / '.join(f.words)}"
            if f.default is REQUIRED:
                default = "required"
            elif isinstance(f.default, str) and f.default.startswith("="):
                default = f"= {f.default[1:]}"
            else:
                default = "—" if f.default is None else str(f.default).lower() if isinstance(f.default, bool) \
                    else str(f.default)
            dom = f"{f.domain[0]} .. {f.domain[1]}" if f.domain else "—"
            lines.append(f"| `{f.name}` | {kind} | {default} | {dom} |")
        for f in d.fields:
            if f.borrows:
                lines += ["", f"`{'`, `'.join(f.borrows)}`: those of the {f.of_op} that `{f.name}` names."]
        lines.append("")
    return "\n".join(lines)
