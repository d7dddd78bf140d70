"""Archives: a good zip / tar imports; any member escaping the destination refuses the whole,
and so does an archive that would expand past its limits (before anything is written)."""

import io
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile

import pytest

from tracer1.config import ArchiveLimits, ConfigError, ImportSourceConfig, from_dict
from tracer1.data.importers import ArchiveError, import_dataset
from tracer1.data.importers import archive as archive_mod
from tracer1.data.importers.archive import extracted


def _zip_dir(src, dest):
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(src.parent).as_posix())
    return dest


def test_zip_and_tar_sources_import_like_the_folder(fixture_copy, tmp_path):
    src = fixture_copy("gaia")
    zipped = _zip_dir(src, tmp_path / "gaia.zip")
    report = import_dataset("gaia", zipped, tmp_path / "out_zip")
    assert sum(report.episodes.values()) == 4  # 3 answered + 1 withheld (2023/test)
    tarred = tmp_path / "gaia.tar.gz"
    with tarfile.open(tarred, "w:gz") as tf:
        tf.add(src, arcname="gaia")
    report = import_dataset("gaia", tarred, tmp_path / "out_tar")
    assert sum(report.episodes.values()) == 4  # 3 answered + 1 withheld (2023/test)


def test_errors_inside_an_archive_name_the_archive(fixture_copy, tmp_path):
    src = fixture_copy("gta")
    (src / "dataset.json").write_text('{"0": {"dialogs": 3}}')
    from tracer1.data.importers import ImportFailed

    with pytest.raises(ImportFailed, match=r"gta.zip!gta/dataset.json:0: dialogs: expected array"):
        import_dataset("gta", _zip_dir(src, tmp_path / "gta.zip"), tmp_path / "out")


def _zip_with(tmp_path, name, data=b"x", symlink_to=None):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok/metadata.jsonl", b"")
        info = zipfile.ZipInfo(name)
        if symlink_to is not None:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            data = symlink_to.encode()
        zf.writestr(info, data)
    return path


@pytest.mark.parametrize("name, link, problem", [
    ("../escape.txt", None, "escapes the destination"),
    ("a/../../escape.txt", None, "escapes the destination"),
    ("/etc/evil", None, "absolute path"),
    ("link", "/etc/passwd", "points outside"),
    ("a/link", "../../outside", "points outside"),
])
def test_zip_escapes_are_refused(tmp_path, name, link, problem):
    archive = _zip_with(tmp_path, name, symlink_to=link)
    with pytest.raises(ArchiveError, match=problem):
        import_dataset("gaia", archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "escape.txt").exists()


def _tar_with(tmp_path, member: tarfile.TarInfo, data=b""):
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as tf:
        tf.addfile(member, io.BytesIO(data) if data else None)
    return path


@pytest.mark.parametrize("make, problem", [
    (lambda: tarfile.TarInfo("../../escape.txt"), "escapes the destination"),
    (lambda: tarfile.TarInfo("/abs.txt"), "absolute path"),
    (lambda: _link("ln", "../../../etc/passwd", tarfile.SYMTYPE), "points outside"),
    (lambda: _link("hard", "etc/passwd", tarfile.LNKTYPE), "hard link"),
    (lambda: _link("dev", "", tarfile.CHRTYPE), "not a file or directory"),
])
def test_tar_escapes_are_refused(tmp_path, make, problem):
    member = make()
    data = b"x" if member.isfile() else b""
    member.size = len(data)
    with pytest.raises(ArchiveError, match=problem):
        with extracted(_tar_with(tmp_path, member, data)):
            pass


def _link(name, target, kind):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_a_symlink_inside_is_fine(tmp_path):
    archive = _zip_with(tmp_path, "ok/alias.jsonl", symlink_to="metadata.jsonl")
    with extracted(archive) as root:
        assert (root / "ok" / "alias.jsonl").is_symlink()


# ------------------------------------------------------------------ links through links


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    """Extraction happens under tmp_path/tmp, so `../..` from the root lands in tmp_path."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def _zip_links(path, links, files=()):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files:
            zf.writestr(name, data)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target.encode())
    return path


# Lexically every target stays inside: a/b/metadata.jsonl -> ../../secret.jsonl normalises to
# secret.jsonl. Through a -> . and a/b -> . the file really lands at the root, and its
# target two levels above it.
CHAIN = [("a", "."), ("a/b", "."), ("a/b/metadata.jsonl", "../../secret.jsonl")]


def test_a_chain_of_links_out_of_the_root_is_refused(tmp_path, tmp_root):
    (tmp_path / "secret.jsonl").write_text('{"Question": "read from outside"}\n')
    archive = _zip_links(tmp_path / "chain.zip", CHAIN)
    with pytest.raises(ArchiveError, match=r"symlink 'a/b/metadata.jsonl' points outside"):
        with extracted(archive) as root:
            pytest.fail(f"extracted: {(root / 'a/b/metadata.jsonl').read_text()}")
    assert list(tmp_root.iterdir()) == []  # nothing half-extracted survives
    with pytest.raises(ArchiveError, match="points outside"):
        import_dataset("gaia", archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_link_that_a_later_link_redirects_is_refused(tmp_path, tmp_root):
    # When x is made, c does not exist yet and x -> c/../secret resolves to the root's
    # secret; c -> . then makes it the secret next to the root: only a check after the
    # last link sees that.
    (tmp_path / "tmp" / "secret").write_text("outside")
    archive = _zip_links(tmp_path / "late.zip", [("x", "c/../secret"), ("c", ".")])
    with pytest.raises(ArchiveError, match=r"symlink 'x' resolves outside"):
        with extracted(archive):
            pass


def test_a_link_created_through_a_link_out_of_the_root_is_refused(tmp_path, tmp_root):
    # up -> c/.. is '.' lexically but the root's parent really; up/evil would land there.
    archive = _zip_links(tmp_path / "through.zip", [("c", "."), ("up", "c/.."),
                                                     ("up/evil", "x")])
    with pytest.raises(ArchiveError, match=r"symlink 'up' points outside"):
        with extracted(archive):
            pass
    assert not (tmp_path / "evil").exists()


def test_a_tar_chain_of_links_is_refused(tmp_path, tmp_root):
    (tmp_path / "secret.jsonl").write_text("outside")
    path = tmp_path / "chain.tar"
    with tarfile.open(path, "w") as tf:
        for name, target in CHAIN:
            tf.addfile(_link(name, target, tarfile.SYMTYPE))
    with pytest.raises(ArchiveError):
        with extracted(path):
            pass
    assert list(tmp_root.iterdir()) == []


def test_links_between_inside_paths_still_work(tmp_path, tmp_root):
    archive = _zip_links(tmp_path / "ok.zip", [("d/alias", "../data/m.jsonl"), ("e", "d")],
                         files=[("data/m.jsonl", "{}\n")])
    with extracted(archive) as root:
        assert (root / "e" / "alias").read_text() == "{}\n"


# ------------------------------------------------------------------ expansion limits


class _Zeros(io.RawIOBase):
    """`size` zero bytes, streamed (nothing that size is ever held in memory)."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _zip_bomb(path, size):
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("metadata.jsonl")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as out:
            shutil.copyfileobj(io.BufferedReader(_Zeros(size)), out, 1 << 20)
    return path


@pytest.fixture
def no_writes(monkeypatch):
    """Records every write extraction attempts (zip member copies, tar extractall)."""
    writes = []
    monkeypatch.setattr(archive_mod, "_copy", lambda *a: writes.append(a[1]))
    monkeypatch.setattr(tarfile.TarFile, "extractall", lambda self, *a, **k: writes.append(a))
    return writes


def test_a_zip_bomb_is_refused_by_default_before_anything_is_written(tmp_path, tmp_root,
                                                                       no_writes):
    archive = _zip_bomb(tmp_path / "bomb.zip", 256 << 20)  # 256 MiB of zeros, ~250 KB packed
    assert archive.stat().st_size < 1 << 20
    with pytest.raises(ArchiveError, match=r"bomb.zip: member 'metadata.jsonl' expands "
                                           r"1,0\d\d:1 .* over 100:1 .*archive.max_ratio"):
        with extracted(archive):
            pass
    assert no_writes == [] and list(tmp_root.iterdir()) == []


def test_a_tar_gz_bomb_is_refused_by_default_before_anything_is_written(tmp_path, tmp_root,
                                                                          no_writes):
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        member = tarfile.TarInfo("metadata.jsonl")
        member.size = 300 << 20
        tf.addfile(member, io.BufferedReader(_Zeros(member.size)))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ArchiveError, match=r"bomb.tar.gz: expands .*:1 .*archive.max_ratio"):
        with extracted(path):
            pass
    assert no_writes == [] and list(tmp_root.iterdir()) == []


def _zip_files(path, n, size):
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(n):
            zf.writestr(f"d/{i}.json", os.urandom(size))
    return path


@pytest.mark.parametrize("limits, problem", [
    (ArchiveLimits(max_members=5), r"more than 5 members .*archive.max_members"),
    (ArchiveLimits(max_member_bytes=999), r"member 'd/0.json' expands to 1,000 bytes, over 999 "
                                          r".*archive.max_member_bytes"),
    (ArchiveLimits(max_total_bytes=5_500), r"more than 5,500 bytes .*archive.max_total_bytes"),
    (ArchiveLimits(reserve_bytes=1 << 62), r"expands to 8,000 bytes but .* free .*reserve_bytes"),
])
def test_limits_are_configurable_and_name_their_key(tmp_path, tmp_root, no_writes, limits,
                                                    problem):
    archive = _zip_files(tmp_path / "many.zip", 8, 1000)
    with pytest.raises(ArchiveError, match=problem):
        with extracted(archive, limits):
            pass
    assert no_writes == []
    with extracted(archive) as root:  # the defaults accept it
        assert len(list((root / "d").iterdir())) == 8


def test_import_dataset_applies_the_archive_limits(fixture_copy, tmp_path):
    zipped = _zip_dir(fixture_copy("gaia"), tmp_path / "gaia.zip")
    with pytest.raises(ArchiveError, match="archive.max_members"):
        import_dataset("gaia", zipped, tmp_path / "out",
                       archive_limits=ArchiveLimits(max_members=1))
    assert not (tmp_path / "out").exists()


def test_a_member_larger_than_its_header_is_cut_off(tmp_path):
    with pytest.raises(ArchiveError, match="holds more than the 5 bytes its header declares"):
        archive_mod._copy(tmp_path / "x.zip", "m", io.BytesIO(b"0123456789"), io.BytesIO(), 5)


def test_archive_limits_come_from_params():
    cfg = from_dict(ImportSourceConfig, {"format": "gaia", "path": "gaia.zip",
                                         "archive": {"max_ratio": 20, "max_members": 10}})
    assert cfg.archive == ArchiveLimits(max_ratio=20.0, max_members=10)
    assert ImportSourceConfig(format="gaia", path="x").archive == ArchiveLimits()
    with pytest.raises(ConfigError, match=r"archive: max_ratio: must be > 0"):
        from_dict(ImportSourceConfig, {"format": "gaia", "path": "x", "archive": {"max_ratio": 0}})
