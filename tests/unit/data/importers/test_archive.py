"""Archives: a good zip / tar imports; any member escaping the destination refuses the whole."""

import io
import stat
import tarfile
import zipfile

import pytest

from tracer1.data.importers import ArchiveError, import_dataset
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
