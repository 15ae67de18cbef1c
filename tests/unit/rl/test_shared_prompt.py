"""The shared-prompt pass (reade.rl.shared_prompt) against the plain pass over prompt + completion:
log-probs and the policy loss's gradients, on the benchmark's Qwen2 causal LM, the thinker with
image, audio and depth conditions, and the interpreter with camera trajectories and LoRA; prompts of
different lengths (left padding) in one batch, completions of different lengths, groups cut short
by a micro-batch; and the GRPO module's micro-batches through either pass."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
import torch
from omegaconf import OmegaConf
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from reade.config.grpo import GRPOSettings
from reade.data.synthetic.trajectory import camera_trajectory
from reade.lit.grpo import GRPOModule, PromptBatch
from reade.rewards.content import RewardWeights
from reade.rewards.judges.lexical import LexicalJudge
from reade.rl import shared_prompt
from reade.rl.logprobs import completion_logits, token_logprobs
from reade.rl.loss import grpo_loss
from reade.rl.rollout.hf import HFRollout
from reade.rl.shared_prompt import group_rows, refusal, shared_prompt_logits
from tests.conftest import compose_train

MODELS = {"qwen2 causal LM": "causal_lm", "thinker media": "thinker", "camera + LoRA": "interpreter_with_lora"}
C = 7  # longest completion


def distinct_prompts(name: str, media) -> list[tuple[str, list]]:
    """(instruction, conditions) of each distinct prompt of the case; their lengths differ."""
    if name == "qwen2 causal LM":
        return [("A red fox runs through snow, pan left", []), ("Garden", []), ("A robot dances under blue light", [])]
    if name == "thinker media":
        return [("Make it rain", [("identity", media["image"]), ("audio", media["audio"])]),
                ("Keep the depth", [("depth", media["frames"][:3])]),
                ("zoom in", [])]
    return [("Describe the camera motion.", [("identity", media["image"]), ("camera", camera_trajectory("pan left", 6))]),
            ("rain", [("camera", camera_trajectory("zoom in", 20)), ("pose", media["frames"][:2])])]


@pytest.fixture(params=list(MODELS))
def case(request, media):
    model, processor = request.getfixturevalue(MODELS[request.param])
    prompts = distinct_prompts(request.param, media)
    index = [0, 0] + [i for i in range(1, len(prompts)) for _ in range(3)]  # the first group cut to 2 rows
    return model, processor, prompts, index


def encode(processor, prompts: list[tuple[str, list]], rows: list[int]) -> dict:
    return processor([prompts[i][0] for i in rows], [prompts[i][1] for i in rows])


def sampled(processor, rows: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Completion ids and mask [rows, C] of tokens sampling may draw, right-padded to lengths C, C-2, .., 1."""
    g = torch.Generator().manual_seed(seed)
    allowed = torch.tensor(sorted(set(range(len(processor.tokenizer))) - set(processor.suppressed_ids)))
    ids = allowed[torch.randint(0, len(allowed), (rows, C), generator=g)]  # [b, C]
    lengths = torch.tensor([C - (2 * row) % C for row in range(rows)])  # [b]
    mask = (torch.arange(C)[None, :] < lengths[:, None]).long()  # [b, C]
    return ids.masked_fill(mask == 0, processor.pad_token_id), mask


def both_logps(model, processor, prompts, index, ids, mask, temperature=0.9):
    """Log-probs [b, C] of the completions by the plain pass and by the shared-prompt pass."""
    inputs = encode(processor, prompts, index)
    inputs["input_ids"] = torch.cat([inputs["input_ids"], ids], 1)  # [b, P+C]
    inputs["attention_mask"] = torch.cat([inputs["attention_mask"], mask], 1)
    plain = completion_logits(model, **inputs, completion_length=C)
    shared = shared_prompt_logits(model, encode(processor, prompts, list(range(len(prompts)))), torch.tensor(index), ids, mask)
    return token_logprobs(plain, ids, temperature), token_logprobs(shared, ids, temperature)


def test_log_probs_equal_the_plain_pass(case):
    model, processor, prompts, index = case
    ids, mask = sampled(processor, len(index))
    with torch.no_grad():
        plain, shared = both_logps(model, processor, prompts, index, ids, mask)
    valid = mask.bool()
    torch.testing.assert_close(shared[valid], plain[valid], atol=1e-5, rtol=0)


def test_policy_loss_gradients_equal_the_plain_pass(case):
    model, processor, prompts, index = case
    ids, mask = sampled(processor, len(index), seed=1)
    g = torch.Generator().manual_seed(2)
    advantages = torch.randn(len(index), generator=g)  # [b]
    shift = 0.4 * (torch.rand(2, len(index), C, generator=g) - 0.5)  # old and reference off the policy
    parameters = [p for p in model.parameters() if p.requires_grad]
    grads = []
    for logp in both_logps(model, processor, prompts, index, ids, mask):
        old, ref = logp.detach() + shift[0], logp.detach() + shift[1]
        loss = grpo_loss(logp, old, ref, advantages, mask, beta=0.04, eps_low=0.2, eps_high=0.2, loss_type="grpo",
                         max_completion_length=C)
        grads.append(torch.autograd.grad(loss, parameters, allow_unused=True))
    compared = 0
    for (name, _), plain, shared in zip(((n, p) for n, p in model.named_parameters() if p.requires_grad), *grads):
        assert (plain is None) == (shared is None), name
        if plain is not None:
            torch.testing.assert_close(shared, plain, atol=1e-5, rtol=1e-4, msg=lambda m: f"{name}: {m}")
            compared += int(plain.abs().max() > 1e-4)
    assert compared > 0, "the gradients compared are all ~0"


@pytest.mark.parametrize("rows, group_size, first, index", [
    (range(0, 6), 3, [0, 3], [0, 0, 0, 1, 1, 1]),
    (range(2, 7), 3, [2, 3, 6], [0, 1, 1, 1, 2]),
    (range(4, 5), 3, [4], [0]),
    (range(0, 4), 1, [0, 1, 2, 3], [0, 1, 2, 3]),
])
def test_group_rows(rows, group_size, first, index):
    assert group_rows(rows, group_size) == (first, index)


def test_other_models_are_refused_by_name(thinker, causal_lm):
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    assert "'llama' model is not one" in refusal(llama)
    sliding = Qwen2ForCausalLM(Qwen2Config(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                           num_attention_heads=2, num_key_value_heads=1, use_sliding_window=True,
                                           sliding_window=4, max_window_layers=0))
    assert "'qwen2' model is not one" in refusal(sliding)
    checkpointed = Qwen2ForCausalLM(Qwen2Config(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                                num_attention_heads=2, num_key_value_heads=1))
    checkpointed.gradient_checkpointing_enable()
    assert "activation checkpointing" in refusal(checkpointed)
    assert refusal(thinker[0]) is None and refusal(causal_lm[0]) is None
    prompts = {"input_ids": torch.ones(2, 4, dtype=torch.long), "attention_mask": torch.ones(2, 4, dtype=torch.long)}
    ids = torch.ones(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="'llama' model is not one"):
        shared_prompt_logits(llama, prompts, torch.tensor([0, 1]), ids, torch.ones_like(ids))
    prompts["attention_mask"][1, -1] = 0
    with pytest.raises(ValueError, match="left-padded"):
        shared_prompt_logits(causal_lm[0], prompts, torch.tensor([0, 1]), ids, torch.ones_like(ids))


@pytest.fixture(scope="module")
def grpo_settings(tmp_path_factory) -> GRPOSettings:
    """stage=grpo in groups of 3, micro-batches of 4, without KL, clipping, dropout or completions tables."""
    overrides = ["stage=grpo", "stage.group_size=3", "stage.micro_batch_size=4", "stage.beta=0.0", "stage.max_grad_norm=null",
                 "stage.instruction_dropout=0.0", "stage.log_completions_every=0", f"stage.sampling.max_new_tokens={C}"]
    return OmegaConf.to_object(compose_train(overrides, tmp_path_factory.mktemp("run")).stage)


def grpo_module(model, processor, settings: GRPOSettings, share_prompts: bool) -> GRPOModule:
    return GRPOModule(model, processor, settings=replace(settings, share_prompts=share_prompts), rollout=HFRollout,
                      judge=LexicalJudge(), reward=RewardWeights(), seed=0)


@pytest.mark.parametrize("name", ["qwen2 causal LM", "thinker media"])
def test_grpo_micro_batches_through_either_pass(request, media, monkeypatch, grpo_settings, name):
    """Micro-batches of 4 rows over groups of 3 (rows 0-3, 4-7, 8): each pass gives the same log-probs;
    the micro-batch of one row takes the plain pass."""
    calls = []
    monkeypatch.setattr(shared_prompt, "shared_prompt_logits", lambda *args: calls.append(args) or shared_prompt_logits(*args))
    model, processor = request.getfixturevalue(MODELS[name])
    prompts = distinct_prompts(name, media)
    rows = [i for i in range(len(prompts)) for _ in range(3)]
    batch = PromptBatch([prompts[i][0] for i in rows], [prompts[i][1] for i in rows], encode(processor, prompts, rows))
    ids, mask = sampled(processor, len(rows), seed=3)
    logps = {}
    for share in (False, True):
        module = grpo_module(model, processor, grpo_settings, share)
        with torch.no_grad():
            logps[share] = module._no_grad_logps(model, batch, ids, mask, [range(0, 4), range(4, 8), range(8, 9)])
    assert [args[2].tolist() for args in calls] == [[0, 0, 0, 1], [0, 0, 1, 1]]
    for plain, shared, rows in zip(logps[False], logps[True], [range(0, 4), range(4, 8), range(8, 9)]):
        valid = mask[rows.start:rows.stop, : plain.shape[1]].bool()
        torch.testing.assert_close(shared[valid], plain[valid], atol=1e-5, rtol=0)


def test_a_model_the_shared_pass_cannot_run_falls_back_with_a_log_line(causal_lm, grpo_settings, caplog):
    _, processor = causal_lm
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=len(processor.tokenizer), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1))
    with caplog.at_level(logging.WARNING, logger="reade.lit.grpo"):
        assert not grpo_module(llama, processor, grpo_settings, True).share_prompts
    assert "stage.share_prompts" in caplog.text and "'llama'" in caplog.text
