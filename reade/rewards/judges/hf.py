"""A local transformers causal LM (hub id or folder) as the judge: no server, no extra package.

The model is loaded on first use, so that building the judge from a config costs nothing until a
reward is asked for. Each batch of `batch_size` conversations is one left-padded `generate` call run
in `asyncio.to_thread`, which keeps the event loop free for other judges and callers while the model
works; a lock keeps two coroutines from driving the one model (and its RNG seeding) at once.

Generation uses exactly the settings that `identity()` names: the checkpoint's own generation config
(Qwen's `repetition_penalty`, `top_k`, ...) is replaced, because it would otherwise change verdicts
without changing the cache key, and would make this backend disagree with `vllm` and `openai`.
Sampling is seeded per call from `seed` and a call counter inside `torch.random.fork_rng`: a judge
built with the same seed answers the same calls the same way, a re-asked garbage answer gets a fresh
draw, and the caller's (the training loop's) global RNG stream is left untouched.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from reade.models.tokenizer import reserved_tokens
from reade.rewards.judges.chat import ENGINE_ERRORS, ChatJudge, Conversation, data_turns


class HFJudge(ChatJudge):
    backend = "hf"

    def __init__(
        self,
        model: str,
        batch_size: int = 8,
        dtype: str = "float32",
        device: str = "cpu",
        seed: int = 0,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 50,
        garbage_retries: int = 2,
        cache_dir: str | None = None,
        commit_every: int = 64,
    ):
        super().__init__(
            model,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            garbage_retries=garbage_retries,
            cache_dir=cache_dir,
            commit_every=commit_every,
        )
        self.batch_size = batch_size
        self.dtype = dtype
        self.device = torch.device(device)
        self.seed = seed
        self._calls = 0
        self._tokenizer = None
        self._reserved: tuple[str, ...] = ()
        self._lm = None
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        """Precision and device type change logits, hence verdicts; the seed matters only when sampling."""
        identity = {**super().identity(), "dtype": self.dtype, "device": self.device.type}
        if self.temperature > 0:
            identity["seed"] = self.seed
        return identity

    async def _chat(self, conversations: list[Conversation]) -> list[str | None]:
        await asyncio.to_thread(self._load)  # a model that cannot be loaded is a configuration error: raise
        answers: list[str | None] = []
        for start in range(0, len(conversations), self.batch_size):
            batch = conversations[start : start + self.batch_size]
            try:
                answers += await asyncio.to_thread(self._generate, batch)
            except ENGINE_ERRORS as error:
                answers += self.failed_batch(batch, error)
        return answers

    def _load(self) -> None:
        with self._lock:
            if self._lm is not None:
                return
            tokenizer = AutoTokenizer.from_pretrained(self.model)
            tokenizer.padding_side = "left"
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            dtype = self.dtype if self.dtype == "auto" else getattr(torch, self.dtype)
            lm = AutoModelForCausalLM.from_pretrained(self.model, dtype=dtype).to(self.device).eval()
            stop = {tokenizer.eos_token_id, *_as_list(lm.generation_config.eos_token_id)} - {None}
            # top_k=0: no top-k cut, as in vLLM's and OpenAI's defaults
            sampling = {"temperature": self.temperature, "top_p": self.top_p, "top_k": 0} if self.temperature > 0 else {}
            lm.generation_config = GenerationConfig(
                max_new_tokens=self.max_tokens,
                do_sample=self.temperature > 0,
                eos_token_id=sorted(stop),
                pad_token_id=tokenizer.pad_token_id,
                **sampling,
            )
            self._tokenizer, self._reserved, self._lm = tokenizer, reserved_tokens(tokenizer), lm

    def _generate(self, conversations: list[Conversation]) -> list[str]:
        with self._lock:
            prompts = self._tokenizer.apply_chat_template(data_turns(conversations, self._reserved),
                                                          add_generation_prompt=True, tokenize=False)
            inputs = self._tokenizer(prompts, padding=True, add_special_tokens=False, return_tensors="pt")
            inputs = inputs.to(self.device)
            self._calls += 1
            kind = self.device.type  # torch.manual_seed reseeds every device of the kind: fork them all
            devices = [] if kind == "cpu" else list(range(torch.get_device_module(kind).device_count()))
            with torch.random.fork_rng(devices=devices, device_type=kind), torch.inference_mode():
                torch.manual_seed(self.seed + self._calls)
                output = self._lm.generate(**inputs)  # [B, P + new]
            new_tokens = output[:, inputs["input_ids"].shape[1] :]
            return [text.strip() for text in self._tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

    async def aclose(self) -> None:
        """Drop the model so that its (GPU) memory can go back before the process ends."""
        self._tokenizer = self._lm = None


def _as_list(ids: int | list[int] | None) -> list[int | None]:
    return ids if isinstance(ids, list) else [ids]
