"""`rollout=hf`: masks, truncation, suppressed tokens, and sampling log-probs recorded while sampling."""

from __future__ import annotations

import pytest
import torch

from reade.models.backbone import load_backbone
from reade.rl.logprobs import completion_logits, token_logprobs
from reade.rl.rollout.base import SamplingSettings, completion_mask
from reade.rl.rollout.hf import HFRollout

PROMPTS = ["A red fox runs through snow, pan left", "Garden, zoom in", "A robot dances on a stage"]


@pytest.fixture(scope="module")
def policy(tiny_dir):
    return load_backbone(tiny_dir)


def test_completion_mask_keeps_tokens_up_to_the_first_eos():
    ids = torch.tensor([[5, 9, 2, 7], [5, 6, 7, 8], [2, 2, 3, 3]])
    mask, truncated = completion_mask(ids, eos_token_id=2)
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert truncated.tolist() == [False, True, False]


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_recorded_logprobs_equal_a_forward_pass(policy, temperature):
    model, processor = policy
    prompts = processor([p for p in PROMPTS for _ in range(2)], [[]] * 6)
    torch.manual_seed(0)
    engine = HFRollout(SamplingSettings(max_new_tokens=24, temperature=temperature))
    rollouts = engine.generate(model, processor, prompts, logprobs=True)
    inputs = {
        "input_ids": torch.cat([prompts["input_ids"], rollouts.completion_ids], 1),
        "attention_mask": torch.cat([prompts["attention_mask"], rollouts.completion_mask], 1),
    }
    with torch.no_grad():
        logits = completion_logits(model, **inputs, completion_length=rollouts.completion_ids.shape[1])
    logits[..., processor.suppressed_ids] = float("-inf")  # what generate's suppression does
    expected = token_logprobs(logits, rollouts.completion_ids, temperature) * rollouts.completion_mask
    assert rollouts.sampling_logp.shape == rollouts.completion_ids.shape
    torch.testing.assert_close(rollouts.sampling_logp, expected, atol=1e-5, rtol=0)


def test_short_budget_truncates_and_padding_follows_the_mask(policy):
    model, processor = policy
    prompts = processor(PROMPTS, [[]] * 3)
    rollouts = HFRollout(SamplingSettings(max_new_tokens=3)).generate(model, processor, prompts)
    assert rollouts.completion_ids.shape == (3, 3)
    assert rollouts.truncated.all()  # a random model does not stop within 3 tokens
    assert (rollouts.completion_ids[rollouts.completion_mask == 0] == processor.pad_token_id).all()
    assert len(rollouts.texts) == 3
    assert rollouts.sampling_logp is None  # not asked for: nothing recorded


def test_special_tokens_are_never_sampled(policy):
    model, processor = policy
    prompts = processor(PROMPTS * 4, [[]] * 12)
    torch.manual_seed(1)
    rollouts = HFRollout(SamplingSettings(max_new_tokens=64, temperature=2.0)).generate(model, processor, prompts)
    sampled = rollouts.completion_ids[rollouts.completion_mask == 1]
    # ~12 of 1,494 ids over 768 hot samples: without suppression several would appear
    assert not torch.isin(sampled, torch.tensor(processor.suppressed_ids)).any()


def test_sampling_runs_in_eval_mode_and_restores_training_mode(policy):
    model, processor = policy
    model.train()
    HFRollout(SamplingSettings(max_new_tokens=2)).generate(model, processor, processor(PROMPTS, [[]] * 3))
    assert model.training
