"""The Windows and macOS guests' common part: a machine of a box the user has,
through Vagrant (`vms.vagrant_machine`), with `QemuGuest`'s contract.

`BoxGuest` holds what does not depend on the OS: power, snapshots, a new boot
proved by the OS's own boot time, a command's result in the transcript.
Each driver (`vms.windows`, `vms.macos`) says how it connects, runs a command,
moves a file and reads an interface's facts (`BoxInterface`).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable

from netns.errors import LabError
from netns.host import CommandResult, Step
from netns.wait import until
from vms.vagrant_machine import VagrantMachine

BOOT_TIMEOUT = 1800.0


class BoxInterface(ABC):
    """One interface of a box's guest: its facts read from the guest at each question."""

    def __init__(self, guest: BoxGuest, name: str) -> None:
        self.guest = guest
        self.name = name

    @abstractmethod
    def _read(self) -> object | None:
        """What the guest says of this interface; None when it has none of this name."""

    @property
    def exists(self) -> bool:
        return self._read() is not None


class BoxGuest(ABC):
    """A machine of the user's box (Windows, macOS), through Vagrant: the contract's
    power, snapshots and boots; each driver connects, runs commands and reads facts."""

    role = "client"
    os_title: str  # in messages: "the <os_title> guest ..."
    answering: str  # what wait_ready waits for, in its timeout's message
    interface_type: type[BoxInterface]
    # What a connection to a guest that is not up yet may raise.
    connection_errors: tuple[type[Exception], ...] = (LabError,)
    # Whether the connection ends with the guest's boot (else it reconnects by itself).
    boot_ends_connection = False

    def __init__(self, machine: VagrantMachine, transcript: list[Step] | None = None) -> None:
        self.machine = machine
        self.transcript = transcript if transcript is not None else []

    @abstractmethod
    def _answers(self) -> bool:
        """Whether the guest runs a command now (connecting first if need be)."""

    @abstractmethod
    def _disconnect(self) -> None:
        """Forget the connection: the guest it reached is gone."""

    @abstractmethod
    def boot_time(self) -> str:
        """When the running OS booted, in the guest's own words: a new boot says another."""

    # ------------------------------------------------------------- power

    def power_on(self, snapshot: str | None = None) -> None:
        if snapshot is None:
            self.machine.up()
        else:
            self.machine.snapshot_restore(snapshot)
        self._disconnect()
        self.wait_ready()

    def power_off(self) -> None:
        self.machine.halt()
        self._disconnect()

    def wait_ready(self, timeout: float = BOOT_TIMEOUT) -> None:
        until(self.answering, self._answers, timeout)

    def _new_boot(self, trigger: Callable[[], object]) -> None:
        before = self.boot_time()
        trigger()
        if self.boot_ends_connection:
            self._disconnect()

        def booted() -> bool:
            with contextlib.suppress(*self.connection_errors):
                return self._answers() and self.boot_time() != before
            return False

        until(f"the {self.os_title} guest to boot again", booted, BOOT_TIMEOUT)

    def reset(self) -> None:
        """A power cut, by the provider (Vagrant has no verb for it)."""
        self._new_boot(self.machine.power_cut)

    def save(self, name: str) -> None:
        self.machine.snapshot_save(name)

    def restore(self, name: str) -> None:
        self.power_on(snapshot=name)

    # ------------------------------------------------------------- commands and facts

    def _result(
        self, line: str, started: float, rc: int, stdout: bytes, stderr: bytes, check: bool
    ) -> CommandResult:
        """A command's result, in the transcript; LabError with its last line if it failed."""
        self.transcript.append(Step(started, self.role, line, rc))
        result = CommandResult(
            line, rc, stdout.decode(errors="replace"), stderr.decode(errors="replace")
        )
        if check and not result.ok:
            reason = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
            raise LabError(f"client: `{line}` failed ({rc}): {reason[-1]}")
        return result

    def interface(self, name: str) -> BoxInterface:
        return self.interface_type(self, name)
