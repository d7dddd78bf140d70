"""The model throughput benchmark: FLOP estimates, token bookkeeping, rows, and one smoke run
of every part on a tiny Llama standing in for the default planner."""

from __future__ import annotations

import doctest
import json

import pytest

from bench import model_throughput as mt
from bench import run_all
from tracer1.config import PolicyConfig

N = 134_515_008  # SmolLM2-135M


def test_flop_estimates_per_token():
    assert mt.matmul_flops(2048) == 2 * 2048 ** 3
    assert mt.train_flops_per_token(N) == 6 * N
    assert mt.train_flops_per_token(N, lora=True) == 4 * N
    assert mt.grpo_flops_per_token(N) == 8 * N
    assert mt.generate_flops_per_token(N) == 2 * N
    # 235 tokens/s of LoRA SFT at 6N against a 910 GFLOP/s bf16 peak: ~21 %.
    assert mt.peak_fraction(235.0, 6 * N, 910.0) == pytest.approx(0.2084, abs=1e-4)
    assert mt.peak_fraction(None, 6 * N, 910.0) is None
    assert mt.peak_fraction(235.0, 6 * N, None) is None


def test_rate_and_generated_lengths():
    assert mt.rate([100, 300], [0.5, 1.5]) == 200.0
    assert mt.rate([], []) is None and mt.rate([1], [0.0]) is None
    # eos ends a row (counted); a pad that is not eos ends it before (a stop string's row).
    assert mt.generated_lengths([[7, 2, 2], [7, 8, 0], [7, 8, 9]], eos_id=2, pad_id=0) == [2, 2, 3]
    # pad == eos (SmolLM2 pads with eos): the first one counts as the row's eos.
    assert mt.generated_lengths([[7, 2, 2]], eos_id=2, pad_id=2) == [2]


def test_token_clock_pairs_tokens_with_the_timed_intervals():
    clock = mt.TokenClock()
    for step, tokens in ((1, 500), (2, 1100), (3, 1500), (3, None)):  # + trl's summary log
        clock.tick(step, {"num_tokens": tokens} if tokens else {})
    assert [s for s, _ in clock.stamps] == [1, 2, 3]
    clock.stamps = [(1, 10.0), (2, 12.0), (3, 13.0)]
    clock.batches = [(800, 500), (800, 600), (500, 400)]
    assert clock.step_seconds(warmup=1) == pytest.approx([2.0, 1.0])
    assert clock.step_tokens(warmup=1) == [600.0, 400.0]
    assert clock.padding_share(warmup=1) == pytest.approx(1000 / 1300)
    summary = mt.run_summary(clock, warmup=1)
    assert summary["tokens_per_s"] == pytest.approx(1000 / 3.0)
    clock.num_tokens.pop(2)
    assert clock.step_tokens(warmup=1) == []  # an unknown count: no rate rather than a wrong one
    assert mt.run_summary(clock, warmup=1)["tokens_per_s"] is None


def run(tokens_per_s, step_s=2.0, padding=0.9, generate=None):
    return {"tokens_per_s": tokens_per_s, "median_step_s": step_s, "padding_share": padding,
            "profile_s": {} if generate is None else {"transformers.generate": generate}}


def gen_run(tokens_per_s, tokens=160, slots_per_s=None):
    return {"seconds": tokens / tokens_per_s, "generated_tokens": tokens, "prompt_tokens": 800,
            "decode_slots": 200, "generate_calls": 1, "tokens_per_s": tokens_per_s,
            "slots_per_s": slots_per_s or tokens_per_s, "processed_per_s": tokens_per_s * 6}


def raw_report():
    policy = {"dtype": "bfloat16", "lora": {"r": 16, "target_modules": ["q_proj", "v_proj"]}}
    return {
        "parameters": N, "model_name": "SmolLM2-135M-Instruct", "policy": policy,
        "peak": {"bfloat16": {"size": 2048, "trials": 5, "matmuls_per_trial": 10,
                              "threads": 2, "gflops": 900.0, "best_s": 0.019},
                 "float32": {"size": 2048, "trials": 5, "matmuls_per_trial": 2,
                             "threads": 2, "gflops": 112.5, "best_s": 0.15}},
        "sft": {"steps": 4, "warmup": 1, "batch_size": 4, "rows": 300, "max_length": 832,
                "runs": {"bare": [run(200.0), run(220.0)], "ours": [run(240.0), run(220.0)]}},
        "grpo": {"steps": 2, "warmup": 1, "batch_size": 8, "num_generations": 4,
                 "max_new_tokens": 192,
                 "runs": {"bare": [run(100.0, 30.0, None, 20.0)],
                          "ours": [run(90.0, 33.0, None, 21.0)]}},
        "generate": {"prompts": 16, "max_new_tokens": 192, "arms": ["agent", "bare"],
                     "dtypes": {"float32": {"runs": {"bare": [gen_run(50.0)],
                                                     "agent": [gen_run(40.0, 120, 45.0)]}}}},
    }


def test_rows_carry_ratios_and_fractions_of_the_bf16_peak():
    rows = mt.summarize(raw_report())
    starts = ["bf16 matmul peak", "fp32 matmul peak", "SFT bare trl SFTTrainer",
              "SFT run_sft (the sft stage's trainer) vs bare", "GRPO bare trl GRPOTrainer",
              "GRPO run_stage1 → run_grpo (the stage1_grpo trainer, no MLflow) vs bare",
              "generate: bare tokenize + model.generate", "generate: Agent.plan_prompts"]
    assert len(rows) == len(starts)
    assert all(r.what.startswith(s) for r, s in zip(rows, starts, strict=True))
    peak, _, sft_bare, sft_ours, grpo_bare, grpo_ours, gen_bare, gen_agent = rows
    assert (peak.value, peak.unit, peak.ratio) == (900.0, "GFLOP/s", 8.0)
    assert sft_bare.ratio is None and sft_bare.value == 210.0
    assert sft_ours.ratio == pytest.approx((240 / 200 + 1.0) / 2)  # median of paired ratios
    assert sft_ours.extra["peak_fraction_bf16"] == pytest.approx(230.0 * 6 * N / 900e9)
    assert sft_ours.extra["peak_fraction_bf16_lora_executed"] == pytest.approx(
        230.0 * 4 * N / 900e9)
    assert "of bf16 peak at 6N FLOPs/token" in sft_ours.note
    assert "90.0% of padded slots real" in sft_ours.note
    assert "batch 4" in sft_ours.what and "LoRA r16 on q_proj/v_proj" in sft_ours.what
    assert grpo_ours.ratio == pytest.approx(0.9)
    assert "8N" in grpo_ours.note and "generation 21.0 of 33.0 s/step" in grpo_ours.note
    assert gen_bare.ratio is None and gen_agent.ratio == pytest.approx(0.8)
    assert "120 vs 160 generated tokens; decode-slot rate ratio 0.90" in gen_agent.note
    assert gen_agent.extra["peak_fraction_bf16"] == pytest.approx(240.0 * 2 * N / 900e9)
    assert "float32, greedy, 16 prompts" in gen_agent.what
    assert all(r.bench == "model_throughput" for r in rows)
    json.dumps([r.to_json() for r in rows])  # the report is JSON


def test_rows_without_the_peak_have_no_fractions():
    raw = raw_report()
    del raw["peak"], raw["grpo"], raw["generate"]
    rows = mt.summarize(raw)
    assert len(rows) == 2 and rows[1].extra["peak_fraction_bf16"] is None
    assert rows[1].note.startswith("— of bf16 peak")


def test_quick_and_explicit_options():
    args = mt.parse_args([])
    assert (args.sft_steps, args.sft_batch, args.gen_prompts, args.max_new_tokens) == (
        4, 4, 16, None)
    quick = mt.parse_args(["--quick", "--sft-batch", "3"])
    assert (quick.sft_steps, quick.sft_batch, quick.max_new_tokens) == (1, 3, 16)
    with pytest.raises(SystemExit):
        mt.parse_args(["--grpo-batch", "6", "--grpo-generations", "4"])
    with pytest.raises(SystemExit):
        mt.parse_args(["--gen-arms", "agent"])


def test_run_all_routes_quick_and_reads_the_stored_rows(tmp_path):
    assert "model_throughput" in run_all.BENCHMARKS
    namespace = run_all.main.__globals__["argparse"].Namespace
    quick = run_all.bench_argv("model_throughput", namespace(
        repeats=None, quick=True, full_run=False, full_run_seconds=None), tmp_path)
    assert quick == ["--out", str(tmp_path / "model_throughput.json"), "--quick"]
    rows = run_all.stored_rows({"rows": [r.to_json() for r in mt.summarize(raw_report())]})
    assert rows[3].ratio == pytest.approx(1.1)


def test_find_base_uses_a_directory_prepared_from_the_spec(tmp_path):
    def prepared(path, spec):
        path.mkdir()
        (path / "config.json").write_text("{}")
        (path / "source.json").write_text(json.dumps(
            {"format": 1, "spec": spec, "kind": "gguf" if spec else "none"}))
        return path

    policy = PolicyConfig()  # base_model null: the default planner's spec
    tiny = prepared(tmp_path / "models-base", None)
    other = prepared(tmp_path / "fallback", mt.DEFAULT_SPEC)
    assert mt.find_base(policy, tiny, other, prepare=False)[0] == other
    with pytest.raises(FileNotFoundError, match="no prepared base"):
        mt.find_base(policy, tiny, tmp_path / "absent", prepare=False)
    assert mt.base_spec(PolicyConfig(base_model="/m/x.gguf")) == "/m/x.gguf"


def test_doctests():
    result = doctest.testmod(mt)
    assert result.attempted > 0 and result.failed == 0


SMOKE_PARAMS = """
forecast: {history: 2, variants: {v: {horizon: 2}}, candidate: v, baseline: v}
policy:
  dtype: bfloat16
  lora: {r: 4, alpha: 8, dropout: 0.0}
  max_prompt_tokens: 96
  max_new_tokens: 8
sft: {warmup_steps: 0}
"""


def test_every_part_runs_end_to_end_on_a_tiny_base(tmp_path):
    from tests.unit.training.fixtures import tiny_policy
    from tracer1.policy.model import build_tiny
    from tracer1.policy.tokenizer import train_tokenizer

    base = tmp_path / "base"
    tok = train_tokenizer(['<plan>\nanswer(text="5")\n</plan>', "Task: add 2 and 3\n"] * 4,
                          vocab_size=300)
    build_tiny(tiny_policy(), tok).save_pretrained(base)
    tok.save_pretrained(base)
    params = tmp_path / "params.yaml"
    params.write_text(SMOKE_PARAMS)
    out = tmp_path / "out.json"
    report = mt.main([
        "--params", str(params), "--base-dir", str(base), "--out", str(out),
        "--trajectories", str(tmp_path / "absent.jsonl"), "--episodes", "3",
        "--matmul-size", "64", "--matmul-trials", "1", "--sft-steps", "1", "--sft-batch", "2",
        "--grpo-steps", "1", "--grpo-batch", "2", "--grpo-generations", "2",
        "--max-new-tokens", "4", "--gen-prompts", "2", "--gen-arms", "agent", "bare",
        "bare-peft",
    ])
    assert json.loads(out.read_text())["rows"] == report["rows"]
    rows = report["rows"]
    assert len(rows) == 2 + 2 + 2 + 2 * 3  # peaks, SFT, GRPO, 3 generation arms x 2 dtypes
    for row in rows:
        assert row["value"] and row["value"] > 0, row["what"]
        if "vs bare" in row["what"]:
            assert row["ratio"] and row["ratio"] > 0, row["what"]
    assert report["parameters"] > 0 and "tool-use expert episodes" in report["data"]
    sft = report["sft"]["runs"]
    assert all(r["step_tokens"] and r["padding_share"] for r in sft["bare"] + sft["ours"])
    gen = report["generate"]["dtypes"]
    assert set(gen) == {"float32", "bfloat16"}
    assert all(r["generated_tokens"] > 0 for runs in gen["float32"]["runs"].values()
               for r in runs)
