"""Resuming without losing, repeating or mixing anything.

- An append-only JSONL output (construct's ledger, interpret's batch mode): which ids it already
  holds, so a rerun continues after them without losing or repeating a row (`finished_ids`). A file
  that is not what the run would have written is refused, never appended to: appending our rows to
  someone else's file, or to one made for another input, would mix two outputs for good.
- A training run resumed in its own folder, `hydra.run.dir=<run> ckpt_path=last`
  (`resume_arguments`): it runs the config its `.hydra` record holds, not one rebuilt from the
  defaults, and that record stays as the launch wrote it. Hydra writes a job's record before the
  job starts, so this happens to the command line, before Hydra reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import OmegaConf

from reade.data.jsonl import RowProblem
from reade.errors import ConfigError, DataError
from reade.utils.io import cut_torn_tail

# (field, message) when a row is not one this run would have written, else None.
RowCheck = Callable[[dict[str, Any]], "tuple[str, str] | None"]


def finished_ids(path: Path, wanted: set[str], *, row_kind: str, remedy: str,
                 check: RowCheck = lambda record: None) -> tuple[set[str], int]:
    """(ids in `path`, 1 if its last line was cut short by a kill and dropped, else 0).

    Refused with every problem named by file and line: a line that is not a JSON object (`row_kind`
    says what a line should be), an id missing, not a string or repeated, a row `check` objects to,
    and ids `wanted` (the input's) lacks, which mean the file belongs to another input. `remedy`
    ends the error's first line."""
    path = Path(path)
    if not path.exists():
        return set(), 0
    torn = cut_torn_tail(path)
    ids: set[str] = set()
    problems, foreign = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            identifier = record.get("id")
        except (json.JSONDecodeError, AttributeError):
            problems.append(RowProblem(path, number, "row", f"not {row_kind}; the file was edited or is not ours"))
            continue
        objection = check(record)
        if not isinstance(identifier, str) or identifier in ids:
            problems.append(RowProblem(path, number, "id", f"{identifier!r} is missing, not a string or repeated"))
        elif objection is not None:
            problems.append(RowProblem(path, number, *objection))
        elif identifier not in wanted:
            foreign.append(identifier)
        ids.add(identifier)
    if foreign:
        problems.append(RowProblem(path, 0, "id", f"{len(foreign)} id(s) the input lacks, e.g. {foreign[:3]}: "
                                                  "the file belongs to another input"))
    if problems:
        raise DataError(f"{path}: cannot resume from this file; {remedy}", problems)
    return ids, torn


RECORD = ".hydra"  # where Hydra records a job: config.yaml (as composed), overrides.yaml, hydra.yaml
_RESUME_RECORD = re.compile(r"^resume-(\d+)$")  # a resume's own record, under RECORD
# The one setting a resume may change, and only upwards: the same run, trained for longer.
GROWABLE = "stage.max_steps"
_ABSENT = object()  # a key one of two configs lacks


def resume_arguments(args: list[str], conf_dir: Path) -> list[str]:
    """The command line Hydra should run for `args` (`sys.argv[1:]` of `python -m reade.train`).

    A resume of a run in its own folder (`hydra.run.dir=<run> ckpt_path=last`, <run> holding a
    `.hydra` record) becomes the run's recorded overrides with those given now in their place, as
    one job (`hydra.mode=RUN`: a sweep's job resumes alone, in its folder) whose record is written
    beside the launch's (`.hydra/resume-<n>/`), never over it; a later resume starts from the latest
    record. It is refused (ConfigError, every difference named) when the config those overrides
    compose differs from the recorded one anywhere but a raised `stage.max_steps`: an override given
    now, or conf/ edited since the launch, would make it another run. Anything else is returned as it
    is, and so is a command line that already says where its record goes (`hydra.output_subdir`,
    which Lightning sets for the DDP ranks it starts by running this command line again).

    Arguments that start with `-` are Hydra's options (`-m`, `--cfg job`, ...) and stay; a lone
    option value (`job`) has no `=` and is not taken for an override."""
    given = _overrides([arg for arg in args if _is_override(arg)])
    if given is None:
        return args  # Hydra names what does not parse
    by_key = {_key(override): override for override in given}
    run_dir, ckpt_path = by_key.get("hydra.run.dir"), by_key.get("ckpt_path")
    if run_dir is None or ckpt_path is None or ckpt_path.value() != "last" or "hydra.output_subdir" in by_key:
        return args
    run = Path(str(run_dir.value()))
    if not (run / RECORD / "config.yaml").is_file():
        return args  # not a run folder: `ckpt_path=last` finds no checkpoint there and says so
    records = _resume_records(run)
    record = records[-1][1] if records else run / RECORD
    task = _replayed(record, [override for override in given if not override.is_hydra_override()])
    _check_same_run(run, record, _composed(conf_dir, task, run))
    number = records[-1][0] + 1 if records else 1
    options = [arg for arg in args if not _is_override(arg)]
    hydra = [override.input_line for override in given if override.is_hydra_override()]
    return [*options, *task, *hydra, "hydra.mode=RUN", f"hydra.output_subdir={RECORD}/resume-{number}"]


def _is_override(arg: str) -> bool:
    return not arg.startswith("-") and ("=" in arg or arg.startswith("~"))


def _overrides(lines: list[str]) -> list[Override] | None:
    try:
        return OverridesParser.create().parse_overrides(lines)
    except HydraException:
        return None


def _key(override: Override) -> str:
    """What an override sets, whatever its prefix: `+stage_settings.sft={...}` sets `stage_settings.sft`."""
    return override.get_key_element().lstrip("+~")


def _resume_records(run: Path) -> list[tuple[int, Path]]:
    """(n, folder) of every `.hydra/resume-<n>/` record of `run` that holds a config, in order."""
    found = []
    for folder in (run / RECORD).glob("resume-*"):
        match = _RESUME_RECORD.match(folder.name)
        if match and (folder / "config.yaml").is_file():
            found.append((int(match.group(1)), folder))
    return sorted(found)


def _replayed(record: Path, given: list[Override]) -> list[str]:
    """The record's overrides (its `ckpt_path` left out), each one given now in the place of the
    recorded override of the same key, then the other ones given now: one value per key."""
    now = {_key(override): override.input_line for override in given}
    kept = []
    for override in _overrides(list(OmegaConf.load(record / "overrides.yaml"))) or []:
        key = _key(override)
        if key != "ckpt_path":
            kept.append(now.pop(key, override.input_line))
    return kept + list(now.values())


def _composed(conf_dir: Path, overrides: list[str], run: Path) -> dict[str, Any]:
    """The job config `overrides` compose, unresolved, as Hydra records it in config.yaml."""
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
            return OmegaConf.to_container(compose("train", overrides=overrides), resolve=False)
    except HydraException as error:
        raise ConfigError(f"resume of {run}: {error}") from error


def _check_same_run(run: Path, record: Path, composed: dict[str, Any], shown: int = 6) -> None:
    recorded = OmegaConf.to_container(OmegaConf.load(record / "config.yaml"), resolve=False)
    changed = [(key, old, new) for key, old, new in _differences(recorded, composed)
               if key != "ckpt_path" and not _grown(key, old, new)]
    if not changed:
        return
    named = "; ".join(f"{key} {_shown(old)} -> {_shown(new)}" for key, old, new in changed[:shown])
    more = f"; and {len(changed) - shown} more" if len(changed) > shown else ""
    raise ConfigError(
        f"resume of {run} refused: the config differs from its record {record / 'config.yaml'} (recorded -> now: "
        f"{named}{more}), by an override given now or by conf/ edited since the launch; a resume may only raise "
        f"{GROWABLE}. To train something else from this checkpoint, start a new run with "
        f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"
    )


def _differences(old: Any, new: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(dotted key, old value, new value) wherever two config containers differ; a key one of them
    lacks has the value `_ABSENT` there."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            yield from _differences(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{prefix}{key}.")
    elif old != new:
        yield prefix.rstrip("."), old, new


def _grown(key: str, old: Any, new: Any) -> bool:
    """A raised step budget: the same run, trained for longer (a budget of -1, none, cannot grow)."""
    return key == GROWABLE and isinstance(old, int) and isinstance(new, int) and 0 < old <= new


def _shown(value: Any) -> str:
    return "absent" if value is _ABSENT else repr(value)
