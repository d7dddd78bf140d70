"""`stage2_rft`: grounded GRPO — the forecast's first action is executed and rewarded 1/0.

The states come from `collect_feedback`: every state the Stage-1 planner visited,
with the expert's reference from there. `GroundedExecutionReward` re-creates each
state (task from its seed, then a replay of the recorded history), executes the
sampled forecast's first action through the suite's environment — the frozen tool
agent — and scores the effect with the shared pure scorer
(`tracer1.rewards.grounded_reward`), the one evaluation uses too.

Feedback record (one JSON object per line of ``{feedback_dir}/feedback.jsonl``):
`suite`, `family`, `seed`, `difficulty`, `task_id`, `step`, `instruction`,
`observation` (`observation_to_json` form), `history` (every canonical action
executed before this state), `forecast`, `executed`, `reference_action`,
`reference_box`, `reference_executed`, `reference_answer`. A state seen by a VLM
planner names its screenshot in `observation.screenshot`, relative to the feedback
directory (`collect_feedback` saves the live screens under `screenshots/`).

The grounded reference of a state: the expert's tool call → its executed output
(`reference_executed["output"]`); the expert's answer → the task's answer
(`reference_answer`); a GUI action → that action with its target box.
"""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer1.actions import (
    GUI_ACTIONS,
    Action,
    Answer,
    Box,
    ParseError,
    Tool,
    format_action,
    parse_action,
    parse_plan,
)
from tracer1.config import Params
from tracer1.feedback import FEEDBACK_FILE
from tracer1.layout import Layout
from tracer1.rewards import completion_text, grounded_gui, grounded_tool
from tracer1.training.curve import LogFn

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

STAGE = "stage2_rft"
SCORE_CACHE = 65_536  # (state, action) scores kept; a feedback set has a few thousand states


def grounded_score(executed: Any, reference: Action | str) -> float:
    """Score what the environment executed (`info`) against a grounded reference.

    A string reference (the expert's tool output, or the task's answer) is matched
    against the executed tool's output, or against the planner's answer text when it
    answered (`{"answer": ...}` info); an action reference goes to `grounded_gui`.

    >>> grounded_score({"tool": "calculator", "args": {}, "output": "364", "ok": True}, "364")
    1.0
    >>> grounded_score({"answer": "364", "correct": True}, "364")
    1.0
    >>> grounded_score({"answer": None, "correct": False}, "364")
    0.0
    """
    if isinstance(reference, str):
        if isinstance(executed, dict) and "answer" in executed and "tool" not in executed:
            answer = executed.get("answer")
            return grounded_tool(answer, reference) if isinstance(answer, str) else 0.0
        return grounded_tool(executed, reference)
    return grounded_gui(executed, reference)


def reference_of(action: Action, box: Any, text: str | None) -> Action | str:
    """The grounded reference of one row: its text when set, else the action with its box."""
    if text is not None:
        return text
    if box is not None and isinstance(action, GUI_ACTIONS):
        import dataclasses

        return dataclasses.replace(action, box=Box.from_list(box))
    return action


class GroundedExecutionReward:
    """Stage-2 binary reward with trl's signature: execute the first forecast action, score it.

    Dataset columns read (one value per completion): `suite`, `family`, `seed`,
    `difficulty`, `history` (canonical action strings), `reference_action`,
    `reference_box`, `reference_text`. An unparseable or empty plan scores 0.0.

    A group's G completions share a state, and identical first actions share one
    execution: scores are cached per (state, action), so the replay runs once per
    distinct action of a state, not once per sample. (A restored environment cannot be
    reused for a second, different action: the first one changed its state.) Suites and
    tasks are cached too. A callable class, not a closure, so it pickles; the caches
    are dropped when pickled.

    >>> reward = GroundedExecutionReward()
    >>> reward.__name__
    'grounded_reward'
    """

    def __init__(self, cache_size: int = SCORE_CACHE,
                 suite_options: dict[str, dict[str, Any]] | None = None):
        self.__name__ = "grounded_reward"
        self._cache_size = cache_size
        # Plain data (the suites' constructor arguments), so the reward still pickles.
        self._suite_options = dict(suite_options or {})
        self._init_caches()

    def _init_caches(self) -> None:
        self._suites: dict[str, Any] = {}
        self._tasks: dict[tuple, Any] = {}
        self._scores: OrderedDict[tuple, float] = OrderedDict()
        self.executions = 0  # replays actually run (a test and the logs read it)

    def __getstate__(self) -> dict[str, Any]:
        return {"__name__": self.__name__, "_cache_size": self._cache_size,
                "_suite_options": self._suite_options}

    def close(self) -> None:
        """Free the suites' resources (a GUI suite's browsers)."""
        from tracer1.envs.base import close_suite

        for suite in self._suites.values():
            close_suite(suite)
        self._suites.clear()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_caches()

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        *,
        suite: Sequence[str] = (),
        family: Sequence[str] = (),
        seed: Sequence[int] = (),
        difficulty: Sequence[int] = (),
        history: Sequence[Sequence[str]] = (),
        reference_action: Sequence[str] = (),
        reference_box: Sequence[Any] | None = None,
        reference_text: Sequence[str | None] | None = None,
        **_: Any,
    ) -> list[float | None]:
        n = len(completions)
        columns = {"suite": suite, "family": family, "seed": seed, "difficulty": difficulty,
                   "history": history, "reference_action": reference_action}
        for name, values in columns.items():
            if len(values) != n:  # a wiring bug, not model output: fail loudly
                raise ValueError(f"{self.__name__} needs the dataset column `{name}` "
                                 f"(one per completion); got {len(values)} for {n} completions")
        boxes = reference_box if reference_box is not None else [None] * n
        texts = reference_text if reference_text is not None else [None] * n
        out: list[float | None] = []
        for i, completion in enumerate(completions):
            actions = parse_plan(completion_text(completion)).actions
            if not actions:
                out.append(0.0)
                continue
            state = (suite[i], family[i], int(seed[i]), int(difficulty[i]), tuple(history[i]))
            box = tuple(boxes[i]) if boxes[i] is not None else None  # hashable for the cache
            ref_key = (reference_action[i], box, texts[i])
            out.append(self._score(state, actions[0], ref_key))
        return out

    def _score(self, state: tuple, action: Action, ref_key: tuple) -> float:
        key = (state, format_action(action), ref_key)
        if key in self._scores:
            self._scores.move_to_end(key)
            return self._scores[key]
        score = self._execute(state, action, ref_key)
        self._scores[key] = score
        if len(self._scores) > self._cache_size:
            self._scores.popitem(last=False)
        return score

    def _execute(self, state: tuple, action: Action, ref_key: tuple) -> float:
        from tracer1.envs.base import get_suite, restore

        suite_name, family, seed, difficulty, history = state
        ref_text, ref_box, text = ref_key
        reference = reference_of(_parse(ref_text, "reference_action"), ref_box, text)
        if suite_name not in self._suites:
            self._suites[suite_name] = get_suite(suite_name,
                                                 **self._suite_options.get(suite_name, {}))
        suite = self._suites[suite_name]
        task_key = (suite_name, family, seed, difficulty)
        if task_key not in self._tasks:
            self._tasks[task_key] = suite.make_task(family, seed, difficulty)
        replay = [_parse(text, "history") for text in history]
        env, _ = restore(suite, self._tasks[task_key], replay)
        self.executions += 1
        try:
            _, _, _, info = env.step(action)
        finally:
            env.close()
        return grounded_score(info, reference)


def _parse(text: str, column: str) -> Action:
    action = parse_action(text)
    if isinstance(action, ParseError):  # recorded data, not model output
        raise ValueError(f"feedback column {column}: {text!r}: {action.message}")
    return action


# ------------------------------------------------------------------ the dataset


def feedback_rows(
    feedback_dir: str | os.PathLike, *, horizon: int, history: int, images: bool = False
) -> list[dict[str, Any]]:
    """Stage-2 rows from ``{feedback_dir}/feedback.jsonl``: the prompt plus the reward columns
    (with `images`, also the state's screenshot file, for a VLM: `screenshot_files`).

    States recorded more than once (the same task and history) are kept once.
    A record whose expert tool call failed has no grounded reference and is skipped.
    """
    from tracer1.policy.base import PlanRequest
    from tracer1.training.data import screenshot_files
    from tracer1.trajectory import observation_from_json

    path = Path(feedback_dir) / FEEDBACK_FILE
    rows: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    skipped = 0
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                state = (rec["suite"], rec["family"], int(rec["seed"]), int(rec["difficulty"]),
                         tuple(rec["history"]))
                ref_action = _parse(rec["reference_action"], "reference_action")
                text = _reference_text(ref_action, rec)
                observation = observation_from_json(rec["observation"], "observation")
                past = tuple(_parse(a, "history") for a in rec["history"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
            if text is _NO_REFERENCE:
                skipped += 1
                continue
            if state in seen:
                continue
            seen.add(state)
            request = PlanRequest(rec["instruction"], observation, past)
            shots = {"images": screenshot_files(feedback_dir, observation)} if images else {}
            rows.append({
                "prompt": request.prompt(horizon, history),
                "suite": state[0],
                "family": state[1],
                "seed": state[2],
                "difficulty": state[3],
                "history": list(state[4]),
                "task_id": rec.get("task_id", ""),
                "step": int(rec.get("step", len(past))),
                "reference_action": rec["reference_action"],
                "reference_box": rec.get("reference_box"),
                "reference_text": text,
                **shots,
            })
    if skipped:
        logger.warning("%s: %d record(s) without a grounded reference skipped", path, skipped)
    return rows


_NO_REFERENCE = object()


def _reference_text(action: Action, rec: dict[str, Any]) -> Any:
    if isinstance(action, Tool):
        executed = rec.get("reference_executed") or {}
        if not executed.get("ok") or not isinstance(executed.get("output"), str):
            return _NO_REFERENCE
        return executed["output"]
    if isinstance(action, Answer):
        return str(rec["reference_answer"])
    return None


def feedback_dataset(feedback_dir: str | os.PathLike, *, horizon: int, history: int,
                     images: bool = False) -> Dataset:
    """`feedback_rows` as a `datasets.Dataset`; an empty feedback set is an error."""
    from datasets import Dataset

    rows = feedback_rows(feedback_dir, horizon=horizon, history=history, images=images)
    if not rows:
        raise ValueError(f"{feedback_dir}: no usable feedback states")
    return Dataset.from_list(rows)


def run_stage2(
    params: Params,
    variant: str,
    feedback_dir: str | os.PathLike | None = None,
    *,
    log: LogFn | None = None,
    curve_path: str | os.PathLike | None = None,
    layout: Layout | None = None,
) -> dict[str, Any]:
    """Stage-2 grounded GRPO of `variant` from its `layout.stage1_model` to its
    `layout.stage2_model` (`layout` defaults to the working directory's).

    `feedback_dir` defaults to the variant's `layout.feedback`.
    """
    from tracer1.policy.model import model_kind, read_meta
    from tracer1.rewards import FormatReward
    from tracer1.training.grpo import run_grpo
    from tracer1.training.stage1 import check_model

    horizon, history = params.forecast.horizon(variant), params.forecast.history
    layout = layout or Layout(variant=variant)
    model_in = str(layout.stage1_model)
    check_model(model_in, horizon=horizon, history=history, read=read_meta)
    if feedback_dir is None:
        feedback_dir = layout.feedback
    vision = model_kind(read_meta(model_in).kind).vision  # a VLM also gets the screenshots
    dataset = feedback_dataset(feedback_dir, horizon=horizon, history=history, images=vision)
    options = {name: dict(cfg.options) for name, cfg in params.build_dataset.suites.items()}
    reward = GroundedExecutionReward(suite_options=options)
    try:
        metrics = run_grpo(
            model_in,
            dataset,
            [reward, FormatReward(horizon=horizon)],
            [1.0, params.stage2_rft.format_weight],
            params.stage2_rft,
            layout.stage2_model,
            params.policy,
            stage=STAGE,
            log=log,
            curve_path=curve_path,
        )
    finally:
        reward.close()
    metrics["executions"] = reward.executions
    return metrics


__all__ = [
    "FEEDBACK_FILE",
    "STAGE",
    "GroundedExecutionReward",
    "feedback_dataset",
    "feedback_rows",
    "grounded_score",
    "reference_of",
    "run_stage2",
]
