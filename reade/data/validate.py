"""python -m reade.data.validate FILE.jsonl [...] — check a dataset without training.

Every problem is printed as `file:line: field: message`; the exit status is 1 if there is any,
so a broken row is found before a run starts, not three days into it. The checks are training's own
(`reade.data.jsonl.check_lines`, then `reade.data.lengths.length_problems`): empty files, bytes that
are not UTF-8, rows that break the data contract, condition files that do not read (an image over
the pixel limit, a file that is no image), control tokens in any text field, and rows whose tokens,
instruction kept, exceed the limit, counted with a checkpoint's processor.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from reade.config import DataConfig
from reade.data.jsonl import REQUIRED_FIELDS, check_lines, dataset_row
from reade.data.lengths import TokenLimit, length_problems
from reade.models.backbone import backbone_kind, load_processor
from reade.models.processing import InterpreterProcessor
from reade.models.tiny import TinyDims, tiny_processor_settings
from reade.models.tokenizer import load_tokenizer

TINY_DEFAULT = "the tiny default"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reade.data.validate", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="JSONL files in the format of DESIGN.md section 3")
    parser.add_argument(
        "--for",
        dest="purpose",
        choices=sorted(REQUIRED_FIELDS),
        default="sft",
        help="which fields rows must carry: sft needs think and caption, grpo needs key_elements (default: sft)",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=DataConfig.max_length,
        help="tokens a row may have: prompt + target where rows are trained on their caption (sft), the prompt "
             f"alone otherwise; data.max_length, or stage.max_prompt_length for grpo (default: {DataConfig.max_length})",
    )
    parser.add_argument(
        "--processor",
        default=None,
        help="the checkpoint folder or hub id whose processor counts the tokens, e.g. <run>/checkpoint "
             f"(default: {TINY_DEFAULT}'s, which has no camera encoder and leaves camera placeholders uncounted)",
    )
    args = parser.parse_args(argv)
    try:
        processor = _processor(args.processor)
    except (OSError, ValueError) as error:
        parser.error(f"--processor {args.processor}: {str(error).splitlines()[0]}")
    limit = TokenLimit(processor, args.max_length, "--max-length")
    total_problems = 0
    for path in args.files:
        total_problems += _validate(path, args.purpose, limit, args.processor or TINY_DEFAULT)
    return 1 if total_problems else 0


def _processor(name_or_path: str | None) -> InterpreterProcessor:
    """The processor of a checkpoint, read without its weights; None: the tiny default backbone's."""
    if name_or_path is None:
        return InterpreterProcessor(load_tokenizer(), tiny_processor_settings(TinyDims()))
    return load_processor(name_or_path, backbone_kind(name_or_path))


def _validate(path: Path, purpose: str, limit: TokenLimit, counted_with: str) -> int:
    """Print every problem of one file and its summary; returns the number of problems."""
    require = REQUIRED_FIELDS[purpose]
    numbered, problems, rows = check_lines(path, require)
    over, uncounted = length_problems(path, [dataset_row(s, require, line) for line, s in numbered], limit)
    problems = sorted(problems + over, key=lambda problem: problem.line)
    for problem in problems:
        print(problem)
    samples = [sample for _, sample in numbered]
    kinds = Counter(c.kind for s in samples for c in s.conditions)
    sources = Counter(source for s in samples if s.key_elements and s.key_elements.provenance
                      for source in s.key_elements.provenance.values())
    usable = len(samples) - len({problem.line for problem in over})
    print(
        f"{path}: {rows} row(s), {usable} usable for {purpose}, {len(problems)} problem(s); "
        f"conditions: {dict(sorted(kinds.items())) or 'none'}; "
        f"key elements by provenance: {dict(sorted(sources.items())) or 'not recorded'}; "
        f"tokens counted with {counted_with}'s processor"
        + "".join(f" ({kind} placeholders left out: it cannot read them)" for kind in sorted(uncounted)),
        file=sys.stderr,
    )
    return len(problems)


if __name__ == "__main__":
    sys.exit(main())
