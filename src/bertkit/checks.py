"""Argument checks shared by every configuration: one rule per kind of value, one wording for its error.

`where` names the owner as a user would write it (`BertConfig.hidden_size`, `batch_size`); the CLI turns
parameter names into its flags when it prints the message.
"""

from typing import Any

from bertkit.errors import InvalidArgumentError


def check_int(where: str, value: Any, minimum: int = 1) -> None:
    """An int (not a bool) of at least `minimum`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InvalidArgumentError(f"{where} must be {wanted}, got {value!r}")


def check_probability(where: str, value: Any, *, zero: bool = True, one: bool = False) -> None:
    """A number in [0, 1), with `zero`/`one` saying whether 0 and 1 themselves are allowed."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and (value >= 0.0 if zero else value > 0.0) and (value <= 1.0 if one else value < 1.0)
    if not ok:
        interval = ("[" if zero else "(") + "0, 1" + ("]" if one else ")")
        raise InvalidArgumentError(f"{where} must be a number in {interval}, got {value!r}")


def check_choice(where: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise InvalidArgumentError(f"{where} must be one of {', '.join(map(str, choices))}, got {value!r}")
