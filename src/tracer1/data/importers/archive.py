"""Safe extraction of the zip / tar archives datasets ship as.

Every member is checked *before* anything is written: an absolute name, a
``..`` component, a link whose target leaves the destination (or any hard link,
device or FIFO) refuses the whole archive with `ArchiveError` naming the member.
Nothing half-extracted survives a refusal, because extraction goes into a
fresh temporary directory the caller owns. For tar, Python's own ``data``
filter runs as well, as a second line of defence.

A lexical check of a link is not enough: with ``a -> .`` and ``a/b -> .`` in place,
``a/b/x -> ../../outside`` normalises to ``x`` yet resolves two levels above the
root. So links are resolved against the real extraction root, as tar's ``data``
filter does: each is created only if the real path of its parent and of its target
(through the links made before it) stay inside, and once everything is out every
link in the tree is resolved once more (a later link can change what an earlier
one means).

Expansion is bounded (`ArchiveLimits`: members, bytes per member and in all, the
expansion ratio, free space left in the temporary directory) from the archive's own
directory — zip's central directory, tar's headers — before the first byte is
written, and again while writing, so a header that lies cannot smuggle more bytes.

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
from typing import BinaryIO

from tracer1.config import ArchiveLimits
from tracer1.data.importers.errors import ArchiveError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
MAX_LINK_BYTES = 4096  # PATH_MAX: a longer "link target" is not a link
_CHUNK = 1 << 20


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
    """A symlink at `name` pointing at `target` must stay inside the destination (lexically;
    `_make_link` and `_check_tree` then resolve it for real)."""
    if target.startswith("/") or target.replace("\\", "/").startswith("/"):
        raise ArchiveError(f"{archive.name}: symlink {name!r} points outside ({target!r})")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise ArchiveError(f"{archive.name}: symlink {name!r} points outside ({target!r})")


# ------------------------------------------------------------------ real paths


def _within(root: str, path: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _make_link(archive: Path, dest: Path, name: str, target: str) -> None:
    """Create the link `name` -> `target` if, through the links already made, both where it
    lands and what it points at resolve inside `dest`."""
    root = os.path.realpath(dest)
    parent = os.path.realpath(os.path.join(root, posixpath.dirname(name)))
    if not _within(root, parent):
        raise ArchiveError(f"{archive.name}: symlink {name!r} would be created outside the "
                           "destination (through another link)")
    if not _within(root, os.path.realpath(os.path.join(parent, target))):
        raise ArchiveError(f"{archive.name}: symlink {name!r} points outside ({target!r} "
                           "resolves outside the destination through other links)")
    try:
        os.makedirs(parent, exist_ok=True)
        os.symlink(target, os.path.join(parent, posixpath.basename(name)))
    except OSError as exc:  # e.g. a file or directory of the same name
        raise ArchiveError(f"{archive.name}: cannot create symlink {name!r}: "
                           f"{exc.strerror or exc}") from None


def _check_tree(archive: Path, dest: Path) -> None:
    """Every link in the extracted tree, followed to the end of its chain, stays inside."""
    root = os.path.realpath(dest)
    for folder, dirs, files in os.walk(root):  # followlinks=False: links are not entered
        for entry in (*dirs, *files):
            path = os.path.join(folder, entry)
            if os.path.islink(path) and not _within(root, os.path.realpath(path)):
                where = os.path.relpath(path, root)
                raise ArchiveError(f"{archive.name}: symlink {where!r} resolves outside the "
                                   "destination (through other links)")


# ------------------------------------------------------------------ limits


class _Budget:
    """Running totals of what an archive will expand to, refused as soon as a limit is
    passed — for a compressed tar while its headers are still being read."""

    def __init__(self, archive: Path, limits: ArchiveLimits):
        self.archive, self.limits = archive, limits
        self.packed = archive.stat().st_size
        self.members = 0
        self.total = 0

    def _refuse(self, what: str, key: str) -> ArchiveError:
        return ArchiveError(f"{self.archive.name}: {what} (a zip-bomb guard; raise archive."
                            f"{key} for an archive you trust)")

    def add(self, name: str, size: int, packed: int | None = None) -> None:
        """Count one member of `size` expanded bytes (`packed` compressed, for zip)."""
        lim = self.limits
        self.members += 1
        self.total += size
        if self.members > lim.max_members:
            raise self._refuse(f"more than {lim.max_members:,} members", "max_members")
        if size > lim.max_member_bytes:
            raise self._refuse(f"member {name!r} expands to {size:,} bytes, over "
                               f"{lim.max_member_bytes:,}", "max_member_bytes")
        if packed is not None and size > lim.ratio_floor_bytes and size > lim.max_ratio * packed:
            raise self._refuse(f"member {name!r} expands {size / max(packed, 1):,.0f}:1 "
                               f"({packed:,} -> {size:,} bytes), over {lim.max_ratio:g}:1",
                               "max_ratio")
        if self.total > lim.max_total_bytes:
            raise self._refuse(f"expands to more than {lim.max_total_bytes:,} bytes",
                               "max_total_bytes")
        # The archive's size is fixed and the total only grows: refuse as soon as it passes.
        if self.total > lim.ratio_floor_bytes and self.total > lim.max_ratio * self.packed:
            raise self._refuse(f"expands {self.total / max(self.packed, 1):,.0f}:1 "
                               f"({self.packed:,} -> over {self.total:,} bytes), over "
                               f"{lim.max_ratio:g}:1", "max_ratio")

    def check_space(self, dest: Path) -> None:
        """The expanded archive fits in `dest`'s file system with `reserve_bytes` to spare."""
        free = shutil.disk_usage(dest).free
        if free - self.total < self.limits.reserve_bytes:
            raise ArchiveError(
                f"{self.archive.name}: expands to {self.total:,} bytes but {dest.parent} has "
                f"{free:,} free (keeping archive.reserve_bytes={self.limits.reserve_bytes:,}); "
                "free space or point TMPDIR elsewhere")


def _copy(archive: Path, name: str, src: BinaryIO, dst: BinaryIO, size: int) -> None:
    """Copy a member's bytes, never more than the `size` its header declared."""
    left = size
    while chunk := src.read(min(_CHUNK, left + 1)):
        left -= len(chunk)
        if left < 0:
            raise ArchiveError(f"{archive.name}: member {name!r} holds more than the {size:,} "
                               "bytes its header declares")
        dst.write(chunk)


# ------------------------------------------------------------------ formats


def _is_zip_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _extract_zip(archive: Path, dest: Path, limits: ArchiveLimits) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        budget = _Budget(archive, limits)
        for info in members:
            budget.add(info.filename, info.file_size, info.compress_size)
        budget.check_space(dest)
        links = []
        for info in members:
            name = _check_name(archive, info.filename)
            if _is_zip_link(info):
                if info.file_size > MAX_LINK_BYTES:
                    raise ArchiveError(f"{archive.name}: symlink {info.filename!r} has a "
                                       f"{info.file_size:,}-byte target")
                target = zf.read(info).decode("utf-8", "replace")
                _check_link(archive, name, target)
                links.append((name, target))
        for info in members:
            name = _check_name(archive, info.filename)
            if not name or _is_zip_link(info):
                continue
            out = dest / name  # no link exists yet, so this path is what it says
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                _copy(archive, info.filename, src, dst, info.file_size)
        for name, target in links:  # after the files, so a link never redirects a write
            _make_link(archive, dest, name, target)
    _check_tree(archive, dest)


def _extract_tar(archive: Path, dest: Path, limits: ArchiveLimits) -> None:
    with tarfile.open(archive) as tf:
        budget = _Budget(archive, limits)
        members = []
        for member in tf:  # lazily: a bomb is refused before its headers are all read
            budget.add(member.name, member.size if member.isfile() else 0)
            name = _check_name(archive, member.name)
            if member.issym():
                _check_link(archive, name, member.linkname)
            elif member.islnk():
                raise ArchiveError(f"{archive.name}: hard link {member.name!r} refused")
            elif not (member.isfile() or member.isdir()):
                raise ArchiveError(f"{archive.name}: {member.name!r} is not a file or directory")
            members.append(member)
        budget.check_space(dest)
        try:
            tf.extractall(dest, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise ArchiveError(f"{archive.name}: {exc}") from None
    _check_tree(archive, dest)


@contextlib.contextmanager
def extracted(archive: Path, limits: ArchiveLimits | None = None) -> Iterator[Path]:
    """Extract `archive` into a temporary directory within `limits` (the defaults when
    None); yield it; remove it afterwards."""
    limits = limits or ArchiveLimits()
    tmp = Path(tempfile.mkdtemp(prefix="tracer1-import-"))
    try:
        try:
            if archive.name.lower().endswith(".zip"):
                _extract_zip(archive, tmp, limits)
            else:
                _extract_tar(archive, tmp, limits)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"{archive.name}: not a readable archive ({exc})") from None
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["ARCHIVE_SUFFIXES", "ArchiveLimits", "extracted", "is_archive"]
