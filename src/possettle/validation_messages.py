"""Pydantic validation errors said the possettle way: ``where: what is wrong``.

``where`` is the key path as a reader writes it (``rules[2].latency_ms``, ``checks.link``);
the offending value is never echoed (it may be a card number or a key), and any digit run in a
key name that hides a card number is masked. A ``ValueError`` raised by a model's own check is
said in its own words, without pydantic's "Value error, " prefix.
"""

from __future__ import annotations

from pydantic import ValidationError

from possettle.cards import mask_card_numbers

_PLAIN = {
    "extra_forbidden": "unknown setting",
    "missing": "missing",
}


def where(loc: tuple[int | str, ...]) -> str:
    """``("rules", 2, "latency_ms")`` as ``rules[2].latency_ms``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = mask_card_numbers(part)
            out += f".{name}" if out else name
    return out


def problems(exc: ValidationError, *, extra: str = "unknown setting") -> list[str]:
    """Each fault of ``exc`` as ``where: what is wrong`` (or just what, for the whole input)."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        kind = err["type"]
        if kind == "value_error":
            what = str(err.get("ctx", {}).get("error", err["msg"]))
        elif kind == "extra_forbidden":
            what = extra
        else:
            what = _PLAIN.get(kind, err["msg"])
        at = where(err["loc"])
        out.append(f"{at}: {what}" if at else what)
    return out
