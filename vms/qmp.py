"""QEMU's two JSON channels: QMP (the machine: power, reset, link, events) and
the guest agent's (a command, a file, the clock inside the guest).

Both speak one JSON object per line over a unix socket that QEMU serves; the
agent's has no greeting, and after a reboot its stream may hold a dead
session's bytes, so `Agent.sync` discards everything up to the answer to a
fresh `guest-sync-delimited` (QEMU's documented resynchronisation). The
library QEMU ships for QMP (`qemu.qmp`) is asynchronous and has no agent
client; this is the few lines both need.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from netns.errors import LabError
from netns.wait import until


class Channel:
    """One JSON-per-line conversation with QEMU over a unix socket."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self._sock: socket.socket | None = None
        self._buffer = b""
        self.events: list[dict] = []

    def connect(self, timeout: float = 10.0) -> None:
        def connected() -> socket.socket | None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self.path))
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                return None
            return sock

        # QEMU makes the socket at start-up: a file another process creates.
        self._sock = until(f"{self.what}'s socket at {self.path}", connected, timeout)
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def send(self, message: dict) -> None:
        if self._sock is None:
            raise LabError(f"{self.what}: not connected")
        try:
            self._sock.sendall(json.dumps(message).encode() + b"\n")
        except OSError as exc:
            raise LabError(f"{self.what}: the channel broke: {exc.strerror}") from None

    def receive(self, deadline: float) -> dict:
        """The next JSON object; LabError at the deadline or when QEMU hangs up."""
        while True:
            line, newline, rest = self._buffer.partition(b"\n")
            if newline:
                self._buffer = rest
                line = line.lstrip(b"\xff").strip()
                if not line:
                    continue
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # a dead session's half line: resynchronisation skips it
                if isinstance(message, dict):
                    return message
                continue
            left = deadline - time.monotonic()
            if left <= 0 or self._sock is None:
                raise LabError(f"{self.what}: no answer in time")
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(1 << 16)
            except TimeoutError:
                raise LabError(f"{self.what}: no answer in time") from None
            except OSError as exc:
                raise LabError(f"{self.what}: the channel broke: {exc.strerror}") from None
            if not chunk:
                self.close()
                raise LabError(f"{self.what}: QEMU closed the channel")
            self._buffer += chunk

    def execute(self, command: str, timeout: float = 10.0, **arguments: object) -> object:
        """Run one command; its `return`, or LabError with QEMU's own words."""
        message: dict = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.send(message)
        deadline = time.monotonic() + timeout
        while True:
            answer = self.receive(deadline)
            if "event" in answer:
                self.events.append(answer)
            elif "error" in answer:
                error = answer["error"]
                raise LabError(f"{self.what}: {command}: {error.get('desc', error)}")
            elif "return" in answer:
                return answer["return"]


class Qmp(Channel):
    """The machine's monitor: greeting, capabilities, commands and events."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "QMP")

    def connect(self, timeout: float = 10.0) -> None:
        super().connect(timeout)
        self.receive(time.monotonic() + timeout)  # the greeting
        self.execute("qmp_capabilities")

    def wait_event(self, name: str, timeout: float, **data: object) -> dict:
        """The first event `name` (with `data` among its fields), seen before or now."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                fields = event.get("data", {})
                if event["event"] == name and all(fields.get(k) == v for k, v in data.items()):
                    self.events.remove(event)
                    return event
            message = self.receive(deadline)
            if "event" in message:
                self.events.append(message)

    def forget_events(self) -> None:
        self.events.clear()


class Agent(Channel):
    """The QEMU guest agent inside the guest (qemu-guest-agent, from Debian)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "the guest agent")

    def reboot(self) -> None:
        """The guest's own orderly reboot: `guest-shutdown`, for which the agent runs
        `shutdown -r +0` (systemd's reboot).

        Sent, not awaited: the agent answers it only when it fails, and a command
        run through `guest-exec` races the shutdown that stops the agent itself.
        The machine's RESET event is the answer that counts.
        """
        self.send({"execute": "guest-shutdown", "arguments": {"mode": "reboot"}})

    def sync(self, timeout: float = 5.0) -> None:
        """Discard whatever a previous session left in the channel (QEMU's guest-sync)."""
        token = int.from_bytes(os.urandom(4), "big")
        if self._sock is None:
            self.connect(timeout)
        # A 0xff byte resets the agent's parser if it holds half a command.
        self._sock.sendall(b"\xff")
        self.send({"execute": "guest-sync-delimited", "arguments": {"id": token}})
        deadline = time.monotonic() + timeout
        while True:
            answer = self.receive(deadline)
            if answer.get("return") == token:
                return
