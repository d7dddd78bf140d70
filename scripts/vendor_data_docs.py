"""Refresh the Data Docs' vendored CSS/JS from npm (`tracer1.data.validation.offline_docs`).

    python scripts/vendor_data_docs.py

Installs `offline_docs.PACKAGES` at their exact versions with `npm` into a scratch
directory (no install scripts run) and copies the listed files, each package's
package.json and license, and npm's lock file (the tarballs' integrity hashes) into
``src/tracer1/data/validation/docs_assets/``, replacing what was there. Run it after
changing `PACKAGES`, e.g. for a Great Expectations upgrade that names new CDN files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from tracer1.data.validation.offline_docs import ASSETS, PACKAGES, copy_vendored, vendored_files

LOCK = "package-lock.json"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tracer1-vendor-") as scratch:
        root = Path(scratch)
        manifest = {"name": "tracer1-data-docs-assets", "private": True,
                    "dependencies": {p.name: p.version for p in PACKAGES}}
        (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        # --legacy-peer-deps: GE's popper.js 1.12.9 is older than Bootstrap's peer range.
        subprocess.run(["npm", "install", "--ignore-scripts", "--legacy-peer-deps",
                        "--no-audit", "--no-fund"], cwd=root, check=True)
        shutil.rmtree(ASSETS, ignore_errors=True)
        copy_vendored(root / "node_modules", ASSETS)
        shutil.copyfile(root / LOCK, ASSETS / LOCK)
    size = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    print(f"vendored {len(vendored_files())} files ({size / 1e6:.2f} MB) into {ASSETS}")


if __name__ == "__main__":
    main()
