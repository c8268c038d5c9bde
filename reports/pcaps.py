"""Which pcaps the report copies: only regular files inside the results file's folder.

Results files are handed around, so a recorded pcap path is vetted before the
report copies it into itself.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from conformance.results import CaseResult, Results, subject_folder

# Kernel pseudo-file systems: their files stat as regular, and hold the
# machine's secrets, never a run's capture.
_VIRTUAL = (Path("/proc"), Path("/sys"), Path("/dev"))


class PcapRefused(Exception):
    """A results file names a pcap the report will not copy; the message says why."""


@dataclass(frozen=True)
class Pcap:
    source: Path | None = None  # the file to copy; None: no pcap, gone, or refused
    refused: str = ""  # why it was refused


def pcap_path(result: CaseResult) -> Path:
    """Where the report keeps the case's pcap, relative to the report root."""
    return Path("pcaps", subject_folder(result.subject), f"{result.case}.pcap")


def vetted_pcaps(run: Results) -> list[Pcap]:
    """Each result's pcap, vetted; a refusal is also one line on stderr."""
    pcaps = []
    for r in run.results:
        pcap = Pcap()
        if r.evidence.pcap is not None:
            try:
                pcap = Pcap(vet_pcap(r.evidence.pcap, run.folder))
            except PcapRefused as why:
                print(f"reports: refused pcap {r.evidence.pcap}: {why}", file=sys.stderr)
                pcap = Pcap(refused=str(why))
        pcaps.append(pcap)
    return pcaps


def vet_pcap(recorded: str, folder: Path) -> Path | None:
    """The regular file inside `folder` (resolved) that `recorded` names; None if it is gone.

    Raises PcapRefused for anything else: results files are handed around, and
    a report must not copy the machine's files into itself.
    """
    path = Path(recorded)
    try:
        real = (path if path.is_absolute() else folder / path).resolve(strict=True)
    except FileNotFoundError:
        return None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise PcapRefused(f"cannot resolve it ({exc})") from None
    if any(real.is_relative_to(v) for v in _VIRTUAL):
        raise PcapRefused(f"{real} is a kernel pseudo-file")
    if not real.is_relative_to(folder):
        raise PcapRefused(f"{real} is outside the results file's folder {folder}")
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        raise PcapRefused(f"cannot stat it ({exc})") from None
    if not stat.S_ISREG(mode):
        raise PcapRefused("not a regular file")
    if not os.access(real, os.R_OK):
        raise PcapRefused("not readable")
    return real
