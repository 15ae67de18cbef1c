"""From an instruction to a prompt a video generator can take: what `python -m reade.interpret` runs
(`generator_prompts`: generator windows and prompt fitting; `runner`: the checkpoint as an object;
`batch`: the resumable JSONL mode)."""

from reade.inference.batch import interpret_jsonl
from reade.inference.runner import (
    MAX_NEW_TOKENS,
    Interpretation,
    Interpreter,
    RowError,
    condition_payloads,
    read_output,
)
from reade.inference.generator_prompts import (
    GENERATOR_DIR,
    GeneratorWindow,
    Prompter,
    TokenCounter,
    answer_parts,
    load_generator,
    generator_from_config,
    sentences,
    token_counter,
)

__all__ = [
    "GENERATOR_DIR", "MAX_NEW_TOKENS", "GeneratorWindow", "Interpretation", "Interpreter", "Prompter", "RowError",
    "TokenCounter", "answer_parts", "condition_payloads", "interpret_jsonl", "load_generator", "generator_from_config",
    "read_output", "sentences", "token_counter",
]
