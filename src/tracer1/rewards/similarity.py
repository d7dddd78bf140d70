"""One action against one action: `sim` of the TraceR1 reward, and "the same action" for `rep`.

`similarity` dispatches on the reference's type through a registry, so a new action type
adds one scorer here and nothing else changes. Every scorer returns a float in [0, 1].

>>> similarity(Click(100, 100), Click(170, 100))
0.5
>>> similarity(Click(100, 100), Type("100"))
0.0
>>> similarity(Tool.of("calc", {"x": 2}), Tool.of("calc", {"x": "2.0"}))
1.0
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from tracer1.actions import Action, Answer, ArgValue, Click, Done, Press, Scroll, Select, Tool, Type
from tracer1.rewards.text import normalize_answer, normalize_key, token_f1

CLICK_SCALE = 140.0
"""Grid units at which a click outside the target's box has lost all credit (linear decay)."""
SAME_POINT = 20.0
"""Two clicks at most this far apart (grid units) hit the same point, for the repetition penalty."""

SimilarityFn = Callable[[Any, Any], float]
_SIMILARITY: dict[type, SimilarityFn] = {}


def register_similarity(*types: type) -> Callable[[SimilarityFn], SimilarityFn]:
    """Decorator: score pairs of actions of `types` with the decorated function."""

    def deco(fn: SimilarityFn) -> SimilarityFn:
        for cls in types:
            if cls in _SIMILARITY:
                raise ValueError(f"similarity for {cls.__name__} registered twice")
            _SIMILARITY[cls] = fn
        return fn

    return deco


def similarity(pred: Action, ref: Action) -> float:
    """How well `pred` matches `ref`, in [0, 1]; 0 when the action types differ."""
    if type(pred) is not type(ref):
        return 0.0
    return _SIMILARITY[type(ref)](pred, ref)


@register_similarity(Click)
def click_similarity(pred: Click, ref: Click) -> float:
    """1 inside the reference's box (when it has one), else linear decay with distance."""
    if ref.box is not None and ref.box.contains(pred.x, pred.y):
        return 1.0
    return max(0.0, 1.0 - math.hypot(pred.x - ref.x, pred.y - ref.y) / CLICK_SCALE)


@register_similarity(Type, Select, Answer)
def text_similarity(pred: Type | Select | Answer, ref: Type | Select | Answer) -> float:
    """Token F1 of the normalised texts; the element description is not scored."""
    return token_f1(pred.text, ref.text)


@register_similarity(Press)
def press_similarity(pred: Press, ref: Press) -> float:
    return float(normalize_key(pred.key) == normalize_key(ref.key))


@register_similarity(Scroll)
def scroll_similarity(pred: Scroll, ref: Scroll) -> float:
    return float(pred.direction == ref.direction)


@register_similarity(Tool)
def tool_similarity(pred: Tool, ref: Tool) -> float:
    """Name match times F1 over `key=value` pairs, values normalised (2 == 2.0 == "2").

    >>> tool_similarity(Tool.of("search", {"q": "cats", "n": 3}), Tool.of("search", {"q": "cats"}))
    0.6666666666666666
    """
    if tool_name(pred.name) != tool_name(ref.name):
        return 0.0
    return bag_f1(tool_pairs(pred), tool_pairs(ref))


@register_similarity(Done)
def done_similarity(pred: Done, ref: Done) -> float:
    return 1.0


def tool_name(name: str) -> str:
    return name.strip().casefold()


def arg_text(value: ArgValue) -> str:
    """An argument value as text, before normalisation (JSON spelling for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tool_pairs(tool: Tool) -> Counter[tuple[str, str]]:
    return Counter((key, normalize_answer(arg_text(value))) for key, value in tool.args)


def bag_f1(pred: Counter, ref: Counter) -> float:
    """F1 of two multisets; two empty bags match (1.0)."""
    n_pred, n_ref = sum(pred.values()), sum(ref.values())
    if not n_pred or not n_ref:
        return float(n_pred == n_ref)
    common = sum((pred & ref).values())
    if common == 0:
        return 0.0
    precision, recall = common / n_pred, common / n_ref
    return 2 * precision * recall / (precision + recall)


def same_action(a: Action, b: Action) -> bool:
    """Whether `b` repeats `a`: equal actions, or two clicks on (nearly) the same point.

    >>> same_action(Click(10, 10, target="OK"), Click(22, 18, target="Cancel"))
    True
    """
    if isinstance(a, Click) and isinstance(b, Click):
        return (a.x - b.x) ** 2 + (a.y - b.y) ** 2 <= SAME_POINT**2
    return a == b


def repetition_flags(forecast: list[Action]) -> list[int]:
    """`rep_k`: 1 where action k repeats an earlier action of the same forecast.

    `done()` never counts: a finished episode is padded with `done()` (references and,
    after a terminal action, forecasts), so repeating it is the correct forecast, not a
    loop.

    >>> repetition_flags([Click(5, 5), Type("a"), Click(6, 6), Done(), Done()])
    [0, 0, 1, 0, 0]
    """
    return [
        int(not isinstance(a, Done) and any(same_action(b, a) for b in forecast[:k]))
        for k, a in enumerate(forecast)
    ]
