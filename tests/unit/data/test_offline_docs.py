"""`offline_docs`: the vendored Data Docs assets are the files GE's pages ask for, and the
pages are rewritten to load them from the site itself (the browser check is in
tests/integration/test_validation_docs.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tracer1.data.validation import offline_docs
from tracer1.data.validation.offline_docs import (
    ASSETS,
    PACKAGES,
    SITE_FILES,
    URLS,
    external_resources,
    make_self_contained,
    rewrite,
    vendored_files,
)


def _ge_view_files() -> list[Path]:
    import great_expectations

    view = Path(great_expectations.__file__).parent / "render/view"
    return [p for p in view.rglob("*") if p.suffix in (".j2", ".css")]


def test_every_vendored_file_is_there_at_the_version_named():
    for name in vendored_files():
        assert (ASSETS / name).is_file(), f"{name}: run scripts/vendor_data_docs.py"
    for package in PACKAGES:
        meta = json.loads((ASSETS / package.name / "package.json").read_text())
        assert (meta["name"], meta["version"]) == (package.name, package.version)
    lock = json.loads((ASSETS / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == {p.name: p.version for p in PACKAGES}


def test_every_url_points_at_a_vendored_or_site_file():
    assert set(URLS.values()) <= set(vendored_files())
    import great_expectations

    static = Path(great_expectations.__file__).parent / "render/view"
    for path in SITE_FILES.values():  # GE copies render/view/static into the site
        assert (static / path).is_file(), path


def test_every_cdn_file_in_the_installed_ge_templates_is_vendored():
    """A GE upgrade that names a new CDN file fails here, not on a user's offline page."""
    seen = set()
    for path in _ge_view_files():
        for url in external_resources(path.read_text(encoding="utf-8", errors="replace")):
            seen.add(url)
            assert url.split("?")[0] in URLS or url in SITE_FILES, f"{path.name}: {url}"
    assert len(seen) >= 15  # the scan found GE's references (a moved template dir would not)


def test_the_pages_ge_pins_by_hash_get_byte_identical_files():
    """Where GE's templates carry subresource integrity, the vendored file has that hash:
    the npm files are the very bytes the CDN serves."""
    claims = [claim for path in _ge_view_files()
              for claim in offline_docs.integrity_claims(path.read_text(encoding="utf-8"))]
    assert {name for name, _ in claims} == {"popper.js/dist/umd/popper.min.js",
                                           "bootstrap/dist/js/bootstrap.min.js"}
    for name, integrity in claims:
        assert offline_docs.matches_integrity((ASSETS / name).read_bytes(), integrity), name


PAGE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js"
  integrity="{sri}" crossorigin="anonymous"></script>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
</head><body>
<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=2026">
<a href="https://greatexpectations.io/newsletter?utm_source=datadocs">Subscribe</a>
</body></html>
"""
CSS = ".a { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/" \
      "full_logo_dark.png') 0 0; }"


def _site(tmp_path, sri: str) -> Path:
    site = tmp_path / "docs"
    (site / "validations/steps/run").mkdir(parents=True)
    (site / "static/styles").mkdir(parents=True)
    (site / "index.html").write_text(PAGE.format(sri=sri))
    (site / "validations/steps/run/page.html").write_text(PAGE.format(sri=sri))
    (site / "static/styles/default.css").write_text(CSS)
    return site


def _sri(name: str) -> str:
    import base64
    import hashlib

    data = (ASSETS / name).read_bytes()
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_make_self_contained_points_every_page_at_its_own_copy(tmp_path):
    site = _site(tmp_path, _sri("bootstrap/dist/js/bootstrap.min.js"))
    assert len(external_resources((site / "index.html").read_text())) == 4

    assert make_self_contained(site) == []
    deep = (site / "validations/steps/run/page.html").read_text()
    assert 'href="../../../static/vendor/bootstrap/dist/css/bootstrap.min.css"' in deep
    assert '<script src="../../../static/vendor/vega/build/vega.min.js">' in deep
    assert 'src="../../../static/images/logo-long.png"' in deep  # the query dropped
    # A vendored tag drops its SRI attributes: Chromium refuses a CORS fetch of file://.
    assert 'src="../../../static/vendor/bootstrap/dist/js/bootstrap.min.js"></script>' in deep
    assert "integrity" not in deep and "crossorigin" not in deep
    assert 'href="https://greatexpectations.io/newsletter' in deep  # a link, not a load
    top = (site / "index.html").read_text()
    assert 'href="static/vendor/bootstrap/dist/css/bootstrap.min.css"' in top
    assert "url('../images/logo-long.png')" in (site / "static/styles/default.css").read_text()
    for name in vendored_files():
        assert (site / "static/vendor" / name).read_bytes() == (ASSETS / name).read_bytes()


def test_an_unknown_cdn_file_is_reported_and_left(tmp_path, caplog):
    site = _site(tmp_path, _sri("bootstrap/dist/js/bootstrap.min.js"))
    page = site / "index.html"
    page.write_text(page.read_text().replace(
        "</head>", '<script src="https://cdn.example.org/new.js"></script></head>'))
    assert make_self_contained(site) == ["index.html: https://cdn.example.org/new.js"]
    assert "still load 1 file(s) from the network" in caplog.text


def test_a_vendored_file_with_another_hash_is_refused(tmp_path, monkeypatch):
    site = _site(tmp_path, _sri("bootstrap/dist/js/bootstrap.min.js"))
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS, assets)
    (assets / "bootstrap/dist/js/bootstrap.min.js").write_text("/* not bootstrap */")
    monkeypatch.setattr(offline_docs, "ASSETS", assets)
    with pytest.raises(ValueError, match="vendored bootstrap/dist/js/bootstrap.min.js is not"):
        make_self_contained(site)


def test_rewrite_keeps_what_it_does_not_know():
    text = '<a href="https://example.org/x">x</a> <img src="https://example.org/y.png">'
    assert rewrite(text, lambda name: "LOCAL/" + name) == text


def test_the_wheel_ships_every_vendored_file():
    """The image installs tracer1 as a wheel (EDITABLE=0): package-data must cover the
    assets, or validate_dataset in a pod would find no files to copy."""
    import tomllib

    root = Path(__file__).resolve().parents[3]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["tracer1.data.validation"]
    package = ASSETS.parent
    shipped = {p.relative_to(ASSETS).as_posix() for pattern in patterns
               for p in package.glob(pattern) if p.is_file() and ASSETS in p.parents}
    assert set(vendored_files()) | {"package-lock.json"} <= shipped


def test_doctests():
    import doctest

    result = doctest.testmod(offline_docs)
    assert result.attempted > 0 and result.failed == 0
