"""python -m reade.data.validate FILE.jsonl [...] — check a dataset without training.

Every problem is printed as `file:line: field: message`; the exit status is 1 if there is any,
so a broken row is found before a run starts, not three days into it.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from reade.data.jsonl import REQUIRED_FIELDS, check_samples


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
    args = parser.parse_args(argv)
    total_problems = 0
    for path in args.files:
        samples, problems, rows = check_samples(path, REQUIRED_FIELDS[args.purpose])
        for problem in problems:
            print(problem)
        kinds = Counter(c.kind for s in samples for c in s.conditions)
        sources = Counter(source for s in samples if s.key_elements and s.key_elements.provenance
                          for source in s.key_elements.provenance.values())
        print(
            f"{path}: {rows} row(s), {len(samples)} usable for {args.purpose}, {len(problems)} problem(s); "
            f"conditions: {dict(sorted(kinds.items())) or 'none'}; "
            f"key elements by provenance: {dict(sorted(sources.items())) or 'not recorded'}",
            file=sys.stderr,
        )
        total_problems += len(problems)
    return 1 if total_problems else 0


if __name__ == "__main__":
    sys.exit(main())
