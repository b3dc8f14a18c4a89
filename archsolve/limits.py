"""What archsolve refuses to read or enumerate, as one value passed down (like black's ``Mode``).

A spec file may come from anyone: these bounds keep a hostile or mistaken one from filling
the memory or the time.  The command line's ``--max-*`` flags make one :class:`Limits`; the
loader keeps it on the :class:`~archsolve.spec.model.Spec`, where every later stage reads it.
Nothing is stored in module globals, so one call's flags never leak into the next call.

    >>> from archsolve.spec.load import load_text
    >>> load_text("input: [1, 8]\\nlayers: [{op: relu}, {op: relu}]", limits=Limits(layers=1))
    Traceback (most recent call last):
    ...
    archsolve.errors.LimitPassed: <spec>:2:22: layers[1] (relu2): the network has more than 1 layers
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The bounds on one run (the defaults are the command line's)."""

    file_bytes: int = 2 * 1024 * 1024  # --max-file-mb: a spec file's size
    yaml_values: int = 200_000  # --max-values: values a YAML document expands to (aliases)
    layers: int = 100_000  # --max-layers: layers after blocks and repeat
    repeat: int = 10_000  # --max-repeat: the largest repeat count
    expr_length: int = 1_000  # --max-expr: the longest expression, in characters
    # --max-combinations: the most values one unknown, or one layer's unknowns together, may take
    combinations: int = 200_000


DEFAULT_LIMITS = Limits()

# the largest number a spec or the command line may write (a size, a count, a bound): far past
# any network, and still short enough to print (Python refuses to print ints over 4,300 digits,
# and products of such numbers would reach it)
MAX_NUMBER = 10**18


def shown_number(text: str) -> str:
    """A number as a message shows it: a long one by its first digits and its length.

        >>> shown_number("12"), shown_number("9" * 5000)
        ('12', '99999999999999999999... (5000 digits)')
    """
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} digits)"


def over_the_largest(text: str) -> str | None:
    """Where ``text`` (ASCII digits, a sign before them or not) is a number past
    :data:`MAX_NUMBER`, the words that say so; else None.  Its length is looked at first:
    Python will not even read an int of over 4,300 digits.

        >>> over_the_largest("12"), over_the_largest("-" + "9" * 30)
        (None, '99999999999999999999... (30 digits) is over 1,000,000,000,000,000,000')
    """
    digits = text.strip().lstrip("+-")
    if len(digits) <= len(str(MAX_NUMBER)) and int(digits) <= MAX_NUMBER:
        return None
    return f"{shown_number(digits)} is over {MAX_NUMBER:,}"
