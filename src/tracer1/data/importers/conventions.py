"""The public benchmarks' own scoring conventions, as pure functions over our actions.

`tracer1.rewards` is the one scorer training and evaluation share; it credits a
click only inside the reference box (or by a linear decay). The datasets these
importers read are reported in the literature under their own conventions, so
offline numbers on imported data can be compared with published ones:

* **AndroidControl / AITW grounding** (`click_matches`): a click is right when it
  lands inside the reference target box, or within 14% of the screen of the
  reference point (distance on the 0-1 normalised screen, i.e. 140 grid units:
  AITW's ``_TAP_DISTANCE_THRESHOLD = 0.14``). Imported Android episodes carry no
  boxes, so the distance rule is what decides there.
* **Step success** (`step_matches`): same action type, and: click -> `click_matches`;
  type / select / answer -> token F1 of the normalised texts >= `TEXT_F1` (0.5, the
  AndroidControl / GUI-Odyssey text rule); press -> same key (aliases folded);
  scroll -> same direction; tool -> same name and arguments (normalised values);
  done -> always.
* **GAIA answers** (`gaia_answers_match`): GAIA's scorer — numbers compared as numbers
  after dropping ``$ % ,``; comma/semicolon lists element by element; other strings
  without whitespace, case and punctuation. A withheld truth (``?``, the test split)
  gives None: there is nothing to score against.
* **GTA** (`tool_accuracy`, `gta_answer_matches`): tool-selection and argument accuracy
  over the reference's tool steps, and the answer check: the whitelist / blacklist
  phrases of objective queries; for subjective queries (a list of reference answers)
  a match with any reference by token F1 >= `TEXT_F1` (GTA itself takes the best
  sentence-embedding similarity over the references; no embedding model runs here).

>>> from tracer1.actions import Click
>>> click_matches(Click(500, 500), Click(600, 560))   # 117 grid units apart: inside 14%
True
>>> gaia_answers_match("$1,000", "1000"), gaia_answers_match("Paris, France", "paris;france")
(True, True)
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tracer1.actions import (
    GRID,
    Action,
    Answer,
    Click,
    Done,
    Press,
    Scroll,
    Select,
    Tool,
    Type,
)
from tracer1.rewards.similarity import tool_similarity
from tracer1.rewards.text import normalize_answer, normalize_key, token_f1

TAP_TOLERANCE = 0.14
"""Share of the (normalised) screen within which a click still hits (AITW / AndroidControl)."""
TEXT_F1 = 0.5
"""Token F1 at which typed / selected text counts as right (AndroidControl, GUI-Odyssey)."""


def click_matches(pred: Click, ref: Click, tolerance: float = TAP_TOLERANCE) -> bool:
    """Inside the reference box, or within `tolerance` of the screen from the reference point.

    >>> from tracer1.actions import Box
    >>> click_matches(Click(10, 10), Click(900, 900, box=Box(0, 0, 50, 50)))
    True
    >>> click_matches(Click(500, 500), Click(500, 641))
    False
    """
    if ref.box is not None and ref.box.contains(pred.x, pred.y):
        return True
    return math.hypot(pred.x - ref.x, pred.y - ref.y) <= tolerance * GRID


_MATCHERS: dict[type, Callable[[Any, Any], bool]] = {
    Click: click_matches,
    Type: lambda p, r: token_f1(p.text, r.text) >= TEXT_F1,
    Select: lambda p, r: token_f1(p.text, r.text) >= TEXT_F1,
    Answer: lambda p, r: token_f1(p.text, r.text) >= TEXT_F1,
    Press: lambda p, r: normalize_key(p.key) == normalize_key(r.key),
    Scroll: lambda p, r: p.direction == r.direction,
    Tool: lambda p, r: tool_similarity(p, r) >= 1.0 - 1e-9,
    Done: lambda p, r: True,
}


def step_matches(pred: Action | None, ref: Action) -> bool:
    """The benchmarks' step-success rule (see the module docstring)."""
    if pred is None or type(pred) is not type(ref):
        return False
    return _MATCHERS[type(ref)](pred, ref)


@dataclass(frozen=True)
class StepConventionMetrics:
    """Offline step metrics under the benchmark conventions.

    `grounding_accuracy` is over steps whose reference is a click and whose
    prediction is a click (the published "grounding" / "click accuracy").
    """

    action_type_accuracy: float
    grounding_accuracy: float
    step_success_rate: float
    steps: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _rate(count: int, total: int) -> float:
    return count / total if total else 0.0


def step_metrics(pairs: Sequence[tuple[Action | None, Action]]) -> StepConventionMetrics:
    """Metrics over (predicted first action or None, reference action) pairs.

    >>> step_metrics([(Click(500, 500), Click(520, 500)), (None, Done())]).to_dict()
    {'action_type_accuracy': 0.5, 'grounding_accuracy': 1.0, 'step_success_rate': 0.5, 'steps': 2}
    """
    typed = sum(p is not None and type(p) is type(r) for p, r in pairs)
    clicks = [(p, r) for p, r in pairs if isinstance(r, Click) and isinstance(p, Click)]
    grounded = sum(click_matches(p, r) for p, r in clicks)
    right = sum(step_matches(p, r) for p, r in pairs)
    return StepConventionMetrics(_rate(typed, len(pairs)), _rate(grounded, len(clicks)),
                                 _rate(right, len(pairs)), len(pairs))


# --- GAIA


def _gaia_number(text: str) -> float:
    for char in ("$", "%", ","):
        text = text.replace(char, "")
    try:
        return float(text)
    except ValueError:
        return math.inf


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def gaia_normalize(text: str, remove_punct: bool = True) -> str:
    """GAIA's string normalisation: no whitespace at all, lower case, optionally no punctuation.

    >>> gaia_normalize(" St. Petersburg ")
    'stpetersburg'
    """
    text = re.sub(r"\s", "", text).lower()
    return text.translate(str.maketrans("", "", string.punctuation)) if remove_punct else text


GAIA_WITHHELD = "?"
"""GAIA's test split publishes this as every final answer (the answers are private)."""


def gaia_answers_match(pred: str, truth: str) -> bool | None:
    """GAIA's quasi-exact match of a model answer against the ground truth.

    None when the truth is withheld (``?``): not a miss, nothing to check.

    >>> gaia_answers_match("?", "?") is None
    True
    """
    if truth.strip() == GAIA_WITHHELD:
        return None
    if _is_number(truth):
        return _gaia_number(pred) == float(truth)
    if any(sep in truth for sep in ",;"):
        truths, preds = re.split(r"[,;]", truth), re.split(r"[,;]", pred)
        if len(truths) != len(preds):
            return False
        return all(
            _gaia_number(p) == float(t) if _is_number(t)
            else gaia_normalize(p, remove_punct=False) == gaia_normalize(t, remove_punct=False)
            for p, t in zip(preds, truths, strict=True)
        )
    return gaia_normalize(pred) == gaia_normalize(truth)


# --- GTA


@dataclass(frozen=True)
class ToolMetrics:
    """GTA step-by-step metrics over the reference's tool steps."""

    tool_accuracy: float
    """Predicted a tool call with the reference's tool name."""
    argument_accuracy: float
    """Same name and the same (normalised) arguments."""
    steps: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def tool_accuracy(pairs: Sequence[tuple[Action | None, Action]]) -> ToolMetrics:
    """Tool-selection and argument accuracy; pairs whose reference is not a tool are ignored.

    >>> tool_accuracy([(Tool.of("OCR", {"image": "a.jpg"}), Tool.of("ocr", {"image": "b.jpg"})),
    ...                (Answer("3"), Tool.of("Calculator", {"expression": "1+2"}))]).to_dict()
    {'tool_accuracy': 0.5, 'argument_accuracy': 0.0, 'steps': 2}
    """
    tools = [(p, r) for p, r in pairs if isinstance(r, Tool)]
    named = sum(isinstance(p, Tool) and p.name.strip().casefold() == r.name.strip().casefold()
                for p, r in tools)
    argued = sum(isinstance(p, Tool) and step_matches(p, r) for p, r in tools)
    return ToolMetrics(_rate(named, len(tools)), _rate(argued, len(tools)), len(tools))


def gta_answer_matches(pred: str, gt_answer: Any) -> bool | None:
    """GTA's answer check (see the module docstring).

    `gt_answer` is the release's ``{"whitelist": [[...], ...], "blacklist": [[...]] | None}``
    for objective queries, a list of reference answers for subjective ones (matched
    when `pred` matches any), or None (image-generation queries): None is returned
    then, and for an empty list: there is no answer to check.

    >>> gta_answer_matches("The total is 12 dollars", {"whitelist": [["12", "twelve"]]})
    True
    >>> gta_answer_matches("Drink water and rest", ["Rest and drink water", "See a doctor"])
    True
    """
    if isinstance(gt_answer, list):
        references = [str(r) for r in gt_answer if isinstance(r, str | int | float) and str(r)]
        if not references:
            return None
        return any(token_f1(pred, ref) >= TEXT_F1 for ref in references)
    if not isinstance(gt_answer, dict):
        return None
    said = f" {normalize_answer(pred)} "

    def has(phrase: Any) -> bool:
        return f" {normalize_answer(str(phrase))} " in said

    white = gt_answer.get("whitelist") or []
    black = gt_answer.get("blacklist") or []
    groups_ok = all(any(has(p) for p in group) for group in white)
    banned = any(has(p) for group in black for p in group)
    return groups_ok and not banned


__all__ = [
    "GAIA_WITHHELD",
    "TAP_TOLERANCE",
    "TEXT_F1",
    "StepConventionMetrics",
    "ToolMetrics",
    "click_matches",
    "gaia_answers_match",
    "gaia_normalize",
    "gta_answer_matches",
    "step_matches",
    "step_metrics",
    "tool_accuracy",
]
