"""Every request body of the workshop server checked before anything is stored.

Each check raises :class:`urlink.errors.InputError` (HTTP 400) with a message naming the
field and the fix, or one of its subclasses: :class:`ForbiddenError` (403: a wrong join
code, token or secret, another group's weights) and :class:`TooLargeError` (413). The
server turns them into a JSON answer ``{"error": message}``; nothing unchecked reaches
the database, and no check can end in a server error.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from urlink.errors import InputError
from urlink.scoring.ahp import AhpConsistency, ahp_consistency
from urlink.validate import find_markup

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_BODY_BYTES",
    "ForbiddenError",
    "TooLargeError",
    "check_client_id",
    "check_fields",
    "check_judgments",
    "check_points",
    "check_secret_equal",
    "check_text",
    "parse_json",
]

MAX_BODY_BYTES = 16_384
"""Largest request body accepted (an AHP matrix of 10 indicators is about 2 KB)."""

MAX_NAME_CHARS = 40
_POINTS_TOTAL = 100.0
_POINTS_TOL = 1e-6
_SAATY_MIN, _SAATY_MAX = 1 / 9, 9.0
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ForbiddenError(InputError):
    """The request is not allowed for its sender (HTTP 403)."""


class TooLargeError(InputError):
    """The request body is larger than :data:`MAX_BODY_BYTES` (HTTP 413)."""


def _no_constant(name: str) -> float:
    msg = f"the JSON holds {name}, which is not a number; send finite numbers only"
    raise InputError(msg)


def parse_json(body: bytes) -> dict[str, Any]:
    """Parse a request body as a JSON object (NaN and Infinity refused).

    Parameters
    ----------
    body
        The raw body.

    Returns
    -------
    dict

    Raises
    ------
    InputError
        If the body is too large, not UTF-8 JSON, or not an object.
    """
    if len(body) > MAX_BODY_BYTES:
        msg = f"the request body has {len(body):,} bytes; at most {MAX_BODY_BYTES:,} are accepted"
        raise TooLargeError(msg)
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        msg = f"the request body is not valid JSON ({err}); send a JSON object"
        raise InputError(msg) from None
    except RecursionError:
        msg = "the request body is nested too deeply; send a flat JSON object"
        raise InputError(msg) from None
    if not isinstance(value, dict):
        msg = f"the request body must be a JSON object, not {type(value).__name__}"
        raise InputError(msg)
    return value


def check_fields(
    body: dict[str, Any], *, required: Sequence[str], optional: Sequence[str] = ()
) -> None:
    """Refuse missing and unknown fields.

    Parameters
    ----------
    body
        The parsed body.
    required, optional
        The field names.

    Raises
    ------
    InputError
        Naming the missing or unknown fields.
    """
    missing = [k for k in required if k not in body]
    unknown = [k for k in body if k not in required and k not in optional]
    if missing or unknown:
        msg = (
            f"missing fields {missing} and unknown fields {unknown[:5]}; send "
            f"{list(required)}" + (f" (optional: {list(optional)})" if optional else "")
        )
        raise InputError(msg)


def check_secret_equal(given: object, expected: str, *, what: str) -> None:
    """Compare a code, token or secret in constant time.

    Parameters
    ----------
    given
        What the request sent.
    expected
        The right value.
    what
        Its name, for the message.

    Raises
    ------
    ForbiddenError
        If they differ.
    """
    if not isinstance(given, str) or not hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode("utf-8")
    ):
        msg = f"wrong {what}; check the address the facilitator gave you"
        raise ForbiddenError(msg)


def check_text(value: object, *, field: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """Check a name typed by a participant: plain text of 1 to ``max_chars`` characters.

    Parameters
    ----------
    value
        The value sent.
    field
        Its field name, for the message.
    max_chars
        The longest accepted.

    Returns
    -------
    str
        The text, stripped.

    Raises
    ------
    InputError
        If it is not text, blank, too long, or holds markup or control characters.
    """
    if not isinstance(value, str):
        msg = f"{field} must be text, not {type(value).__name__}"
        raise InputError(msg)
    text = value.strip()
    if not text or len(text) > max_chars:
        msg = f"{field} must have 1 to {max_chars} characters, not {len(text)}"
        raise InputError(msg)
    if find_markup(text) or _CONTROL.search(text) or "<" in text or ">" in text:
        msg = f"{field} {text!r} contains markup or control characters; use plain text"
        raise InputError(msg)
    return text


def check_client_id(value: object) -> str:
    """Check a submission's client id (8-64 letters, digits, ``_`` or ``-``).

    Parameters
    ----------
    value
        The value sent.

    Returns
    -------
    str

    Raises
    ------
    InputError
        If it is not such a string.
    """
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        msg = "client_id must be 8 to 64 letters, digits, '_' or '-' (one per submission)"
        raise InputError(msg)
    return value


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{where} must be a number, not {value!r}"
        raise InputError(msg)
    number = float(value)
    if not math.isfinite(number):
        msg = f"{where} must be a finite number, not {value!r}"
        raise InputError(msg)
    return number


def check_points(value: object, indicators: Sequence[str]) -> dict[str, float]:
    """Check a 100-point allocation and turn it into weights.

    Parameters
    ----------
    value
        Indicator -> points, for every indicator weighed; each >= 0, together 100.
    indicators
        The indicators weighed.

    Returns
    -------
    dict
        Indicator -> weight (points / 100), in the indicators' order.

    Raises
    ------
    InputError
        If indicators are missing or unknown, points are not finite numbers >= 0, or they
        do not add up to 100.
    """
    if not isinstance(value, dict):
        msg = "points must be an object: indicator -> points"
        raise InputError(msg)
    missing = [c for c in indicators if c not in value]
    unknown = [str(k)[:60] for k in value if k not in indicators]
    if missing or unknown:
        msg = f"points: missing indicators {missing}, unknown indicators {unknown[:5]}"
        raise InputError(msg)
    points = {c: _number(value[c], f"points for {c!r}") for c in indicators}
    negative = [c for c, p in points.items() if p < 0]
    if negative:
        msg = f"points for {negative} are negative; give each indicator 0 to 100 points"
        raise InputError(msg)
    total = sum(points.values())
    if abs(total - _POINTS_TOTAL) > _POINTS_TOL:
        msg = f"the points add up to {total:g}, not 100; change them so that they add up to 100"
        raise InputError(msg)
    return {c: p / _POINTS_TOTAL for c, p in points.items()}


def check_judgments(value: object, indicators: Sequence[str], *, group: str) -> AhpConsistency:
    """Check AHP judgments (one per pair) and derive weights and consistency.

    Parameters
    ----------
    value
        A list of ``[row, col, value]``: ``row`` is ``value`` times as important as ``col``
        on Saaty's scale 1/9 .. 9; every pair of indicators exactly once.
    indicators
        The indicators weighed.
    group
        The group (named in messages).

    Returns
    -------
    urlink.scoring.AhpConsistency
        Weights, CR and the judgment to revise when CR > 0.10
        (:func:`urlink.scoring.ahp_consistency`).

    Raises
    ------
    InputError
        If the list is malformed, names unknown indicators, misses or repeats a pair, or a
        value is not a number between 1/9 and 9.
    """
    n = len(indicators)
    pairs = n * (n - 1) // 2
    if not isinstance(value, list) or len(value) != pairs:
        msg = f"judgments must be a list of {pairs} [row, col, value] (one per pair)"
        raise InputError(msg)
    valid = set(indicators)
    matrix = pd.DataFrame(1.0, index=list(indicators), columns=list(indicators))
    seen: set[frozenset[str]] = set()
    for k, item in enumerate(value):
        if not (isinstance(item, list) and len(item) == 3):
            msg = f"judgment {k}: must be [row, col, value]"
            raise InputError(msg)
        row, col, v = item
        if row not in valid or col not in valid or row == col:
            msg = f"judgment {k}: {str(row)[:60]!r}, {str(col)[:60]!r} are not two indicators"
            raise InputError(msg)
        x = _number(v, f"judgment {k} ({row} vs {col})")
        if not _SAATY_MIN - 1e-9 <= x <= _SAATY_MAX + 1e-9:
            msg = f"judgment {k} ({row} vs {col}) = {x:g}; use Saaty's scale 1/9 .. 9"
            raise InputError(msg)
        pair = frozenset((row, col))
        if pair in seen:
            msg = f"judgment {k}: the pair ({row}, {col}) is given twice; give each pair once"
            raise InputError(msg)
        seen.add(pair)
        matrix.loc[row, col] = x
        matrix.loc[col, row] = 1 / x
    return ahp_consistency(matrix, group=group)
