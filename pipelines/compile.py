"""Compile the pipeline to the IR YAML a user uploads in the Kubeflow UI.

    python -m pipelines.compile [--params params.yaml] [--image IMAGE] [--out FILE]
                                [--launch recipes/launch/qwen2.5-vl-7b-2x8.yaml]

The committed `pipelines/tracer1.yaml` is this command's output for the repository's
`params.yaml` and the default image; a test fails when it is stale. `--launch` compiles for
a launch recipe's cluster: more than one GPU, and each training stage is a Kubeflow
Trainer TrainJob (`tracer1.trainjob`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "pipelines/tracer1.yaml"


def compile_pipeline(out: str | Path = DEFAULT_OUT, params: str | Path = REPO / "params.yaml",
                     image: str | None = None, launch: str | Path | None = None) -> Path:
    """Write the IR YAML to `out` (atomically) and return its path; `launch`: a launch
    recipe whose cluster the training stages run on."""
    if image:
        os.environ["TRACER1_IMAGE"] = image  # read when the components module is imported
    from kfp import compiler

    from pipelines.pipeline import Cluster, build_pipeline
    from tracer1.io import atomic_open
    from tracer1.training.launch import load_recipe

    cluster = Cluster.from_recipe(load_recipe(launch)) if launch else None
    out = Path(out)
    tmp = out.with_name(out.name + ".compiling.yaml")
    compiler.Compiler().compile(build_pipeline(params, cluster), package_path=str(tmp))
    with atomic_open(out, "w") as fh:
        fh.write(tmp.read_text())
    tmp.unlink()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=str(REPO / "params.yaml"))
    parser.add_argument("--image", default=None, help="the project image (default: "
                        "$TRACER1_IMAGE or ghcr.io/tracer1/tracer1:latest)")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--launch", default=None, help="a launch recipe (recipes/launch/): "
                        "the training stages run as TrainJobs on its nodes")
    args = parser.parse_args(argv)
    from tracer1.config import ConfigError

    try:
        print(compile_pipeline(args.out, args.params, args.image, args.launch))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
