"""bench/gpu_grpo.py without a GPU: its arguments, the runs it plans, its ratios, and a
clear stop (exit 2, nothing measured) on a machine without CUDA."""

import pytest

from bench import gpu_grpo


def test_arguments_and_the_runs_they_plan():
    args = gpu_grpo.parse_args(["--gpus", "4", "--engines", "vllm,transformers"])
    assert args.gpus == 4 and args.engines == ("vllm", "transformers")
    assert gpu_grpo.parse_args([]).gpus == "all"
    assert gpu_grpo.plan_runs(4, args.engines) == [(1, "vllm"), (1, "transformers"),
                                                   (4, "transformers")]
    assert gpu_grpo.plan_runs(1, ("transformers",)) == [(1, "transformers")]


@pytest.mark.parametrize("argv", [["--gpus", "0"], ["--gpus", "many"],
                                  ["--engines", "sglang"], ["--engines", ","],
                                  ["--batch", "30", "--generations", "8"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        gpu_grpo.parse_args(argv)
    assert exit_.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_ratios():
    assert gpu_grpo.ratios({"1xtransformers": 50.0, "8xtransformers": 320.0,
                            "1xvllm": 200.0}) == {"scaling_efficiency_8gpus": 0.8,
                                                  "vllm_speedup": 4.0}
    assert gpu_grpo.ratios({"1xvllm": 200.0}) == {}


def test_without_a_gpu_it_stops_clearly(monkeypatch, capsys, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_grpo.main(["--out", str(tmp_path / "r.json")]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
