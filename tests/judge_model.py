"""A two-layer Qwen2 "judge" for the judge tests, built and trained in-process in a few seconds.

Tests of a judge (HFJudge, VLLMJudge, OpenAIJudge behind `transformers serve`) need a model that
answers their prompts deterministically: a random tiny model answers garbage. So the model is trained
on the tests' very prompts until greedy decoding reproduces each answer. It memorises them: a model
this small does not reliably generalise to unseen prompts, and what is under test is the plumbing
(chat template, padding, generation, transport, parsing), not the judging.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

from reade.models.tokenizer import IM_END, PAD_TOKEN, load_tokenizer, token_id

Lesson = tuple[list[dict], str]  # (chat messages, the answer greedy decoding must give)


def save_tiny_judge(folder: Path, lessons: list[Lesson], max_steps: int = 300, lr: float = 1e-2) -> Path:
    """A two-layer Qwen2 with the repository's tiny tokenizer (and its chat template), saved to `folder`.

    AdamW on `lessons` (loss on the answer tokens only) until every answer token is the argmax and the
    loss is below 0.05, so that greedy decoding reproduces the answers; fails the test if `max_steps`
    are not enough. `lessons=[]` saves the untrained, random model, which answers garbage.
    """
    tokenizer = load_tokenizer()
    end, pad = token_id(tokenizer, IM_END), token_id(tokenizer, PAD_TOKEN)
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=end,
        pad_token_id=pad,
    )
    model = Qwen2ForCausalLM(config)
    if lessons:
        _teach(model, tokenizer, lessons, max_steps, lr, end, pad)
    model.generation_config = GenerationConfig(eos_token_id=end, pad_token_id=pad, do_sample=False)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _teach(model: Qwen2ForCausalLM, tokenizer, lessons: list[Lesson], max_steps: int, lr: float, end: int, pad: int):
    sequences = []  # (prompt length, prompt + answer + end tokens)
    for messages, answer in lessons:
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
        prompt = prompt["input_ids"]
        sequences.append((len(prompt), prompt + tokenizer.encode(answer, add_special_tokens=False) + [end]))
    length = max(len(tokens) for _, tokens in sequences)
    # [N, T], right-padded: the causal mask alone keeps padding out, and positions are those of generation
    ids = torch.full((len(sequences), length), pad)
    labels = torch.full_like(ids, -100)  # [N, T]
    for row, (prompt_length, tokens) in enumerate(sequences):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        labels[row, prompt_length : len(tokens)] = torch.tensor(tokens[prompt_length:])
    targets = labels[:, 1:]  # [N, T-1]: the token each position predicts
    scored = targets != -100  # [N, T-1]

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(max_steps):
        hidden = model.model(input_ids=ids).last_hidden_state[:, :-1]  # [N, T-1, H]
        logits = model.lm_head(hidden[scored])  # [answer tokens, V]
        loss = torch.nn.functional.cross_entropy(logits, targets[scored])
        if loss.item() < 0.05 and bool((logits.argmax(-1) == targets[scored]).all()):
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    else:
        pytest.fail(f"the tiny judge did not learn its answers in {max_steps} steps (loss {loss.item():.3f})")
    model.eval()
