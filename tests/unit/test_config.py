from pathlib import Path

import pytest

from tracer1.config import ConfigError, Params, from_dict, load_params

REPO = Path(__file__).resolve().parents[2]


def test_repo_params_load_and_choose_values():
    params = load_params(REPO / "params.yaml")
    assert isinstance(params, Params)
    assert params.build_dataset.episode_limit == 30 and params.sft.balance_families
    assert "tooluse" in params.suites and params.build_dataset.suites == params.suites


def write(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_file_and_path(tmp_path):
    path = write(tmp_path, "build_dataset:\n  seeds:\n    trian: {start: 0, stop: 3}\n")
    with pytest.raises(ConfigError, match=r"params\.yaml: build_dataset\.seeds\.trian: unknown"):
        load_params(path)


def test_wrong_type_is_an_error_not_a_default(tmp_path):
    path = write(tmp_path, "forecast:\n  history: five\n")
    with pytest.raises(ConfigError, match=r"forecast\.history: expected int"):
        load_params(path)


def test_bool_is_not_an_int(tmp_path):
    with pytest.raises(ConfigError, match="episode_limit"):
        load_params(write(tmp_path, "build_dataset:\n  episode_limit: true\n"))


def test_overlapping_split_seeds_rejected(tmp_path):
    text = (
        "build_dataset:\n  seeds:\n"
        "    train: {start: 0, stop: 10}\n    val: {start: 5, stop: 12}\n"
    )
    with pytest.raises(ConfigError, match="train and val overlap"):
        load_params(write(tmp_path, text))


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(write(tmp_path, "a: [\n"))


def test_nested_suites_and_tuples():
    params = from_dict(Params, {"suites": {"tooluse": {"families": ["a", "b"]}}})
    for suites in (params.suites, params.build_dataset.suites):  # one section, one value
        assert suites["tooluse"].families == ("a", "b")
        assert suites["tooluse"].difficulties == (1, 2, 3)
    with pytest.raises(ConfigError, match=r"build_dataset\.suites: set by the top-level"):
        from_dict(Params, {"build_dataset": {"suites": {}}}, "params.yaml")


def test_overrides_apply_on_top_of_the_file_and_are_checked(tmp_path):
    path = write(tmp_path, "sft: {max_steps: 5}\npolicy: {seed: 1}\n")
    params = load_params(path, {"policy.seed": 7, "policy.base_model": "/models/base",
                                "stage1_grpo.seed": 7})
    assert (params.policy.seed, params.policy.base_model, params.stage1_grpo.seed) == (
        7, "/models/base", 7)
    assert params.sft.max_steps == 5 and load_params(path).policy.seed == 1  # file untouched
    with pytest.raises(ConfigError, match=r"with overrides sft\.sed.*sft\.sed: unknown field"):
        load_params(path, {"sft.sed": 3})
    with pytest.raises(ConfigError, match=r"policy\.seed: expected int"):
        load_params(path, {"policy.seed": "seven"})
    with pytest.raises(ConfigError, match=r"override sft\.max_steps\.x: sft\.max_steps is not"):
        load_params(path, {"sft.max_steps.x": 1})


def test_sft_suite_weights_load_and_reject_negative_shares(tmp_path):
    params = load_params(write(tmp_path, "sft:\n  suite_weights: {tooluse: 3, miniwob: 1}\n"))
    assert params.sft.suite_weights == {"tooluse": 3, "miniwob": 1}
    with pytest.raises(ConfigError, match=r"params\.yaml: sft\.suite_weights\.tooluse: must be"):
        load_params(write(tmp_path, "sft:\n  suite_weights: {tooluse: -1}\n"))


def test_docstring_examples():
    import doctest

    import tracer1.config

    result = doctest.testmod(tracer1.config)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("section,key,value", [
    ("stage1_grpo", "num_generations", 0),   # was a ZeroDivisionError traceback
    ("stage2_rft", "num_generations", 1),
    ("sft", "batch_size", -1),
    ("sft", "learning_rate", -0.001),
    ("evaluate", "episode_limit", 0),
    ("collect_feedback", "episodes_per_family", -2),
    ("validate_dataset", "max_episode_steps", 0),
])
def test_a_value_out_of_range_is_an_error_naming_the_file_and_key(tmp_path, section, key, value):
    import yaml

    data = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    data[section] = {**(data.get(section) or {}), key: value}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"params.yaml: {section}.{key}: must be >= "):
        load_params(path)


def test_every_bounded_field_exists():
    from tracer1.config import LOWER_BOUNDS

    params = load_params("params.yaml")
    for section, bounds in LOWER_BOUNDS.items():
        for name in bounds:
            assert hasattr(getattr(params, section), name), f"{section}.{name}"
