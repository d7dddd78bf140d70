"""The seeded tool-use task generator: deterministic, multi-hop, answerable only with tools."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tracer1.envs.tooluse_tasks import DIFFICULTIES, FAMILIES, generate_task
from tracer1.executors import Toolbox

SEEDS = range(60)
# Inclusive call-count range per family and difficulty (the module docstring's table).
CALLS = {
    "kb_arithmetic": {1: (2, 2), 2: (3, 3), 3: (4, 5)},
    "unit_chain": {1: (2, 2), 2: (4, 4), 3: (5, 5)},
    "table_sum": {1: (2, 2), 2: (3, 3), 3: (4, 5)},
    "date_math": {1: (2, 2), 2: (3, 3), 3: (4, 4)},
    "mixed": {1: (3, 3), 2: (4, 4), 3: (5, 6)},
}
# Constants a planner knows without being told: averaging denominators, there and back,
# days per week, hours per day.
COMMON_CONSTANTS = {"2", "3", "7", "24"}
# Arguments whose values come from the tool descriptions rather than from earlier outputs.
VOCABULARY_ARGS = {"op", "name", "from_unit", "to_unit"}


@pytest.fixture(scope="module")
def tasks():
    return [generate_task(f, s, d) for f in FAMILIES for d in DIFFICULTIES for s in SEEDS]


def test_families_are_registered():
    assert set(FAMILIES) == set(CALLS)


def test_same_arguments_same_task(tasks):
    again = generate_task(tasks[5].family, tasks[5].seed, tasks[5].difficulty)
    assert again == tasks[5] and again.spec == tasks[5].spec
    assert tasks[5].task_id == f"tooluse/{tasks[5].family}/d{tasks[5].difficulty}/s{tasks[5].seed}"


def test_generation_does_not_depend_on_the_process(tasks):
    # String seeds and a constant world seed: another interpreter with another hash
    # seed must produce byte-identical specs.
    code = ("import json; from tracer1.envs.tooluse_tasks import generate_task as g; "
            "print(json.dumps([g(f, s, d).spec | {'i': g(f, s, d).instruction} for f, s, d in "
            "[('mixed', 3, 3), ('date_math', 11, 2), ('unit_chain', 0, 3)]]))")
    src = str(Path(__file__).resolve().parents[3] / "src")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": src}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    here = [generate_task(f, s, d) for f, s, d in
            [("mixed", 3, 3), ("date_math", 11, 2), ("unit_chain", 0, 3)]]
    assert json.loads(out) == [t.spec | {"i": t.instruction} for t in here]


def test_seeds_give_different_tasks(tasks):
    by_family = Counter(t.family for t in {t.instruction: t for t in tasks}.values())
    for family in FAMILIES:
        assert by_family[family] >= 0.8 * len(SEEDS) * len(DIFFICULTIES)


def test_call_counts_per_family_and_difficulty(tasks):
    counts = Counter()
    for task in tasks:
        n = len(task.spec["plan"])
        lo, hi = CALLS[task.family][task.difficulty]
        assert lo <= n <= hi, (task.task_id, n)
        counts[n] += 1
    assert min(counts) == 2 and max(counts) == 6
    for family in FAMILIES:  # harder means more hops
        means = [statistics.mean(len(t.spec["plan"]) for t in tasks
                                 if t.family == family and t.difficulty == d)
                 for d in DIFFICULTIES]
        assert means == sorted(means) and means[0] < means[-1]


def test_spec_is_json_and_plan_calls_are_unique(tasks):
    for task in tasks:
        assert json.loads(json.dumps(task.spec, allow_nan=False)) == task.spec
        keys = [json.dumps(c, sort_keys=True) for c in task.spec["plan"]]
        assert len(set(keys)) == len(keys)
        assert task.spec["answer"] and isinstance(task.spec["answer"], str)


def test_the_plan_executes_and_its_last_output_is_the_answer(tasks):
    with Toolbox() as box:
        for task in tasks[::7]:
            results = [box.call(c["tool"], c["args"]) for c in task.spec["plan"]]
            assert all(r.ok for r in results), task.task_id
            assert task.spec["answer"] in results[-1].output


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return re.findall(r"-?\d+(?:\.\d+)?", value) if re.search(r"\d", value) else [value]
    return [str(value)]


def test_every_argument_was_visible_before_the_call(tasks):
    # What makes the expert's calls learnable: each argument is in the instruction or
    # in an earlier output (or is tool vocabulary), never a value only the generator knew.
    with Toolbox() as box:
        for task in tasks:
            visible = task.instruction
            for call in task.spec["plan"]:
                for key, value in call["args"].items():
                    if key in VOCABULARY_ARGS:
                        continue
                    for piece in _strings(value):
                        assert piece in visible or piece in COMMON_CONSTANTS, (task.task_id, piece)
                visible += "\n" + box.call(call["tool"], call["args"]).output


def test_instructions_do_not_leak_values(tasks):
    for task in tasks:
        numbers = re.findall(r"\d+", task.instruction)
        assert task.spec["answer"] not in numbers, task.task_id
        assert len(task.instruction) < 400


def test_bad_family_and_difficulty():
    with pytest.raises(KeyError, match="unknown tool-use family 'nope'"):
        generate_task("nope", 0, 1)
    with pytest.raises(ValueError, match="difficulty must be one of"):
        generate_task("mixed", 0, 4)
