"""python -m reade.models.build_tokenizer: train the tiny byte-level BPE the repository ships.

Byte-level BPE with Qwen2's pre-tokenizer never produces an unknown token, so the tiny model reads any
text; training it on the synthetic corpus (instructions, think traces, six-part answers) plus the
fixed prompt scaffolding keeps sequences short for the small vocabulary. The synthetic wording is
procedural, so the vocabulary saturates (about 1.5k entries from 4000 samples: every word whole)
below `--vocab-size`, which is an upper bound. Rebuild after changing the synthetic generator's
wording or the system prompt; the output is committed under `reade/models/assets/tiny_tokenizer/`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from itertools import chain
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerBase, Qwen2Tokenizer
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

from reade.data.synthesize import training_texts
from reade.models.prompt import CONDITION_NAMES, DESCRIBE_INSTRUCTION, SYSTEM_PROMPT
from reade.utils.io import staged_folder
from reade.models.tokenizer import (
    CHAT_TEMPLATE,
    IM_END,
    PAD_TOKEN,
    REASONING_TOKENS,
    SPECIAL_TOKENS,
    TINY_TOKENIZER_DIR,
    load_tokenizer,
)

DEFAULT_VOCAB_SIZE = 3072
# The scaffold appears in every prompt; repeating it makes BPE give it few, whole-word tokens.
SCAFFOLD_REPEATS = 50


def scaffold_texts() -> list[str]:
    """Text that surrounds every sample in a prompt: roles, system prompt and condition labels."""
    labels = [f"{name} {n}:" for name in CONDITION_NAMES.values() for n in (1, 2)]
    return ["system", "user", "assistant", SYSTEM_PROMPT, DESCRIBE_INSTRUCTION, *CONDITION_NAMES.values(), *labels]


def train_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Qwen2's normaliser, pre-tokenizer and decoder around a freshly trained byte-level BPE."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[*SPECIAL_TOKENS, *REASONING_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def build_tokenizer(
    texts: Iterable[str], out_dir: str | Path, vocab_size: int = DEFAULT_VOCAB_SIZE
) -> PreTrainedTokenizerBase:
    """Train on `texts` (+ the prompt scaffold), save a Qwen2Tokenizer folder to `out_dir`, return it reloaded.

    Chat and placeholder tokens are special (dropped by `skip_special_tokens`); the think/answer tags
    are added tokens that are not special, so decoded generations keep them.
    """
    corpus = chain(texts, scaffold_texts() * SCAFFOLD_REPEATS)
    model = json.loads(train_bpe(corpus, vocab_size).to_str())["model"]
    tokenizer = Qwen2Tokenizer(
        vocab=model["vocab"],
        merges=[tuple(merge) for merge in model["merges"]],
        unk_token=None,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        extra_special_tokens=[t for t in SPECIAL_TOKENS if t not in (IM_END, PAD_TOKEN)],
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
    )
    tokenizer.add_tokens(list(REASONING_TOKENS), special_tokens=False)
    with staged_folder(Path(out_dir), replace=True) as staging:
        tokenizer.save_pretrained(str(staging))
    return load_tokenizer(out_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-texts", type=int, default=4000, help="samples drawn from the synthetic generator")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE)
    parser.add_argument("--out", type=Path, default=TINY_TOKENIZER_DIR)
    args = parser.parse_args(argv)
    tokenizer = build_tokenizer(training_texts(args.num_texts, seed=args.seed), args.out, args.vocab_size)
    print(f"wrote {args.out} ({len(tokenizer)} tokens)")


if __name__ == "__main__":
    main()
