"""`boot install` makes what it writes durable: a power cut right after it must not
boot without the rules (the guest lane's boot.power-cut case found this)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from enforcer import cli


def test_boot_install_fsyncs_every_file_and_folder_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    args = ["boot", "install", "--block", "--root", str(tmp_path)]
    assert cli.main(args) == cli.EXIT_OK
    folders = {
        str((tmp_path / p).parent) for p in (cli.RULESET_PATH, cli.UNIT_PATH, cli.WANTS_PATH)
    }
    assert folders <= set(synced)
    # The files' own data: each was synced under its temporary name, before the rename.
    assert sum(Path(s).name.startswith(".") for s in synced) >= 2
