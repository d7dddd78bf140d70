"""The tiny planner's tokenizer: byte-level BPE trained on the training windows.

Byte-level, so any text (a hostile completion, an unseen tool output) encodes
without `<unk>`. What the planner must copy tokenizes the same wherever it
appears: digits are split one by one, so a number reads the same inside an
observation (`revenue: 8398.3`) and inside the expression the planner copies it
into (`round(8398.3 / 2722.2, 2)`); whitespace is a token of its own, so a name
after a space in the task (` Soquiand`) gives the same ids as inside the quotes
of a call (`"Soquiand"`) — with the usual space-prefixed words it would not.
Every encoded prompt starts with `<|bos|>` (the post-processor adds it), so SFT,
GRPO and inference all see the same ids.

The other half of the contract lives here too: `clip_prompt` (the task line kept, the rest
cut from the left at a token boundary, one rule for training and inference) and `completion_ids`
(the SFT target is exactly the plan text's tokens followed by eos).

>>> tok = train_tokenizer(["<plan>\\ndone()\\n</plan>"] * 4, vocab_size=300)
>>> tok.decode(tok("<plan>\\ndone()\\n</plan>")["input_ids"], skip_special_tokens=True)
'<plan>\\ndone()\\n</plan>'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

BOS, EOS, PAD, UNK = "<|bos|>", "<|eos|>", "<|pad|>", "<|unk|>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)  # ids 0..3, in this order
MIN_VOCAB = 256 + len(SPECIAL_TOKENS)  # the byte alphabet plus the specials


def train_tokenizer(texts: Iterable[str], vocab_size: int, *,
                    bos: bool = True) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE of `vocab_size` tokens on `texts`; deterministic for equal input.

    The result pads on the left (decoder-only batched generation) and adds `<|bos|>`
    in front of every encoded text — unless `bos=False`, for a processor whose chat
    template writes the bos itself (trl encodes the rendered text once with and once
    without special tokens; both must give the same ids).
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size < MIN_VOCAB:
        raise ValueError(f"vocab_size must be >= {MIN_VOCAB} (bytes + specials), got {vocab_size}")
    # Rust-side threads inside a process that later forks (datasets, trl) warn and can
    # deadlock; training here is small, so one thread costs nothing.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\s+"), behavior="isolated"),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    if bos:
        bos_id = tokenizer.token_to_id(BOS)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        padding_side="left",
        truncation_side="left",
        clean_up_tokenization_spaces=False,
    )


def load_tokenizer(path: str | os.PathLike) -> PreTrainedTokenizerBase:
    """A tokenizer saved with `save_pretrained` (the tiny one or a base model's), padding left.

    A base model without a pad token pads with eos (it is masked out anyway).
    """
    from transformers import AutoTokenizer

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    return prepare_tokenizer(tokenizer)


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Left padding and a pad token: what batched generation and trl's GRPO expect."""
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def clip_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, max_tokens: int) -> str:
    """`prompt` cut at a token boundary so it encodes to <= `max_tokens` ids.

    The first line is the task (`tracer1.policy.prompting.render_prompt`) and stays; the
    text after it is cut from the left, so the oldest observation text goes first and the
    newest state, next to the forecast request, stays. A first line that alone is over
    the budget is cut from the left with the rest.

    Cutting the *text* (not the ids) lets trl's GRPO, which tokenizes prompts itself
    without truncation, see exactly what SFT and the agent see.
    """
    if len(tokenizer(prompt)["input_ids"]) <= max_tokens:
        return prompt
    head, newline, body = prompt.partition("\n")
    if newline:
        head_ids = len(tokenizer(head + newline)["input_ids"])
        room = max_tokens - head_ids  # head_ids counts the special tokens
        if room >= 1 and body:
            for _ in range(8):  # the joined text can encode a token longer or shorter
                text = head + newline + _clip_left(tokenizer, body, room, special=False)
                over = len(tokenizer(text)["input_ids"]) - max_tokens
                if over <= 0:
                    return text
                room -= over
                if room < 1:
                    break
    return _clip_left(tokenizer, prompt, max_tokens)


def _clip_left(tokenizer: Any, text: str, max_tokens: int, *, special: bool = True) -> str:
    """`text` cut from the left so it encodes to <= `max_tokens` ids (`special`: counting
    the special tokens the tokenizer adds)."""
    ids = tokenizer(text, add_special_tokens=special)["input_ids"]
    if len(ids) <= max_tokens:
        return text
    if max_tokens - (tokenizer.num_special_tokens_to_add() if special else 0) < 1:
        raise ValueError(f"max_tokens={max_tokens} leaves no room for the prompt")
    drop = len(ids) - max_tokens
    for _ in range(8):  # re-encoding a cut text can merge differently; a few passes settle it
        text = _drop_tokens(tokenizer, text, drop)
        over = len(tokenizer(text, add_special_tokens=special)["input_ids"]) - max_tokens
        if over <= 0:
            return text
        drop = over
    return _drop_tokens(tokenizer, text, over)


def fit_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, max_tokens: int) -> str:
    """The text a text policy is given for `prompt`: clipped from the left, then wrapped in
    the tokenizer's chat template (`chat_prompt`) when it has one, so that the whole
    encodes to about `max_tokens` ids. A tokenizer without a template (the tiny model's)
    gets the clipped prompt itself.

    One function for SFT, both GRPO stages and the agent: the model always sees at test
    time the exact form it was trained on.
    """
    if not has_chat_template(tokenizer):
        return clip_prompt(tokenizer, prompt, max_tokens)
    overhead = len(tokenizer(chat_prompt(tokenizer, ""), add_special_tokens=False)["input_ids"])
    if max_tokens - overhead < 1:
        raise ValueError(f"max_tokens={max_tokens} leaves no room next to the chat template "
                         f"({overhead} tokens)")
    return chat_prompt(tokenizer, clip_prompt(tokenizer, prompt, max_tokens - overhead))


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def chat_prompt(tokenizer: Any, user: str) -> str:
    """`user` as the one user turn after the planner's system message, ending where the
    assistant's reply (the plan) starts."""
    from tracer1.policy.prompting import SYSTEM_PROMPT

    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _drop_tokens(tokenizer: Any, text: str, n: int) -> str:
    """`text` without its first `n` content tokens."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=tokenizer.is_fast)
    ids = enc["input_ids"]
    if n >= len(ids):
        return ""
    if tokenizer.is_fast:
        return text[enc["offset_mapping"][n][0]:]
    return tokenizer.decode(ids[n:])  # slow tokenizers have no offsets


def completion_ids(tokenizer: PreTrainedTokenizerBase, completion: str) -> list[int]:
    """The SFT target: the completion's tokens (no bos) followed by eos, which ends generation."""
    return [*tokenizer(completion, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]


__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "SPECIAL_TOKENS",
    "UNK",
    "chat_prompt",
    "clip_prompt",
    "completion_ids",
    "fit_prompt",
    "has_chat_template",
    "load_tokenizer",
    "prepare_tokenizer",
    "train_tokenizer",
]
