"""Great Expectations' Data Docs, made to work without a network.

GE 1.24.1 writes pages that load jQuery, Bootstrap, bootstrap-table, Font Awesome, vega
and more from five CDNs; offline the index is unstyled and its result tables are empty
(bootstrap-table fills them from JavaScript). The same files, from the npm packages at
the versions GE names, are vendored in ``docs_assets/<package>/<path>`` (each with the
package's ``package.json`` and license; `scripts/vendor_data_docs.py` refreshes them
from npm). `make_self_contained` copies them into the built site under
``static/vendor/`` and points every page and stylesheet at the copy, relative to the
file, so the site reads from disk, from an artifact store or from a Kubeflow HTML
artifact alike.

>>> rewrite('<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>', str)
'<script src="static/vendor/jquery/dist/jquery.min.js"></script>'
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS = Path(__file__).with_name("docs_assets")
VENDOR_DIR = "static/vendor"
"""Where the vendored files go inside a built Data Docs site."""


@dataclass(frozen=True)
class Package:
    """An npm package whose files the Data Docs load."""

    name: str
    version: str
    files: tuple[str, ...]
    """Paths inside the package that are vendored (what the pages load, and what those
    files load in turn: Font Awesome's webfonts)."""
    license: str | None = "LICENSE"
    """The package's license file (None: it ships none; its package.json names it)."""


PACKAGES = (
    Package("jquery", "3.7.1", ("dist/jquery.min.js",), "LICENSE.txt"),
    # GE pairs Bootstrap 4.3.1 with popper.js 1.12.9 (Bootstrap asks for ^1.14.7); kept as GE
    # ships it, so the pages behave as they do online.
    Package("popper.js", "1.12.9", ("dist/umd/popper.min.js",), None),
    Package("bootstrap", "4.3.1", ("dist/js/bootstrap.min.js", "dist/css/bootstrap.min.css")),
    Package("bootstrap-table", "1.19.1", (
        "dist/bootstrap-table.min.js", "dist/bootstrap-table.min.css",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    )),
    Package("bootstrap-datepicker", "1.9.0", (
        "dist/js/bootstrap-datepicker.min.js", "dist/css/bootstrap-datepicker.min.css",
    )),
    # "vega@5" on jsDelivr: the newest 5.x, the file named by the package's `jsdelivr` field.
    Package("vega", "5.33.1", ("build/vega.min.js",), None),
    Package("vega-lite", "5.23.0", ("build/vega-lite.min.js",)),
    Package("vega-embed", "6.29.0", ("build/vega-embed.min.js",)),
    # The stylesheet asks for each font as woff2, then ttf; Chromium and every current
    # browser take the woff2, so the ttf files are not vendored.
    Package("@fortawesome/fontawesome-free", "6.6.0", (
        "css/all.min.css", "webfonts/fa-brands-400.woff2", "webfonts/fa-regular-400.woff2",
        "webfonts/fa-solid-900.woff2", "webfonts/fa-v4compatibility.woff2",
    ), "LICENSE.txt"),
    Package("@forevolve/bootstrap-dark", "1.1.0", ("dist/css/bootstrap-prefers-dark.min.css",)),
)

_GE_IMAGES = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
URLS: dict[str, str] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js/dist/umd/popper.min.js",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap/dist/js/bootstrap.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap/dist/css/bootstrap.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    # GE asks for the filter-control stylesheet of 1.19.0 (minified or not) beside the
    # 1.19.1 scripts; 1.19.1's is the same rule set.
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/build/vega-embed.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "@fortawesome/fontawesome-free/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css":
        "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.min.css",
}
"""Each CDN URL in GE's templates → the vendored file (``<package>/<path>``) it names."""

SITE_FILES: dict[str, str] = {
    # GE's logo, which GE also ships in the site itself (the dark variant it does not).
    _GE_IMAGES + "logo-long.png": "static/images/logo-long.png",
    _GE_IMAGES + "full_logo_dark.png": "static/images/logo-long.png",
}
"""URLs of files that the built site already holds → their path inside the site."""

_URL = re.compile(r"https?://[^\s\"'()<>]+")
_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)
_SRI = re.compile(r"""\s+(integrity|crossorigin)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_TEXT_FILES = (".html", ".css")

# Resource positions: src/srcset/link href/CSS url(); an <a href> is a link the reader
# may follow, not something the page loads.
_LOADED = re.compile(
    r"""(?:\bsrc(?:set)?\s*=\s*["']|<link\b[^>]*?\bhref\s*=\s*["']|url\(\s*["']?)"""
    r"""(https?://[^\s"'()<>]+)""", re.IGNORECASE)


def vendored_files() -> list[str]:
    """Every vendored file as ``<package>/<path>``, licenses and package.json included."""
    files = []
    for package in PACKAGES:
        extra = ("package.json",) + ((package.license,) if package.license else ())
        files += [f"{package.name}/{path}" for path in package.files + extra]
    return files


def copy_vendored(source: Path, target: Path) -> None:
    """Copy every `vendored_files` entry from the tree `source` to the same place under
    `target` (npm's ``node_modules`` → `ASSETS`, `ASSETS` → a site's `VENDOR_DIR`)."""
    for name in vendored_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target / name)


def _bare(url: str) -> str:
    return url.split("?", 1)[0]


def _vendored(tag: str) -> str | None:
    """The vendored file a <script>/<link> tag loads (``<package>/<path>``), if any."""
    url = _URL.search(tag)
    return URLS.get(_bare(url.group(0))) if url else None


def integrity_claims(text: str) -> list[tuple[str, str]]:
    """(vendored file, its tag's ``integrity`` value) for each tag in `text` that has one."""
    return [(name, value) for tag in _TAG.findall(text) if (name := _vendored(tag))
            for attr, value in _SRI.findall(tag) if attr.lower() == "integrity"]


def matches_integrity(data: bytes, integrity: str) -> bool:
    """Whether `data` has one of the hashes of a subresource-integrity value.

    >>> matches_integrity(b"x", "sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=")
    True
    >>> matches_integrity(b"y", "sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=")
    False
    """
    for token in integrity.split():
        algorithm, _, digest = token.partition("-")
        if algorithm in ("sha256", "sha384", "sha512"):
            mine = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
            if mine == digest:
                return True
    return False


def rewrite(text: str, local: Callable[[str], str]) -> str:
    """`text` with each known URL replaced by ``local(<the file's path in the site>)``
    (`URLS`, `SITE_FILES`; a query string such as GE's ``?d=<timestamp>`` is dropped);
    any other URL is kept. A vendored tag loses ``integrity`` and ``crossorigin``: a
    browser refuses a CORS request for a ``file://`` page, and `make_self_contained`
    has checked the hash against the vendored file instead."""
    text = _TAG.sub(lambda m: _SRI.sub("", m.group(0)) if _vendored(m.group(0))
                    else m.group(0), text)

    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        bare = _bare(url)
        if bare in URLS:
            return local(f"{VENDOR_DIR}/{URLS[bare]}")
        return local(SITE_FILES[bare]) if bare in SITE_FILES else url

    return _URL.sub(replace, text)


def external_resources(text: str) -> list[str]:
    """The absolute http(s) URLs that `text` (HTML or CSS) would make a browser fetch."""
    return _LOADED.findall(text)


def make_self_contained(site: str | os.PathLike) -> list[str]:
    """Vendor the assets into the Data Docs `site` and point its pages at them.

    Returns the external resources still referenced (none with GE 1.24.1; a GE upgrade
    that adds a CDN file shows up here, and is logged, rather than failing validation).
    """
    site = Path(site)
    vendor = site / VENDOR_DIR
    copy_vendored(ASSETS, vendor)
    left: list[str] = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in _TEXT_FILES or vendor in path.parents:
            continue
        here = path.parent

        def local(name: str, here: Path = here) -> str:
            return Path(os.path.relpath(site / name, here)).as_posix()

        text = path.read_text(encoding="utf-8")
        for name, integrity in integrity_claims(text):
            if not matches_integrity((vendor / name).read_bytes(), integrity):
                raise ValueError(f"{path}: the vendored {name} is not the file the page asks "
                                 f"for ({integrity}); run scripts/vendor_data_docs.py")
        text = rewrite(text, local)
        path.write_text(text, encoding="utf-8")
        left += [f"{path.relative_to(site)}: {url}" for url in external_resources(text)]
    if left:
        log.warning("Data Docs still load %d file(s) from the network: %s", len(left),
                    "; ".join(left[:5]))
    return left
