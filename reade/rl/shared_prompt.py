"""Completion logits with each group's shared prompt computed once (the idea of verl's "prefix grouper").

The G completions of a GRPO group share their prompt. The plain pass (`completion_logits`) runs
every row over prompt + completion, [b, P+C], so a prompt of P tokens goes through the model, and
back through it in the backward, once per row. Here it goes through once per distinct prompt:

1. prompt pass: the n distinct prompts less their last token, [n, P-1], through the model's own
   forward (media towers, camera splice, multimodal RoPE), filling a KV cache. Under autograd the
   cached keys and values keep their graph.
2. the cache's rows are picked for the b completion rows (`prompt_index`, an `index_select`; its
   backward sums the b rows' gradients into the n prompts, so the prompt's backward runs once too).
3. completion pass: each row's last prompt token and then its completion less the last token,
   [b, C], over the cache, at the positions these tokens have in the plain pass. Position j's logits
   predict completion token j: [b, C, V], as `completion_logits` returns them.

The last prompt token goes with the completions because its logits predict the first completion
token: the prompt pass then needs no logits, and no logits are concatenated (a [b, C, V] copy).

Positions: a Qwen2 causal LM called without position ids numbers cache columns, padding included;
the Qwen2.5-Omni thinker numbers valid tokens with its multimodal RoPE, and text after the prompt
continues on all three axes from its `rope_deltas` (set by the prompt pass). Both are what
`TextDecoder.first_completion_position` computes for the decode loop, which tests already hold to a
full forward pass.

Where it applies (`refusal` says why not): models `TextDecoder.of` accepts (Qwen2-family decoders,
the thinker included, under peft and interpreter wrappers; plain or multimodal RoPE and full
attention: a sliding window or a scaled RoPE is left to the plain pass) without activation
checkpointing, and left-padded prompts of at least two columns. Elsewhere the caller runs
`completion_logits`.

The two passes are equal in exact arithmetic and in float32 to about 1e-6 (tests hold log-probs
and gradients to 1e-5): the matrix shapes, hence the rounding, differ. One deliberate difference:
under dropout in training mode (LoRA dropout) the prompt's dropout mask is drawn once for its G
rows, where the plain pass draws G of them.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from transformers import DynamicCache

from reade.models.decoding import TextDecoder, unwrap

TOKEN_KEYS = ("input_ids", "attention_mask")


def refusal(model: nn.Module) -> str | None:
    """Why the shared-prompt pass cannot run `model` (the plain pass then does), or None.

    Activation checkpointing refuses too: transformers then drops the KV cache of a training forward,
    and the completions would be computed without their prompt."""
    if TextDecoder.of(model) is None:
        model_type = getattr(getattr(unwrap(model), "config", None), "model_type", None)
        return (f"the shared-prompt pass runs Qwen2-family decoders with unscaled RoPE and full attention (the "
                f"decode loop's models); this {model_type!r} model is not one")
    if getattr(unwrap(model), "is_activation_checkpointing", False):
        return "activation checkpointing drops the KV cache the shared-prompt pass fills"
    return None


def group_rows(rows: range, group_size: int) -> tuple[list[int], list[int]]:
    """(first, index) for the rows `rows` of a batch whose groups are `group_size` consecutive rows:
    `first` holds one row of each group met in `rows` (the first of it there), and row `rows[i]`
    shares the prompt of row `first[index[i]]`. A slice may begin or end inside a group."""
    groups = [row // group_size for row in rows]
    first = [row for row, group in zip(rows, groups) if row == rows.start or group != groups[row - rows.start - 1]]
    return first, [group - groups[0] for group in groups]


def shared_prompt_logits(
    model: nn.Module, prompts: dict, prompt_index: Tensor, completion_ids: Tensor, completion_mask: Tensor
) -> Tensor:
    """Logits that predict `completion_ids`, [b, C, V]: those of `completion_logits` over each row's
    prompt followed by its completion, with each distinct prompt computed once (module docstring).

    `prompts` holds the n distinct prompts as the processor returns them: left-padded `input_ids` and
    `attention_mask` [n, P] and their media (pixel values, audio features, camera maps, ...).
    `prompt_index` [b] gives each completion row's prompt; `completion_ids` and `completion_mask`
    [b, C] are right-padded. Temperature and suppressed tokens are the caller's, as for
    `completion_logits`.
    """
    ids, attention = prompts["input_ids"], prompts["attention_mask"]  # [n, P]
    rows, length = completion_ids.shape
    if ids.ndim != 2 or attention.shape != ids.shape or ids.shape[1] < 2:
        raise ValueError(f"input_ids and attention_mask must both be [n, P] with P >= 2, got {tuple(ids.shape)} and {tuple(attention.shape)}")
    if not bool(attention[:, -1].all()):
        raise ValueError("prompts must be left-padded: the last column is a prompt token in every row")
    if prompt_index.shape != (rows,) or completion_mask.shape != completion_ids.shape or length < 1:
        raise ValueError(
            f"expected prompt_index [b] and completion ids and mask [b, C >= 1], got {tuple(prompt_index.shape)}, "
            f"{tuple(completion_ids.shape)} and {tuple(completion_mask.shape)}"
        )
    reason = refusal(model)
    if reason is not None:
        raise ValueError(reason)
    decoder = TextDecoder.of(model)
    media = {key: value for key, value in prompts.items() if key not in TOKEN_KEYS}
    cache = DynamicCache(config=decoder.text.config)
    model(input_ids=ids[:, :-1], attention_mask=attention[:, :-1], cache=cache, use_cache=True, logits_to_keep=1, **media)
    if cache.get_seq_length() != ids.shape[1] - 1:
        raise ValueError(f"the prompt pass cached {cache.get_seq_length()} of {ids.shape[1] - 1} columns")
    last = decoder.first_completion_position(attention[:, :-1])  # [n] position of each prompt's last token
    cache.reorder_cache(prompt_index)  # every layer's keys and values [n, kv_heads, P-1, d] -> [b, ...]
    tokens = torch.cat([ids[prompt_index, -1:], completion_ids[:, :-1]], dim=1)  # [b, C]
    mask = torch.cat([attention[prompt_index], completion_mask[:, :-1].to(attention.dtype)], dim=1)  # [b, P-1+C]
    positions = last[prompt_index, None] + torch.arange(length, device=tokens.device)  # [b, C]
    output = model(input_ids=tokens, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True)
    return output.logits  # [b, C, V]
