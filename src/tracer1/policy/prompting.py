"""Prompt rendering: instruction, compact observation and the last K actions → planner prompt.

One renderer for SFT, both GRPO stages and evaluation, so the planner never
sees a prompt format at test time that it was not trained on.

>>> from tracer1.actions import Tool
>>> from tracer1.trajectory import Observation
>>> print(render_prompt("Add 2 and 3.", Observation(text="tools: calculator"),
...                     [Tool.of("calculator", {"expression": "2+3"})], horizon=2))
Task: Add 2 and 3.
Observation:
tools: calculator
Previous actions:
tool(name="calculator", args={"expression": "2+3"})
Forecast the next 2 actions.

The task comes first, on one line, and the newest state last, next to the forecast
request. With the task last, the 135M planner often copied the task's first entity into
later steps (`search("2029")` after the search had answered); task first, the same SFT
budget matched the expert's first action after a call on 33/62 validation windows against
26/62 (docs/planner.md). Prompts over the model's
budget keep the task line and lose the oldest observation text
(`tracer1.policy.tokenizer.clip_prompt`).
"""

from __future__ import annotations

from collections.abc import Sequence

from tracer1.actions import Action, format_action
from tracer1.trajectory import Element, Observation

MAX_ELEMENTS = 40  # keep prompts bounded on busy pages

# The system turn of an instruct model's chat template (`tracer1.policy.tokenizer.fit_prompt`).
# Every training window and planner call pays for it, and prefill dominates both on a CPU:
# one line (a 70-token version that spelled out the action language cost 15% of a
# tool-use prompt and did not make the 135M base write plans zero-shot). The tiny model
# has no template and never sees it.
SYSTEM_PROMPT = "Reply with a <plan> block, one action per line."


def render_element(e: Element) -> str:
    cx, cy = e.box.center
    text = e.text if len(e.text) <= 60 else e.text[:57] + "..."
    return f"[{e.ref}] {e.tag} {text!r} at ({cx}, {cy})"


def render_observation(obs: Observation) -> str:
    lines = [obs.text] if obs.text else []
    lines += [render_element(e) for e in obs.elements[:MAX_ELEMENTS]]
    if len(obs.elements) > MAX_ELEMENTS:
        lines.append(f"... {len(obs.elements) - MAX_ELEMENTS} more elements")
    return "\n".join(lines) if lines else "(empty)"


def render_prompt(
    instruction: str, observation: Observation, history: Sequence[Action], horizon: int
) -> str:
    """The planner's prompt. A past action the observation already quotes (a tool call
    with its result) is not repeated: it is the same tokens twice, at a cost paid on every
    training window and every planner call."""
    lines = [format_action(a) for a in history]
    shown = sum(line in observation.text for line in lines)
    lines = [line for line in lines if line not in observation.text]
    past = "\n".join(lines) if lines else ("(shown above)" if shown else "(none)")
    task = " ".join(instruction.split())  # one line: `clip_prompt` keeps the first
    return (
        f"Task: {task}\n"
        f"Observation:\n{render_observation(observation)}\n"
        f"Previous actions:\n{past}\n"
        f"Forecast the next {horizon} actions."
    )
