"""The Windows guest, one box away: a Vagrant machine of the user's Windows box
(`vms/vagrant/windows/Vagrantfile`), driven over WinRM (pywinrm), with
`QemuGuest`'s contract. Nothing here can run on these machines (no Windows
box can be downloaded here); everything below the OS boundary is tested.

    guest = WindowsGuest(VagrantMachine("windows", box="my/win11", folder=...))
    guest.power_on()
    guest.run("Get-NetAdapter -Name %s", "Ethernet")      # PowerShell; args quoted
    guest.trigger("link", Name="Ethernet", State="down")  # vms/scripts/windows/link.ps1

Commands are PowerShell, sent as `powershell.exe -EncodedCommand` (UTF-16LE
in base64), so no layer between here and PowerShell (WinRM's XML, cmd.exe's
command line) reinterprets a character; arguments are PowerShell
single-quoted strings, the one literal form with no expansion.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

from netns.errors import LabError
from netns.host import CommandResult, Step
from vms.box_guest import BoxGuest, BoxInterface
from vms.vagrant_machine import VagrantMachine

SCRIPTS = Path(__file__).parent / "scripts" / "windows"
CHUNK = 1536  # bytes per put() command: well inside a command line once encoded
# PowerShell reads all four as a single quote: each is doubled inside a literal.
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
WRAPPER = """\
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try {{ & {{
{script}
}}; if ($LASTEXITCODE) {{ exit $LASTEXITCODE }} }}
catch {{ [Console]::Error.WriteLine($_.ToString()); exit 1 }}
"""


def ps_quote(value: object) -> str:
    """`value` as a PowerShell single-quoted literal: nothing in it is expanded."""
    text = str(value)
    if "\0" in text:
        raise LabError("a PowerShell argument cannot hold a NUL character")
    return "'" + "".join(c * 2 if c in SINGLE_QUOTES else c for c in text) + "'"


def ps_format(command: str, *args: object) -> str:
    """`command` with its %s placeholders filled by quoted `args` (as a Host's run)."""
    return command % tuple(ps_quote(a) for a in args) if args else command


def powershell_argv(script: str) -> list[str]:
    """The command line that runs `script`, its errors an exit status, not a prompt."""
    encoded = base64.b64encode(WRAPPER.format(script=script).encode("utf-16-le")).decode()
    return [
        "powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive",
        "-ExecutionPolicy", "Bypass", "-EncodedCommand", encoded,
    ]  # fmt: skip


def script_call(name: str, params: dict[str, object]) -> str:
    """vms/scripts/windows/<name>.ps1 invoked as a script block with named parameters."""
    body = (SCRIPTS / f"{name}.ps1").read_text()
    named = " ".join(f"-{key} {ps_quote(value)}" for key, value in params.items())
    return f"& {{\n{body}\n}} {named}".rstrip()


def winrm_session(config: dict[str, str]):
    """A pywinrm session from `vagrant winrm-config` (HostName, Port, User, Password)."""
    try:
        import winrm
    except ImportError:
        raise LabError("pywinrm is missing: pip install 'leakcert[windows]'") from None
    url = f"http://{config['HostName']}:{config.get('Port', '5985')}/wsman"
    return winrm.Session(
        url, auth=(config["User"], config["Password"]), transport="ntlm", read_timeout_sec=330
    )


class WindowsInterface(BoxInterface):
    """One adapter of the guest, as Get-NetAdapter and Get-NetIPAddress say."""

    def _read(self) -> dict | None:
        out = self.guest.run(
            "Get-NetAdapter -Name %s -ErrorAction SilentlyContinue | "
            "Select-Object MacAddress, MediaConnectionState, Status | ConvertTo-Json",
            self.name,
            check=False,
        )
        return _json(out.stdout) if out.ok and out.stdout.strip() else None

    @property
    def mac(self) -> str | None:
        adapter = self._read()
        return adapter["MacAddress"].replace("-", ":").lower() if adapter else None

    @property
    def carrier(self) -> bool:
        adapter = self._read() or {}
        return adapter.get("MediaConnectionState") in (1, "Connected")

    def addresses(self, family: int = 2) -> list[str]:
        out = self.guest.run(
            "Get-NetIPAddress -InterfaceAlias %s -AddressFamily %s -ErrorAction SilentlyContinue"
            " | Where-Object { $_.AddressState -eq 'Preferred' -and $_.PrefixOrigin -ne 'WellKnown'"
            " -and -not $_.IPAddress.StartsWith('fe80') }"
            " | Select-Object -ExpandProperty IPAddress",
            self.name,
            "IPv4" if family == 2 else "IPv6",
            check=False,
        )
        return out.stdout.split() if out.ok else []


class WindowsGuest(BoxGuest):
    """A Windows machine of the user's box, through Vagrant and WinRM."""

    os_title = "Windows"
    answering = "WinRM to answer"
    interface_type = WindowsInterface
    connection_errors = (Exception,)  # a session to a booting guest fails many ways
    boot_ends_connection = True  # a WinRM session

    def __init__(
        self,
        machine: VagrantMachine,
        transcript: list[Step] | None = None,
        session_factory: Callable[[dict[str, str]], object] = winrm_session,
    ) -> None:
        super().__init__(machine, transcript)
        self.session_factory = session_factory
        self._session = None

    # ------------------------------------------------------------- power

    def _disconnect(self) -> None:
        self._session = None

    def _answers(self) -> bool:
        with contextlib.suppress(Exception):  # a session to a booting guest fails many ways
            self._session = self._session or self.session_factory(self.machine.winrm_config())
            return self.run("$true", check=False).ok
        self._session = None
        return False

    def boot_time(self) -> str:
        return self.run(
            "(Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToFileTimeUtc()"
        ).stdout.strip()

    def reboot(self) -> None:
        """Windows restarts itself (Restart-Computer)."""
        self._new_boot(lambda: self.trigger("reboot"))

    # ------------------------------------------------------------- commands and files

    def run(self, command: str, *args: object, check: bool = True) -> CommandResult:
        """Run PowerShell `command` (%s placeholders filled with quoted `args`)."""
        if self._session is None:
            raise LabError("the Windows guest is not connected (power_on first)")
        line = ps_format(command, *args)
        started = time.time()
        argv = powershell_argv(line)
        answer = self._session.run_cmd(argv[0], argv[1:])
        return self._result(
            line, started, answer.status_code, answer.std_out, answer.std_err, check
        )

    def trigger(self, name: str, **params: object) -> CommandResult:
        """Run the trigger or probe vms/scripts/windows/<name>.ps1 with its parameters."""
        return self.run(script_call(name, params))

    def put(self, path: str, data: bytes) -> None:
        self.run("[IO.File]::WriteAllBytes(%s, [byte[]]@())", path)
        for at in range(0, len(data), CHUNK):
            chunk = base64.b64encode(data[at : at + CHUNK]).decode()
            self.run(
                "$b = [Convert]::FromBase64String(%s); $f = [IO.File]::Open(%s, 'Append'); "
                "try { $f.Write($b, 0, $b.Length) } finally { $f.Close() }",
                chunk,
                path,
            )

    def get(self, path: str) -> bytes:
        out = self.run("[Convert]::ToBase64String([IO.File]::ReadAllBytes(%s))", path)
        return base64.b64decode(out.stdout.strip())

    # ------------------------------------------------------------- facts

    def routes(self, family: int = 2) -> list[tuple[str, str | None]]:
        out = self.run(
            "Get-NetRoute -AddressFamily %s | Select-Object DestinationPrefix, NextHop"
            " | ConvertTo-Json",
            "IPv4" if family == 2 else "IPv6",
        )
        return parse_routes(out.stdout)


def parse_routes(text: str) -> list[tuple[str, str | None]]:
    """Get-NetRoute's JSON as (destination, gateway or None when on-link)."""
    rows = _json(text) if text.strip() else []
    rows = [rows] if isinstance(rows, dict) else rows
    on_link = ("0.0.0.0", "::")
    return [
        (r["DestinationPrefix"], None if r["NextHop"] in on_link else r["NextHop"]) for r in rows
    ]


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        raise LabError(f"the Windows guest printed no JSON: {text.strip()[:80]!r}") from None
