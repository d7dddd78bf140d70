"""Artifacts on the shared S3 store: a file or a folder at an ``s3://bucket/key`` URI.

A Kubeflow artifact's URI names an object (a metrics file) or a prefix holding a folder
(a model directory); `download` finds out which, `upload` writes either. What a TrainJob
reads and writes goes through here: its pods have no KFP launcher to move artifacts. The
endpoint and credentials are boto3's own settings (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ...), the ones the pipeline exports from the ``tracer1-s3`` secret.

>>> is_remote("s3://bucket/a/model"), is_remote("/tmp/model")
(True, False)
>>> split_uri("s3://bucket/v2/artifacts/model")
('bucket', 'v2/artifacts/model')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def is_remote(location: str | os.PathLike) -> bool:
    return str(location).startswith("s3://")


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key); anything else is a ValueError naming it."""
    if not is_remote(uri) or "/" not in uri[5:] or uri[5:].startswith("/"):
        raise ValueError(f"{uri}: not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key.rstrip("/")


def _client() -> Any:
    import boto3

    return boto3.client("s3")


def download(uri: str, dest: str | os.PathLike) -> Path:
    """The object at `uri` to the file `dest`, or every object under ``uri/`` into the
    folder `dest`; nothing there is a FileNotFoundError naming the URI."""
    bucket, key = split_uri(uri)
    client, dest = _client(), Path(dest)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    objects = [o["Key"] for page in pages for o in page.get("Contents", [])]
    if key in objects:
        dest.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(dest))
        return dest
    below = [k for k in objects if k.startswith(key + "/")]
    if not below:
        raise FileNotFoundError(f"{uri}: no such object or folder")
    for name in below:
        target = dest / name[len(key) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, name, str(target))
    return dest


def upload(src: str | os.PathLike, uri: str) -> None:
    """The file `src` to the object `uri`, or the folder `src` under ``uri/``."""
    bucket, key = split_uri(uri)
    client, src = _client(), Path(src)
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file or directory")
    if src.is_file():
        client.upload_file(str(src), bucket, key)
        return
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        client.upload_file(str(path), bucket, f"{key}/{path.relative_to(src).as_posix()}")


__all__ = ["download", "is_remote", "split_uri", "upload"]
