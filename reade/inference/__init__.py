"""From an instruction to a prompt a video generator can take: what `python -m reade.interpret` runs
(`profiles`: generator windows and prompt fitting; `interpreter`: the checkpoint as an object;
`batch`: the resumable JSONL mode)."""

from reade.inference.batch import interpret_jsonl
from reade.inference.interpreter import (
    MAX_NEW_TOKENS,
    Interpretation,
    Interpreter,
    RowError,
    condition_payloads,
    read_output,
)
from reade.inference.profiles import (
    GENERATOR_DIR,
    GeneratorProfile,
    Prompter,
    TokenCounter,
    answer_parts,
    load_profile,
    profile_from_config,
    sentences,
    token_counter,
)

__all__ = [
    "GENERATOR_DIR", "MAX_NEW_TOKENS", "GeneratorProfile", "Interpretation", "Interpreter", "Prompter", "RowError",
    "TokenCounter", "answer_parts", "condition_payloads", "interpret_jsonl", "load_profile", "profile_from_config",
    "read_output", "sentences", "token_counter",
]
