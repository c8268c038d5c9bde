"""Where leakcert's packages are: a checkout, or site-packages once installed.

What the lab runs with `python -S -m` (the stream, the flows, the probes:
`module_argv`) and a subject's hooks (`"$PYTHON" -m enforcer`, the foils) find
leakcert here, through PYTHONPATH; the sandbox shows hooks these packages and
nothing else of the folder (a checkout may hold results, site-packages other
programs).
"""

from __future__ import annotations

import sys
from pathlib import Path

HOME = Path(__file__).resolve().parents[1]
PACKAGES = ("netns", "enforcer", "conformance", "reports", "leakcert")


def package_folders() -> tuple[Path, ...]:
    """leakcert's own packages, as they lie in HOME."""
    return tuple(HOME / p for p in PACKAGES if (HOME / p / "__init__.py").is_file())


def pythonpath() -> dict[str, str]:
    """The environment that makes leakcert importable by any interpreter."""
    return {"PYTHONPATH": str(HOME)}


def module_argv(module: str, *args: str) -> list[str]:
    """The command that runs one of leakcert's standard-library-only modules (the
    stream, the flows, the probes) with this interpreter. -S: no site start-up (a
    virtualenv's .pth files, an editable install's finder), about 20 ms of CPU for
    each of the several such processes a case starts."""
    return ["env", f"PYTHONPATH={HOME}", sys.executable, "-S", "-m", module, *args]
