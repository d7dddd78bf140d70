"""The tool-use suite (GAIA/GTA-like): multi-hop questions answered through frozen tools.

`ToolUseEnv` executes `Tool` actions with the sandboxed `Toolbox` and scores
`Answer` against the task's reference with the shared text scorer. The
observation lists the tools with their signatures and the most recent call
results, so the planner sees everything it needs to write its next call.

>>> from tracer1.trajectory import Step
>>> suite = ToolUseSuite()
>>> task = suite.make_task("table_sum", seed=3, difficulty=1)
>>> env, expert = suite.make_env(), suite.expert()
>>> obs, history, done = env.reset(task), [], False
>>> while not done:
...     action = expert.act(task, obs, history)
...     obs_next, reward, done, info = env.step(action)
...     history.append(Step(len(history), obs, action, executed=info, reward=reward))
...     obs = obs_next
>>> reward, len(history)
(1.0, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracer1.actions import Action, Answer, Done, Tool, format_action
from tracer1.envs.base import StepResult, episode_limit, register_suite, step_limits_of
from tracer1.envs.tooluse_tasks import FAMILIES, generate_task
from tracer1.executors import Toolbox, tool_info
from tracer1.experts.tooluse import ToolUseExpert
from tracer1.rewards.text import answers_match
from tracer1.trajectory import Observation, Task

MAX_STEPS = 50
HISTORY_LIMIT = 8  # results shown in the observation; older ones are summarised by count
OUTPUT_CHARS = 600
CALL_CHARS = 300
_GUI_ERROR = ("error: {verb}() is a GUI action and this is a tool-use task; "
              "call tool(name=..., args={{...}}) or finish with answer(text=...)")


@dataclass(frozen=True)
class CallRecord:
    """One executed call as the observation shows it."""

    call: str
    ok: bool
    output: str


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


class ToolUseEnv:
    """One episode at a time over a private toolbox; `close()` frees the search index."""

    def __init__(self, toolbox: Toolbox | None = None, max_steps: int = MAX_STEPS,
                 history_limit: int = HISTORY_LIMIT, output_chars: int = OUTPUT_CHARS,
                 step_limits: Mapping[int, int] | None = None):
        """`max_steps` bounds every episode; `step_limits` (task difficulty → steps) bounds
        easier tasks tighter, so a lost planner stops soon after the calls the task needs."""
        self.toolbox = toolbox or Toolbox()
        self.max_steps = max_steps
        self.step_limits = step_limits_of(step_limits)
        self._limit = max_steps
        self.history_limit = history_limit
        self.output_chars = output_chars
        self._tools_text = self.toolbox.describe()
        self._signatures = self.toolbox.signatures()
        self._task: Task | None = None
        self._entries: list[CallRecord] = []
        self._steps = 0
        self._done = True

    # ------------------------------------------------------------------ protocol

    def reset(self, task: Task) -> Observation:
        if "answer" not in task.spec or "plan" not in task.spec:
            raise ValueError(f"task {task.task_id!r} is not a tool-use task (spec lacks answer)")
        self._task, self._entries, self._steps, self._done = task, [], 0, False
        self._limit = episode_limit(self.step_limits, task.difficulty, self.max_steps)
        return self._observe()

    def step(self, action: Action) -> StepResult:
        if self._task is None or self._done:
            raise RuntimeError("the episode is over (or never started): call reset(task) first")
        handler = self._HANDLERS.get(type(action), ToolUseEnv._step_gui)
        reward, done, info = handler(self, action)
        self._steps += 1
        if not done and self._steps >= self._limit:
            done, info = True, {**info, "truncated": True}
        self._done = done
        return self._observe(), reward, done, info

    def close(self) -> None:
        self.toolbox.close()

    # ------------------------------------------------------------------ actions

    def _step_tool(self, action: Tool) -> tuple[float, bool, dict[str, Any]]:
        result = self.toolbox.execute(action)
        self._record(format_action(action), result.ok, result.output)
        return 0.0, False, tool_info(action, result)

    def _step_answer(self, action: Answer) -> tuple[float, bool, dict[str, Any]]:
        correct = answers_match(action.text, self._task.spec["answer"])
        return float(correct), True, {"answer": action.text, "correct": correct}

    def _step_done(self, action: Done) -> tuple[float, bool, dict[str, Any]]:
        # A tool task is only solved by an answer: giving up scores 0.
        return 0.0, True, {"answer": None, "correct": False}

    def _step_gui(self, action: Action) -> tuple[float, bool, dict[str, Any]]:
        message = _GUI_ERROR.format(verb=action.verb)
        self._record(format_action(action), False, message)
        return 0.0, False, {"verb": action.verb, "ok": False, "output": message}

    _HANDLERS: dict[type, Callable[..., tuple[float, bool, dict[str, Any]]]] = {
        Tool: _step_tool,
        Answer: _step_answer,
        Done: _step_done,
    }

    # ------------------------------------------------------------------ observation

    def _record(self, call: str, ok: bool, output: str) -> None:
        self._entries.append(CallRecord(_clip(call, CALL_CHARS), ok, output))

    def _observe(self) -> Observation:
        return Observation(text=render_observation(self._tools_text, self._entries,
                                                   self.history_limit, self.output_chars,
                                                   signatures=self._signatures))


def render_observation(tools_text: str, entries: Sequence[CallRecord], history_limit: int,
                       output_chars: int, *, signatures: str | None = None) -> str:
    """The tools, then the last `history_limit` calls numbered from 1.

    Before the first call the observation describes every tool; after it, only
    their `signatures` (when given) — the descriptions are static, and repeating
    them in every state was about 45% of the planner's prompt tokens. Failed calls
    read ``-> error: ...``; the numbering keeps counting past hidden calls so the
    planner can tell how many calls it has made.
    """
    if not entries:
        return "\n".join([
            'Tools (call as tool(name="...", args={...}); finish with answer(text="...")):',
            tools_text, "Results: no calls yet."])
    lines = [f"Tools: {signatures}" if signatures is not None else tools_text]
    hidden = max(0, len(entries) - history_limit)
    header = f"Results of {len(entries)} call(s)"
    lines.append(header + (f" ({hidden} earlier not shown):" if hidden else ":"))
    for number, entry in enumerate(entries[hidden:], start=hidden + 1):
        lines.append(f"Call {number}: {entry.call}")
        lines.append("-> " + _clip(entry.output, output_chars))
    return "\n".join(lines)


@register_suite("tooluse")
class ToolUseSuite:
    """Seeded tool-use tasks, the toolbox environment and the scripted expert."""

    name = "tooluse"
    unique_instructions = True  # a question is the task: the same one in two splits leaks
    terminal_verbs = ("answer", "done")

    def __init__(self, max_steps: int = MAX_STEPS, history_limit: int = HISTORY_LIMIT,
                 step_limits: Mapping[int, int] | None = None):
        """`step_limits`: task difficulty (1-3) → the episode bound for those tasks (at most
        `max_steps`; default none). The closed loop applies it too (`run_episodes`)."""
        self.max_steps = max_steps
        self.history_limit = history_limit
        self.step_limits = step_limits_of(step_limits)

    def families(self) -> Sequence[str]:
        return list(FAMILIES)

    def make_task(self, family: str, seed: int, difficulty: int) -> Task:
        return generate_task(family, seed, difficulty)

    def make_env(self) -> ToolUseEnv:
        return ToolUseEnv(max_steps=self.max_steps, history_limit=self.history_limit,
                          step_limits=self.step_limits)

    def expert(self) -> ToolUseExpert:
        return ToolUseExpert()


__all__ = ["CallRecord", "ToolUseEnv", "ToolUseSuite", "render_observation"]
