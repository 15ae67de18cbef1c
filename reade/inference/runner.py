"""An interpreter checkpoint as a Python object: instructions and conditions in, interpretations out.

An output that does not parse (`parsed: false`) still gives a prompt: the caption parts found by
their titles after the reasoning (`Prompter.for_output`), else the user's instruction; never the
reasoning itself. The JSON says which (`prompt_source`) and why (`errors`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from reade.data.conditions import ConditionError, condition_payload, read_condition
from reade.errors import ConfigError, DataError
from reade.inference.generator_prompts import GeneratorWindow, Prompter, load_generator
from reade.models.backbone import DTYPES, backbone_kind, load_backbone
from reade.models.decoding import Sampler, decode, text_decoder
from reade.models.tiny import TinyDims, materialize_tiny
from reade.models.tokenizer import reserved_problem
from reade.schema import (
    CONDITION_KINDS,
    Condition,
    SchemaError,
    StructuredCaption,
    parse_output,
)

log = logging.getLogger(__name__)

# Paper appendix D: completions of at most 768 tokens.
MAX_NEW_TOKENS = 768


# ---- one interpretation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interpretation:
    """What the interpreter made of one instruction, and the generator prompt made from it."""

    instruction: str
    raw: str  # the model's output text
    think: str | None
    caption: StructuredCaption | None  # None when the output does not parse; `errors` says why
    errors: tuple[str, ...]
    prompt: str
    prompt_tokens: int
    prompt_source: str
    prompt_parts: tuple[str, ...]
    prompt_truncated: bool
    generator: dict[str, Any]  # name, max_tokens, budget, counter, exact_count
    checkpoint: str

    @property
    def format_ok(self) -> bool:
        return self.think is not None and self.caption is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "parsed": self.format_ok,  # false: the prompt comes from `prompt_source`, never from the trace
            "think": self.think,
            "caption": self.caption.to_dict() if self.caption is not None else None,
            "format_ok": self.format_ok,
            "answer_ok": self.caption is not None,
            "errors": list(self.errors),
            "prompt": self.prompt,
            "prompt_tokens": self.prompt_tokens,
            "prompt_source": self.prompt_source,
            "prompt_parts": list(self.prompt_parts),
            "prompt_truncated": self.prompt_truncated,
            "generator": dict(self.generator),
            "checkpoint": self.checkpoint,
            "raw": self.raw,
        }


def read_output(raw: str, instruction: str, prompter: Prompter, checkpoint: str = "") -> Interpretation:
    """Parse one output and make its generator prompt; never raises on a malformed output."""
    parsed = parse_output(raw)
    prompt = prompter.for_output(parsed, raw, instruction)
    return Interpretation(
        instruction=instruction,
        raw=raw,
        think=parsed.think,
        caption=parsed.caption,
        errors=parsed.errors,
        prompt=prompt.text,
        prompt_tokens=prompt.tokens,
        prompt_source=prompt.source,
        prompt_parts=prompt.parts,
        prompt_truncated=prompt.truncated,
        generator={
            "name": prompter.generator.name,
            "max_tokens": prompter.generator.max_tokens,
            "budget": prompter.budget,
            "counter": prompter.counter.name,
            "exact_count": prompter.counter.exact,
        },
        checkpoint=checkpoint,
    )


# ---- conditions ------------------------------------------------------------------------------------


def condition_payloads(conditions: Sequence[Any], base: Path | None = None) -> list[tuple[str, object]]:
    """Processor payloads from conditions given as `(kind, path)`, `{"kind", "path"}`, `Condition`,
    or `(kind, payload)` already read (what `reade.data.condition_files.read_payloads` returns: identity
    uint8 [H, W, 3], depth/pose frames uint8 [T, H, W, 3], an AudioClip, a CameraTrajectory).
    Relative paths are taken from `base` when given, else from the working directory. A bad one
    raises a SchemaError whose `field` names it (`conditions[1].path`)."""
    payloads = []
    for index, item in enumerate(conditions):
        where = f"conditions[{index}]"
        if isinstance(item, Condition):
            kind, source = item.kind, item.path
        elif isinstance(item, Mapping):
            condition = Condition.from_dict(dict(item), where)
            kind, source = condition.kind, condition.path
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            kind, source = item
        else:
            raise SchemaError(f"expected (kind, path), {{'kind', 'path'}} or (kind, payload), got {item!r:.80}", where)
        if kind not in CONDITION_KINDS:
            raise SchemaError(f"{kind!r} is not one of {list(CONDITION_KINDS)}", f"{where}.kind")
        if isinstance(source, (str, os.PathLike)):
            path = Path(source) if base is None else base / source
            try:
                source = condition_payload(kind, read_condition(kind, path))
            except ConditionError as error:
                raise SchemaError(str(error), f"{where}.path") from None
        payloads.append((kind, source))
    return payloads


class RowError(DataError):
    """One row of an `interpret_batch` call is unusable: `row` is its index in the call, `field` and
    `problem` what is wrong, so a caller holding the rows' file can name file, line and field."""

    def __init__(self, row: int, field: str, problem: str):
        super().__init__(f"row {row}: {field}: {problem}")
        self.row, self.field, self.problem = row, field, problem


# ---- the interpreter -------------------------------------------------------------------------------


class Interpreter:
    """A loaded checkpoint, its processor and a generator window: instructions in, interpretations out.

    Decoding is the repository's KV-cache loop (`reade.models.decoding`), greedy unless
    `sample=True`; special tokens other than the end of turn are never produced.
    """

    def __init__(self, model, processor, prompter: Prompter, *, checkpoint: str = "", max_new_tokens: int = MAX_NEW_TOKENS,
                 temperature: float = 1.0, top_p: float = 1.0):
        self.model = model.eval()
        self.processor = processor
        self.prompter = prompter
        self.checkpoint = checkpoint
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        try:
            self.decoder = text_decoder(model)
        except ValueError as error:
            raise ConfigError(f"{checkpoint}: {error}") from None

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        *,
        device: str = "cpu",
        dtype: str = "float32",
        generator: str | GeneratorWindow = "cogvideox",
        max_new_tokens: int = MAX_NEW_TOKENS,
        cache_dir: str | Path | None = None,
        kind: str | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
    ) -> Interpreter:
        """`path`: a checkpoint folder (`<run>/checkpoint` of any stage, a tiny thinker, a Qwen2.5-Omni
        folder) or hub id; None builds the untrained tiny default offline into `cache_dir` (default
        `$READE_ROOT/.cache`, as `paths.cache_dir`). `kind` (omni_thinker | causal_lm) is read from
        the folder's config.json when not given."""
        if dtype not in DTYPES:
            raise ConfigError(f"dtype {dtype!r} is not one of {list(DTYPES)}")
        generator = generator if isinstance(generator, GeneratorWindow) else load_generator(generator)
        if path is None:
            cache = Path(cache_dir) if cache_dir is not None else Path(os.environ.get("READE_ROOT", ".")) / ".cache"
            folder = materialize_tiny(cache, TinyDims(), seed=0)
            source, checkpoint = str(folder), f"tiny:{folder.name}"
        else:
            source = str(path)
            checkpoint = str(Path(path).resolve()) if Path(path).exists() else source
            _check_checkpoint(source)
        try:
            model_kind = kind or backbone_kind(source)
            model, processor = load_backbone(source, kind=model_kind, dtype=dtype)
        except (OSError, ValueError) as error:
            where = "" if Path(source).exists() else "no such folder, and the hub (or its offline cache) has no such model: "
            raise ConfigError(f"checkpoint {source}: {where}{str(error).splitlines()[0]}") from None
        return cls(model.to(torch.device(device)), processor, Prompter(generator), checkpoint=checkpoint,
                   max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p)

    def interpret(self, instruction: str, conditions: Sequence[Any] = (), *, sample: bool = False,
                  seed: int | None = None) -> Interpretation:
        return self.interpret_batch([instruction], [conditions], sample=sample, seed=seed)[0]

    def interpret_batch(self, instructions: Sequence[str], conditions: Sequence[Sequence[Any]] | None = None, *,
                        sample: bool = False, seed: int | None = None, batch_size: int = 8) -> list[Interpretation]:
        """One interpretation per instruction, decoded `batch_size` rows at a time. With `sample` and
        a `seed`, the draws are reproducible for the same rows in the same batches (the caller's
        random state is left as it was). A row that cannot be read raises a `RowError` naming it
        (`check_row`) before anything is decoded."""
        conditions = conditions if conditions is not None else [()] * len(instructions)
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if len(conditions) != len(instructions):
            raise ValueError(f"{len(instructions)} instructions but {len(conditions)} condition lists")
        rows = [self.check_row(instruction, row_conditions, row=index)
                for index, (instruction, row_conditions) in enumerate(zip(instructions, conditions))]
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            texts = []
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                texts.extend(self._decode([i for i, _ in chunk], [c for _, c in chunk], sample))
        return [self.read_output(text, instruction) for text, (instruction, _) in zip(texts, rows)]

    def read_output(self, raw: str, instruction: str) -> Interpretation:
        return read_output(raw, instruction, self.prompter, self.checkpoint)

    def check_row(self, instruction: str, conditions: Sequence[Any], row: int = 0) -> tuple[str, list[tuple[str, object]]]:
        """(instruction, payloads) of one row, or a RowError (`row` its index) naming what is wrong: a
        condition that does not read or that this checkpoint cannot read, no input at all, a control
        token in the instruction, or a prompt that leaves no room in the model's context for
        `max_new_tokens` (decoding past the context gives garbage, not an error)."""
        try:
            payloads = condition_payloads(conditions)
        except SchemaError as error:
            raise RowError(row, error.field, str(error).removeprefix(f"{error.field}: ")) from None
        for position, (kind, _) in enumerate(payloads):
            problem = self.processor.unreadable(kind)
            if problem is not None:
                raise RowError(row, f"conditions[{position}].kind", problem)
        if not payloads and not instruction.strip():
            raise RowError(row, "instruction", "empty, and there are no conditions to read instead")
        problem = reserved_problem(instruction, self.processor.reserved_tokens)
        if problem is not None:
            raise RowError(row, "instruction", problem)
        try:
            prompt, _ = self.processor.lengths(instruction, payloads)
        except ValueError as error:
            raise RowError(row, "conditions", str(error)) from None
        if prompt + self.max_new_tokens > self.context_length:
            raise RowError(row, "instruction", f"{prompt} prompt tokens + max_new_tokens={self.max_new_tokens} exceed "
                                                 f"the model's context of {self.context_length} tokens")
        return instruction, payloads

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def context_length(self) -> int:
        """The most positions the model reads: its text config's `max_position_embeddings`."""
        return self.model.config.get_text_config().max_position_embeddings

    @torch.no_grad()
    def _decode(self, instructions: list[str], conditions: list[list[tuple[str, object]]], sample: bool) -> list[str]:
        batch = self.processor(instructions, conditions)  # every row passed `check_row`
        sampler = Sampler(self.processor.suppressed_ids, temperature=self.temperature, top_p=self.top_p,
                          greedy=not sample)
        ids, _ = decode(self.model, self.decoder, self._on_device(batch), sampler, max_new_tokens=self.max_new_tokens,
                        eos_token_id=self.processor.eos_token_id, pad_token_id=self.processor.pad_token_id)  # [B, new]
        return self.processor.decode(ids)

    def _on_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The batch on the model's device; media features (not masks, grids or ids) in its dtype."""
        dtype = next(self.model.parameters()).dtype
        media = ("pixel_values", "pixel_values_videos", "input_features")
        moved = {}
        for key, value in batch.items():
            if key == "camera_maps":
                moved[key] = [maps.to(self.device, dtype) for maps in value]  # each [T_i, 96, h, w]
            else:
                moved[key] = value.to(self.device, dtype) if key in media else value.to(self.device)
        return moved


def _check_checkpoint(source: str) -> None:
    """A ConfigError in our words for a checkpoint that is neither a folder here nor a hub id's form
    (the hub would answer "Repo id must be in the form 'repo_name'...")."""
    path = Path(source)
    if path.is_dir() and not (path / "config.json").is_file():
        raise ConfigError(f"checkpoint {source}: not a checkpoint folder (no config.json); give <run>/checkpoint")
    if path.is_file():
        raise ConfigError(f"checkpoint {source}: a file, not a checkpoint folder; give <run>/checkpoint")
    if not path.exists():
        try:
            validate_repo_id(source)
        except HFValidationError:
            raise ConfigError(f"checkpoint {source}: no such folder") from None
