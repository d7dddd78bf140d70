"""Safe extraction of the zip / tar archives datasets ship as.

Every member is checked *before* anything is written: an absolute name, a
``..`` component, a link whose target leaves the destination (or any hard link,
device or FIFO) refuses the whole archive with `ArchiveError` naming the member.
Nothing half-extracted survives a refusal, because extraction goes into a
fresh temporary directory the caller owns. For tar, Python's own ``data``
filter runs as well, as a second line of defence.

>>> is_archive(Path("gui_odyssey.zip")), is_archive(Path("annotations"))
(True, False)
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from tracer1.data.importers.errors import ArchiveError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in ARCHIVE_SUFFIXES)


def _check_name(archive: Path, name: str) -> str:
    """The member's normalised relative path, or ArchiveError if it would escape."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise ArchiveError(f"{archive.name}: member {name!r} has an absolute path")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{archive.name}: member {name!r} escapes the destination (..)")
    return "/".join(parts)


def _check_link(archive: Path, name: str, target: str) -> None:
    """A symlink at `name` pointing at `target` must stay inside the destination."""
    if target.startswith("/") or target.replace("\\", "/").startswith("/"):
        raise ArchiveError(f"{archive.name}: symlink {name!r} points outside ({target!r})")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise ArchiveError(f"{archive.name}: symlink {name!r} points outside ({target!r})")


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        links = []
        for info in members:
            name = _check_name(archive, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                target = zf.read(info).decode("utf-8", "replace")
                _check_link(archive, name, target)
                links.append((name, target))
        for info in members:
            name = _check_name(archive, info.filename)
            if not name or stat.S_ISLNK(info.external_attr >> 16):
                continue
            out = dest / name
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        for name, target in links:  # after the files, so a link never redirects a write
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, dest / name)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in members:
            name = _check_name(archive, member.name)
            if member.issym():
                _check_link(archive, name, member.linkname)
            elif member.islnk():
                raise ArchiveError(f"{archive.name}: hard link {member.name!r} refused")
            elif not (member.isfile() or member.isdir()):
                raise ArchiveError(f"{archive.name}: {member.name!r} is not a file or directory")
        try:
            tf.extractall(dest, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise ArchiveError(f"{archive.name}: {exc}") from None


@contextlib.contextmanager
def extracted(archive: Path) -> Iterator[Path]:
    """Extract `archive` into a temporary directory; yield it; remove it afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="tracer1-import-"))
    try:
        try:
            if archive.name.lower().endswith(".zip"):
                _extract_zip(archive, tmp)
            else:
                _extract_tar(archive, tmp)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"{archive.name}: not a readable archive ({exc})") from None
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["ARCHIVE_SUFFIXES", "extracted", "is_archive"]
