"""`build_dataset`: run the scripted experts over suites and seeds → expert trajectories.

One pure-ish function per concern: `expert_episode` rolls one task out,
`build_dataset` loops over the configured suites/families/seeds and writes
`{split}.jsonl` atomically (the whole directory is swapped in at the end, so a
killed run never leaves a half-written dataset) plus a metrics JSON. Suites that
render a screen (MiniWoB) also leave one PNG per step under
``screenshots/<episode_id>/<step>.png``; the step's observation names it.

Public datasets configured under `imports` (`tracer1.data.importers`) are imported
first (a malformed source fails the build before any expert runs) into a scratch
folder inside the same staging directory; their kept episodes are appended to the
split files after the experts', their screenshots and attachments moved into place.

Deterministic: the same config yields the same episodes (screenshots are PNGs of
the same pages; their bytes may differ across Chromium builds).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracer1.config import BuildDatasetConfig, ImportSourceConfig, ValidateDatasetConfig
from tracer1.envs.base import Suite, close_suite, get_suite, make_suites, suite_trait
from tracer1.io import atomic_dir, write_json, write_jsonl
from tracer1.lineage import tree_digest
from tracer1.progress import reporter
from tracer1.trajectory import Episode, Observation, Step, Task, episode_to_json

SCREENSHOTS = "screenshots"
ATTACHMENTS = "attachments"  # the importers' folder of attached files (GAIA, GTA)
IMPORT_SCRATCH = ".imports"  # inside the staging directory; removed before the swap
SUBSAMPLE_SALT = "tracer1-import-weight-v1"  # independent of the split hash


def screenshot_path(episode_id: str, index: int) -> str:
    """Where a step's screenshot lives, relative to the trajectory directory."""
    return f"{SCREENSHOTS}/{episode_id}/{index}.png"


def expert_episode(suite: Suite, task: Task, split: str, max_steps: int, env=None,
                   screenshot_root: Path | None = None) -> Episode:
    """Let the expert act in a fresh episode of `task` until it ends or runs out of steps.

    Success: the episode ended with a positive reward (tool use: a correct answer; a GUI
    page: the page's own success check). With `screenshot_root` and an environment that
    renders (`screenshot()`), each step's screen is saved there before its action.
    """
    own_env = env is None
    env = env or suite.make_env()
    expert = suite.expert()
    capture = screenshot_root is not None and callable(getattr(env, "screenshot", None))
    try:
        obs = env.reset(task)
        steps: list[Step] = []
        success = False
        for index in range(max_steps):
            if capture:
                obs = _save_screenshot(env, obs, screenshot_root, task.task_id, index)
            action = expert.act(task, obs, steps)
            next_obs, reward, done, info = env.step(action)
            steps.append(Step(index, obs, action, executed=dict(info), reward=float(reward)))
            obs = next_obs
            if done:
                success = reward > 0
                break
    finally:
        if own_env:
            env.close()
    return Episode(
        episode_id=task.task_id,
        suite=task.suite,
        family=task.family,
        seed=task.seed,
        split=split,
        difficulty=task.difficulty,
        instruction=task.instruction,
        steps=tuple(steps),
        success=success,
    )


def _save_screenshot(env, obs: Observation, root: Path, episode_id: str,
                     index: int) -> Observation:
    relative = screenshot_path(episode_id, index)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(env.screenshot())
    return dataclasses.replace(obs, screenshot=relative)


@dataclass(frozen=True)
class _Job:
    suite: str
    family: str
    split: str
    seed: int
    difficulty: int


def plan_jobs(cfg: BuildDatasetConfig, suites: dict[str, Suite] | None = None) -> Iterator[_Job]:
    """Every (suite, family, split, seed) to roll out, in a fixed order."""
    for suite_name, suite_cfg in sorted(cfg.suites.items()):
        suite = (suites or {}).get(suite_name) or get_suite(suite_name)
        families = suite_cfg.families or tuple(suite.families())
        unknown = sorted(set(families) - set(suite.families()))
        if unknown:
            raise ValueError(f"suites.{suite_name}.families: unknown {unknown}")
        for family in families:
            for split, seeds in cfg.seeds.items():
                chosen = list(seeds.seeds())
                if suite_cfg.episodes_per_family is not None:
                    chosen = chosen[: suite_cfg.episodes_per_family]
                for seed in chosen:
                    level = suite_cfg.difficulties[seed % len(suite_cfg.difficulties)]
                    yield _Job(suite_name, family, split, seed, level)


def iter_tasks(
    cfg: BuildDatasetConfig, dropped: dict[str, int] | None = None, *,
    suites: dict[str, Suite] | None = None, split: str | None = None,
) -> Iterator[tuple[_Job, Task]]:
    """Every planned task, in job order, minus questions an earlier split already asked.

    Small question pools can repeat an instruction under another seed; a question
    belongs to the first split that asks it, so held-out splits never leak. Every
    consumer of a split's tasks (build, feedback, evaluation) goes through here.
    Where the suite's instructions do not identify tasks (`unique_instructions`
    False: GUI pages), splits are kept apart by seed alone, and with `split` only that
    split's tasks are made (a MiniWoB task costs a page load to make).
    """
    suites = suites or make_suites(cfg.suites)
    first_split: dict[tuple[str, str], str] = {}
    for job in plan_jobs(cfg, suites):
        suite = suites[job.suite]
        unique = suite_trait(suite, "unique_instructions")
        if not unique and split is not None and job.split != split:
            continue
        task = suite.make_task(job.family, job.seed, job.difficulty)
        if not unique:
            yield job, task
            continue
        if first_split.setdefault((task.suite, task.instruction), job.split) != job.split:
            if dropped is not None:
                dropped[job.split] = dropped.get(job.split, 0) + 1
            continue
        yield job, task


# ------------------------------------------------------------------ imports


def subsample(records: Sequence[dict[str, Any]], *, weight: float = 1.0,
              max_episodes: int | None = None) -> list[dict[str, Any]]:
    """The records kept, in their order: an instruction's hash below `weight`, then at most
    `max_episodes`, the lowest hash first.

    The hash is of the instruction (case- and space-folded), as the split rule's, so
    episodes of one task stay together, and per item, so a kept episode stays kept
    when the source grows.

    >>> rows = [{"episode_id": f"x/{i}", "instruction": f"task {i}"} for i in range(100)]
    >>> len(subsample(rows, weight=0.5)) in range(35, 66), len(subsample(rows, max_episodes=7))
    (True, 7)
    """
    from tracer1.data.importers.splits import group_key, unit_hash

    def rank(rec: dict[str, Any]) -> tuple[float, str]:
        return unit_hash(group_key(rec["instruction"]), SUBSAMPLE_SALT), rec["episode_id"]

    kept = [rec for rec in records if weight >= 1 or rank(rec)[0] < weight]
    if max_episodes is not None and len(kept) > max_episodes:
        chosen = {id(rec) for rec in sorted(kept, key=rank)[:max_episodes]}
        kept = [rec for rec in kept if id(rec) in chosen]
    return kept


def _split_rule(source: ImportSourceConfig, splits: Sequence[str]) -> Any:
    from tracer1.data.importers import SplitRule

    return SplitRule(fractions={s: source.fractions.get(s, 0.0) for s in splits},
                     use_dataset_split=source.use_dataset_split)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _move_files(scratch: Path, staging: Path, episode_id: str) -> None:
    """Move an imported episode's screenshot and attachment folders into the dataset."""
    for folder in (SCREENSHOTS, ATTACHMENTS):
        src = scratch / folder / episode_id
        if not src.exists():
            continue
        dest = staging / folder / episode_id
        if dest.exists():
            raise ValueError(f"{folder}/{episode_id}: already in the dataset")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)  # same file system: a rename, no copy


def import_sources(
    cfg: BuildDatasetConfig, staging: Path, limits: ValidateDatasetConfig | None = None, *,
    out_dir: str | os.PathLike,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Import every `cfg.imports` source into `staging`: (records by split, report by name).
    `out_dir` is where `staging` lands once the build is done (each report names it).

    Each source is imported (`import_dataset`) into a scratch folder, subsampled
    (`subsample`: train by `weight`, every split by `max_episodes`), and its kept
    episodes' files moved into `staging`. An episode id seen twice (one format
    imported twice from overlapping sources) is an error naming both imports.
    """
    from tracer1.data.importers import ArchiveError, ImportFailed, import_dataset

    splits = [name for name, _ in cfg.seeds.items()]
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    owner: dict[str, str] = {}
    reports: dict[str, dict[str, Any]] = {}
    for name, source in sorted(cfg.imports.items()):
        where = f"build_dataset.imports.{name} ({source.format} from {source.path})"
        scratch = staging / IMPORT_SCRATCH / name
        try:
            report = import_dataset(source.format, source.path, scratch, strict=source.strict,
                                    split_rule=_split_rule(source, splits), limits=limits,
                                    options=dict(source.options),
                                    archive_limits=source.archive)
        except (ImportFailed, ArchiveError, OSError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from exc
        kept: dict[str, int] = {}
        dropped = {"weight": 0, "max_episodes": 0}
        for split in splits:
            rows = _read_rows(scratch / f"{split}.jsonl")
            weighted = subsample(rows, weight=source.weight if split == "train" else 1.0)
            chosen = subsample(weighted, max_episodes=source.max_episodes)
            dropped["weight"] += len(rows) - len(weighted)
            dropped["max_episodes"] += len(weighted) - len(chosen)
            for rec in chosen:
                eid = rec["episode_id"]
                if eid in owner:
                    raise ValueError(f"{where}: episode {eid} is also imported by "
                                     f"build_dataset.imports.{owner[eid]}")
                owner[eid] = name
                _move_files(scratch, staging, eid)
            records[split] += chosen
            kept[split] = len(chosen)
        # The scratch path is a temporary name: report where the episodes ended up.
        reports[name] = {**report.to_json(), "out_dir": str(out_dir), "kept": kept,
                         "dropped_by_subsample": dropped}
    shutil.rmtree(staging / IMPORT_SCRATCH, ignore_errors=True)
    return dict(records), reports


# ------------------------------------------------------------------ build


def build_dataset(cfg: BuildDatasetConfig, out_dir: str | os.PathLike,
                  metrics_path: str | os.PathLike, *, progress: bool = False,
                  limits: ValidateDatasetConfig | None = None) -> dict[str, Any]:
    """Write expert trajectories (and the configured imports) to `out_dir` (the stage's
    `Layout.trajectories`), metrics to `metrics_path`. `limits` are the checks
    `validate_dataset` will apply (imports refuse what it would refuse; its defaults when
    None). `progress`: report the expert
    episodes as they finish (`tracer1.progress`: i/N, rate, ETA, how many were solved)."""
    dropped: dict[str, int] = {}
    suites = make_suites(cfg.suites)
    by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
    stats: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    try:
        jobs = list(iter_tasks(cfg, dropped, suites=suites))
        envs = {name: suite.make_env() for name, suite in suites.items()}
        with atomic_dir(out_dir) as tmp:
            root = Path(tmp) if cfg.screenshots else None
            try:
                # Imports first: a bad source fails the build before any expert runs.
                imported, imports = import_sources(cfg, Path(tmp), limits, out_dir=out_dir)
                report = reporter("build_dataset" if progress else None, len(jobs),
                                  "episodes")
                solved = 0
                for done, (job, task) in enumerate(jobs, 1):
                    episode = expert_episode(suites[job.suite], task, job.split, cfg.episode_limit,
                                             env=envs[job.suite], screenshot_root=root)
                    stats[(job.suite, job.family)].append(episode)
                    solved += episode.success
                    report(done, f"{solved} solved")
                    if episode.success or cfg.keep_failed:
                        by_split[job.split].append(episode_to_json(episode))
                    elif root is not None:  # a dropped episode keeps no screenshots
                        shutil.rmtree(root / SCREENSHOTS / task.task_id, ignore_errors=True)
            finally:
                for env in envs.values():
                    env.close()
            for split, _ in cfg.seeds.items():
                by_split[split] += imported.get(split, [])
                write_jsonl(Path(tmp) / f"{split}.jsonl", by_split[split])
    finally:
        for suite in suites.values():
            close_suite(suite)
    metrics = _metrics(stats, by_split)
    metrics["dropped_cross_split_duplicates"] = dict(sorted(dropped.items()))
    if imports:
        metrics["imports"] = imports
    metrics["data_sha256"] = tree_digest(out_dir)  # the data's identity for lineage
    write_json(metrics_path, metrics)
    return metrics


def _metrics(
    stats: dict[tuple[str, str], list[Episode]], by_split: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    families = {}
    for (suite, family), episodes in sorted(stats.items()):
        ok = [e for e in episodes if e.success]
        families[f"{suite}/{family}"] = {
            "episodes": len(episodes),
            "expert_success_rate": round(len(ok) / len(episodes), 4) if episodes else 0.0,
            "mean_steps": round(sum(len(e.steps) for e in ok) / len(ok), 3) if ok else 0.0,
        }
    splits = {
        split: {"episodes": len(recs), "steps": sum(len(r["steps"]) for r in recs)}
        for split, recs in sorted(by_split.items())
    }
    total = sum(f["episodes"] for f in families.values())
    solved = sum(len([e for e in eps if e.success]) for eps in stats.values())
    return {
        "expert_success_rate": round(solved / total, 4) if total else 0.0,
        "families": families,
        "splits": splits,
    }
