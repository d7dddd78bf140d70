"""`build_dataset.imports`: strict loading of import sources, and the checks across sections."""

from __future__ import annotations

import textwrap

import pytest

from tracer1.config import ConfigError, ImportSourceConfig
from tracer1.stages import load_params  # with the importers' own checks

GAIA = "{format: gaia, path: data/fixtures/importers/gaia}"


def _load(tmp_path, body: str):
    path = tmp_path / "params.yaml"
    path.write_text(textwrap.dedent(body))
    return load_params(path)


def test_an_import_block_loads_with_every_field(tmp_path):
    params = _load(tmp_path, """
        build_dataset:
          imports:
            android:
              format: androidcontrol
              path: data/external/android_control
              strict: false
              options: {}
              fractions: {train: 0.9, test: 0.1}
              use_dataset_split: false
              weight: 0.25
              max_episodes: 500
        """)
    source = params.build_dataset.imports["android"]
    assert source == ImportSourceConfig(
        format="androidcontrol", path="data/external/android_control", strict=False,
        fractions={"train": 0.9, "test": 0.1}, use_dataset_split=False, weight=0.25,
        max_episodes=500)
    assert params.build_dataset.offline_suites() == ("androidcontrol",)
    assert set(params.build_dataset.suites) == {"tooluse"}  # imports are not live suites


@pytest.mark.parametrize("entry,needle", [
    ("{format: gaia, path: x, wieght: 0.5}", "build_dataset.imports.q.wieght: unknown field"),
    ("{format: gaia, path: x, weight: 1.5}", "build_dataset.imports.q: weight: must be in (0, 1]"),
    ("{format: gaia, path: x, weight: 0}", "weight: must be in (0, 1]"),
    ("{format: gaia, path: x, max_episodes: 0}", "max_episodes: must be >= 1"),
    ("{path: x}", "build_dataset.imports.q: format: required"),
    ("{format: gaia}", "build_dataset.imports.q: path: required"),
    ("{format: gaia, path: x, strict: 1}", "build_dataset.imports.q.strict: expected bool"),
    ("{format: nope, path: x}", "build_dataset.imports.q.format: unknown 'nope'"),
    ("{format: gaia, path: x, options: {split_file: a}}",
     "build_dataset.imports.q.options: GaiaImporter() takes no arguments"),
    ("{format: gaia, path: x, fractions: {train: 0.5, tset: 0.5}}",
     "build_dataset.imports.q.fractions: ['tset'] are not splits"),
    ("{format: gaia, path: x, fractions: {train: 0.5, test: 0.4}}",
     "build_dataset.imports.q.fractions: shares must be >= 0 and sum to 1"),
])
def test_a_bad_import_is_an_error_naming_file_and_key(tmp_path, entry, needle):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, f"build_dataset:\n  imports:\n    q: {entry}\n")
    assert str(tmp_path / "params.yaml") in str(info.value)
    assert needle in str(info.value)


def test_an_imported_suite_cannot_be_floored_or_double_as_a_live_suite(tmp_path):
    with pytest.raises(ConfigError, match="promote.floors.gaia: imported suites are scored "
                                          "offline only"):
        _load(tmp_path, f"build_dataset:\n  imports:\n    q: {GAIA}\n"
                        "promote:\n  floors: {tooluse: 0.1, gaia: 0.2}\n")
    params = _load(tmp_path, f"build_dataset:\n  imports:\n    q: {GAIA}\n"
                             "promote:\n  floors: {tooluse: 0.1}\n")
    assert params.promote.floors == {"tooluse": 0.1}
