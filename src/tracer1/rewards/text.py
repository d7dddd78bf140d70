"""Text normalisation shared by every scorer that compares strings (one scorer, no drift).

>>> normalize_answer("  The Answer: 21.0! ")
'answer 21'
>>> answers_match("21", "21.000")
True
>>> token_f1("red car", "the red cars")
0.5
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s.\-]")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:e-?\d+)?$")
_WS = re.compile(r"\s+")


def _canonical_number(token: str) -> str:
    """'21.000' -> '21', '-0.50' -> '-0.5', '1e3' -> '1000'; other tokens unchanged."""
    token = token.replace(",", "")
    if not _NUMBER.match(token):
        return token.strip(".-") or token
    value = float(token)
    if not math.isfinite(value):
        return token
    rounded = round(value, 6)
    if rounded == int(rounded) and abs(rounded) < 1e15:
        return str(int(rounded))
    return f"{rounded:.6f}".rstrip("0").rstrip(".")


def normalize_answer(text: str) -> str:
    """Lower-case, strip accents/punctuation/articles, canonicalise numbers, collapse spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,234 -> 1234
    text = _PUNCT.sub(" ", text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(_canonical_number(t) for t in _WS.split(text) if t)


def tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def token_f1(pred: str, ref: str) -> float:
    """SQuAD-style token F1 of the normalised strings; two empty strings match (1.0)."""
    p, r = tokens(pred), tokens(ref)
    if not p or not r:
        return float(p == r)
    common = sum((Counter(p) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def answers_match(pred: str, ref: str, rel_tol: float = 1e-4) -> bool:
    """Exact match after normalisation; a lone number also matches within `rel_tol`."""
    a, b = normalize_answer(pred), normalize_answer(ref)
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-9)


# Spellings of one key across experts, selenium and models ("Return", "ArrowDown").
_KEY_ALIASES = {
    "return": "enter",
    "esc": "escape",
    "del": "delete",
    "control": "ctrl",
    "cmd": "meta",
    "command": "meta",
    "super": "meta",
    "win": "meta",
    "option": "alt",
    "spacebar": "space",
    "arrowup": "up",
    "arrowdown": "down",
    "arrowleft": "left",
    "arrowright": "right",
    "pgup": "pageup",
    "pgdn": "pagedown",
}
_KEY_NOISE = re.compile(r"[\s_\-]")


def normalize_key(key: str) -> str:
    """Case-insensitive key name with common aliases folded; combos keep their order.

    >>> normalize_key("Return"), normalize_key("Arrow_Down"), normalize_key("Control+A")
    ('enter', 'down', 'ctrl+a')
    """
    parts = (_KEY_NOISE.sub("", part.casefold()) for part in key.split("+"))
    return "+".join(_KEY_ALIASES.get(part, part) for part in parts)
