"""Where the project is, for code that is not a Hydra entry point: the notebooks.

An entry point reads conf/ beside its package and keeps data, logs and caches under
`paths.root_dir` (`$READE_ROOT`, else the working directory: a clone's root, where the README's
commands run). A notebook's kernel starts in notebooks/, and the package may be installed anywhere,
so the package's own path says nothing about where a clone is; `project_root` finds it the way a
user would point at it.
"""

from __future__ import annotations

import os
from pathlib import Path

from reade.errors import ConfigError

ROOT_VARIABLE = "READE_ROOT"
MARKER = Path("conf") / "train.yaml"


def project_root(start: Path | None = None) -> Path:
    """`$READE_ROOT` when set (a clone: conf/paths then keeps data, logs and .cache there as well),
    else the nearest folder at or above `start` (the working directory) that holds conf/train.yaml."""
    variable = os.environ.get(ROOT_VARIABLE)
    if variable:
        root = Path(variable).resolve()
        if not (root / MARKER).is_file():
            raise ConfigError(f"{ROOT_VARIABLE}={variable} holds no {MARKER}: point it at a clone of the repository")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    raise ConfigError(f"no {MARKER} in {here} or a folder above it: start inside a clone of the repository, "
                      f"or set {ROOT_VARIABLE} to one")
