import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO

FIXTURES = REPO / "data" / "fixtures" / "importers"


@pytest.fixture
def fixture_copy(tmp_path):
    """A writable copy of one format's committed fixture folder."""

    def copy(name: str) -> Path:
        dest = tmp_path / "src" / name
        shutil.copytree(FIXTURES / name, dest)
        return dest

    return copy
