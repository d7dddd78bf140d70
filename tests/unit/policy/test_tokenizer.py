"""The tiny tokenizer: byte-level round trip, specials, determinism, save/load, clipping."""

from __future__ import annotations

import pytest

from tracer1.policy.tokenizer import (
    BOS,
    EOS,
    clip_prompt,
    completion_ids,
    load_tokenizer,
    train_tokenizer,
)

CORPUS = [
    'Task: What is 2025 - 1661?\nObservation:\nResults: no calls yet.',
    '<plan>\ntool(name="calculator", args={"expression": "2025 - 1661"})\n'
    'answer(text="364")\n</plan>',
    "Previous actions:\n(none)\nForecast the next 2 actions.",
] * 5


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(CORPUS, vocab_size=300)


@pytest.mark.parametrize("text", [
    CORPUS[1],
    "ünïcödé → 中文 and emoji 🙂 never seen in training",
    "  leading spaces\n\ttabs and 12345.678",
])
def test_round_trip(tok, text):
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id  # every encoded text starts with bos
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert tok.unk_token_id not in ids  # byte-level: nothing is unknown


def test_special_tokens_and_left_padding(tok):
    assert (tok.bos_token, tok.eos_token) == (BOS, EOS)
    assert len({tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id}) == 4
    assert tok.padding_side == "left"
    batch = tok(["a", "a longer text"], padding=True)
    assert batch["input_ids"][0][0] == tok.pad_token_id
    assert batch["attention_mask"][0][0] == 0


def test_digits_are_single_tokens(tok):
    # A number must tokenize the same inside an observation and inside an expression.
    pieces = tok.convert_ids_to_tokens(tok("x 1661", add_special_tokens=False)["input_ids"])
    assert [p for p in pieces if p.strip("Ġ").isdigit()] == ["1", "6", "6", "1"]


@pytest.mark.parametrize("context", [' of {} until', '"query": "{}"})', "\n{}:", "({})"])
def test_a_word_has_the_same_ids_in_any_context(context):
    # Copying a name from the task into a call's quotes must be copying ids: a
    # space-prefixed word would be a different token from the quoted one.
    tok = train_tokenizer([f"the city of Soquiand and {w}" for w in ("Soquiand", "x")] * 8, 300)
    word = tok("Soquiand", add_special_tokens=False)["input_ids"]
    ids = tok(context.replace("{}", "Soquiand"), add_special_tokens=False)["input_ids"]
    assert any(ids[i:i + len(word)] == word for i in range(len(ids)))


def test_training_is_deterministic(tok):
    again = train_tokenizer(CORPUS, vocab_size=300)
    assert again.get_vocab() == tok.get_vocab()
    assert again(CORPUS[1])["input_ids"] == tok(CORPUS[1])["input_ids"]


def test_vocab_size_is_respected_and_checked(tok):
    assert len(tok) <= 300
    with pytest.raises(ValueError, match="vocab_size"):
        train_tokenizer(CORPUS, vocab_size=100)


def test_save_and_load_round_trip(tok, tmp_path):
    tok.save_pretrained(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert loaded.get_vocab() == tok.get_vocab()
    assert loaded(CORPUS[0])["input_ids"] == tok(CORPUS[0])["input_ids"]
    assert (loaded.padding_side, loaded.eos_token, loaded.pad_token) == ("left", EOS, tok.pad_token)


def test_clip_prompt_keeps_the_task_line_and_the_newest_text_within_budget(tok):
    prompt = "\n".join(CORPUS)
    task = prompt.split("\n")[0] + "\n"
    full = len(tok(prompt)["input_ids"])
    for budget in (len(tok(task)["input_ids"]) + 3, 40, full - 1):
        clipped = clip_prompt(tok, prompt, budget)
        assert len(tok(clipped)["input_ids"]) <= budget
        assert clipped.startswith(task) and prompt.endswith(clipped[len(task):])
        assert len(clipped) > len(task)
    assert clip_prompt(tok, prompt, full) == prompt  # within budget: untouched


def test_clip_prompt_cuts_a_task_line_over_the_budget_from_the_left(tok):
    prompt = "Task: " + "add these numbers " * 20 + "\nForecast the next 2 actions."
    clipped = clip_prompt(tok, prompt, 12)
    assert len(tok(clipped)["input_ids"]) <= 12 and prompt.endswith(clipped) and clipped


def test_completion_ids_end_with_eos_and_have_no_bos(tok):
    ids = completion_ids(tok, CORPUS[1])
    assert ids[-1] == tok.eos_token_id and tok.bos_token_id not in ids
    assert tok.decode(ids, skip_special_tokens=True) == CORPUS[1]
