"""Where leakcert's packages are: a checkout, or site-packages once installed.

What the lab runs with `python -m` (the stream, the probes) and a subject's
hooks (`"$PYTHON" -m enforcer`, the foils) find leakcert here, through
PYTHONPATH; the sandbox shows hooks these packages and nothing else of the
folder (a checkout may hold results, site-packages other programs).
"""

from __future__ import annotations

from pathlib import Path

HOME = Path(__file__).resolve().parents[1]
PACKAGES = ("netns", "enforcer", "conformance", "reports", "leakcert")


def package_folders() -> tuple[Path, ...]:
    """leakcert's own packages, as they lie in HOME."""
    return tuple(HOME / p for p in PACKAGES if (HOME / p / "__init__.py").is_file())


def pythonpath() -> dict[str, str]:
    """The environment that makes leakcert importable by any interpreter."""
    return {"PYTHONPATH": str(HOME)}
