"""Windows and macOS, one box away: everything below the OS boundary.

No Windows or macOS box can be downloaded here (and macOS runs only on Apple
hardware), so the guests themselves are the two lane tests at the end, which
skip unless a box is named; the rest checks what leakcert sends them: command
lines, quoting, scripts, parsers and the Vagrantfiles.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netns.errors import LabError
from vms import macos, windows
from vms.macos import MacGuest, parse_ifconfig, parse_netstat_routes, remote_sh, ssh_argv
from vms.other_os import UPLINKS, make_guest, walk
from vms.vagrant_machine import VAGRANT_DIR, VagrantMachine, parse_ssh_config
from vms.windows import (
    SINGLE_QUOTES,
    WindowsGuest,
    parse_routes,
    powershell_argv,
    ps_format,
    ps_quote,
    script_call,
)


def ps_literal(source: str) -> str:
    """PowerShell's reading of one single-quoted literal (the language spec, section 2.3.5.2)."""
    assert source[0] in SINGLE_QUOTES and source[-1] in SINGLE_QUOTES
    body, out, at = source[1:-1], [], 0
    while at < len(body):
        if body[at] in SINGLE_QUOTES:
            assert at + 1 < len(body) and body[at + 1] in SINGLE_QUOTES, "a lone quote ends it"
            at += 1
        out.append(body[at])
        at += 1
    return "".join(out)


@given(st.text(alphabet=st.characters(blacklist_characters="\0")))
def test_a_powershell_argument_reads_back_as_itself(text: str) -> None:
    assert ps_literal(ps_quote(text)) == text


def test_powershell_quoting_covers_the_typographic_quotes_and_refuses_nul() -> None:
    assert ps_quote("it\u2019s $env:PATH `n") == "'it\u2019\u2019s $env:PATH `n'"
    with pytest.raises(LabError, match="NUL"):
        ps_quote("a\0b")


def test_a_powershell_command_is_encoded_whole_and_fails_as_an_exit_status() -> None:
    line = ps_format("Get-NetAdapter -Name %s", 'Ether\'net "2"')
    argv = powershell_argv(line)
    assert argv[:6] == ["powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive",
                        "-ExecutionPolicy", "Bypass"]  # fmt: skip
    assert argv[6] == "-EncodedCommand"
    script = base64.b64decode(argv[7]).decode("utf-16-le")
    assert "Get-NetAdapter -Name 'Ether''net \"2\"'" in script
    assert "$ErrorActionPreference = 'Stop'" in script and "exit 1" in script
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", argv[7])  # nothing for cmd.exe or WinRM's XML


def _params(script: str) -> dict[str, bool]:
    """A .ps1's parameters: {name: mandatory}."""
    block = re.search(r"^param\((.*)\)$", script, re.M)
    if block is None:
        return {}
    found = re.findall(r"(\[Parameter\(Mandatory\)\])?\[\w+\]\$(\w+)", block.group(1))
    return {name: bool(mandatory) for mandatory, name in found}


# What the driver and vms.other_os pass each script.
WINDOWS_CALLS = {
    "link": {"Name": "Ethernet", "State": "down"},
    "kill-client": {"ProcessName": "openvpn"},
    "reboot": {},
    "ipv6": {"Name": "Ethernet", "State": "off"},
    "wifi": {"Action": "connect", "ProfileName": "lab"},
    "probe-tcp": {"Address": "203.0.113.10", "Port": 443, "TimeoutMs": 1000},
    "probe-dns": {"Server": "198.51.100.53", "Name": "leak.example"},
    "filter-state": {"OutFile": "C:\\Windows\\Temp\\filters.xml"},
}


@pytest.mark.parametrize("name", sorted(WINDOWS_CALLS))
def test_each_windows_script_takes_what_it_is_given(name: str) -> None:
    script = (windows.SCRIPTS / f"{name}.ps1").read_text()
    params = _params(script)
    given_ = WINDOWS_CALLS[name]
    assert set(given_) <= set(params)
    assert {p for p, mandatory in params.items() if mandatory} <= set(given_)
    call = script_call(name, given_)
    assert call.startswith("& {\n") and script in call
    for key, value in given_.items():
        assert f"-{key} {ps_quote(value)}" in call


def test_every_windows_script_is_called() -> None:
    assert {p.stem for p in windows.SCRIPTS.glob("*.ps1")} == set(WINDOWS_CALLS)


def test_the_macos_scripts_pass_shellcheck() -> None:
    scripts = sorted(str(p) for p in macos.SCRIPTS.glob("*.sh"))
    assert len(scripts) == 8
    proc = subprocess.run(["shellcheck", "-s", "sh", *scripts], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


class FakeWinRM:
    """What pywinrm's Session answers: a status and bytes; it keeps what it was sent."""

    def __init__(self, status: int = 0, out: bytes = b"", err: bytes = b"") -> None:
        self.answer = type("Response", (), {"status_code": status, "std_out": out, "std_err": err})
        self.sent: list[str] = []

    def run_cmd(self, command: str, args: list[str]):
        assert command == "powershell.exe"
        self.sent.append(base64.b64decode(args[-1]).decode("utf-16-le"))
        return self.answer


def _windows(session: FakeWinRM, tmp_path: Path) -> WindowsGuest:
    guest = WindowsGuest(VagrantMachine("windows", "my/win11", tmp_path))
    guest._session = session
    return guest


def test_the_windows_driver_runs_powershell_over_winrm(tmp_path: Path) -> None:
    session = FakeWinRM(out=b"ok\r\n")
    guest = _windows(session, tmp_path)
    result = guest.run("Write-Output %s", "$(x)")
    assert (result.rc, result.stdout) == (0, "ok\r\n")
    assert "Write-Output '$(x)'" in session.sent[0]
    session.answer.status_code, session.answer.std_err = 5, b"Access is denied."
    with pytest.raises(LabError, match=r"failed \(5\): Access is denied"):
        guest.run("Disable-NetAdapter -Name %s", "Ethernet")
    assert guest.transcript[-1].exit == 5


def test_the_windows_driver_writes_a_file_in_chunks_that_add_up(tmp_path: Path) -> None:
    session = FakeWinRM()
    data = os.urandom(5000)
    _windows(session, tmp_path).put("C:\\a b\\f.bin", data)
    assert "WriteAllBytes('C:\\a b\\f.bin'" in session.sent[0]
    chunks = [re.search(r"FromBase64String\('([^']*)'\)", s).group(1) for s in session.sent[1:]]
    assert b"".join(base64.b64decode(c) for c in chunks) == data
    assert all(len(powershell_argv(s)[-1]) < 8000 for s in session.sent)  # a command line's room


def test_the_windows_facts_are_read_from_powershells_json(tmp_path: Path) -> None:
    adapter = {"MacAddress": "52-54-00-12-34-56", "MediaConnectionState": 1, "Status": "Up"}
    guest = _windows(FakeWinRM(out=json.dumps(adapter).encode()), tmp_path)
    assert guest.interface("Ethernet").mac == "52:54:00:12:34:56"
    assert guest.interface("Ethernet").carrier
    routes = [
        {"DestinationPrefix": "0.0.0.0/0", "NextHop": "192.0.2.1"},
        {"DestinationPrefix": "192.0.2.0/24", "NextHop": "0.0.0.0"},
    ]
    assert parse_routes(json.dumps(routes)) == [("0.0.0.0/0", "192.0.2.1"), ("192.0.2.0/24", None)]
    assert parse_routes(json.dumps(routes[0])) == [("0.0.0.0/0", "192.0.2.1")]
    with pytest.raises(LabError, match="no JSON"):
        parse_routes("Get-NetRoute : access denied")


def test_a_remote_macos_command_reaches_the_shell_as_written() -> None:
    weird = "a b'c\"$(touch /nonexistent)`x`;|&\n*"
    remote = remote_sh("printf %s " + shlex.quote(weird))
    # sshd hands the remote command to the user's shell as one string: as `sh -c` does here.
    out = subprocess.run(["sh", "-c", remote], capture_output=True, text=True)
    assert out.stdout == weird
    assert remote_sh("id -u", sudo=True).startswith("sudo -n /bin/sh -c ")


def test_the_macos_driver_uses_one_ssh_connection_from_vagrants_config(tmp_path: Path) -> None:
    config = parse_ssh_config(
        "Host guest\n  HostName 192.0.2.20\n  User vagrant\n  Port 2200\n"
        '  IdentityFile "/home/u/.vagrant.d/insecure_private_key"\n  IdentitiesOnly yes\n'
    )
    assert config["IdentityFile"] == "/home/u/.vagrant.d/insecure_private_key"
    argv = ssh_argv(config, tmp_path / "ssh.sock", "true")
    assert argv[-3:] == ["vagrant@192.0.2.20", "--", "true"]
    assert f"ControlPath={tmp_path / 'ssh.sock'}" in argv and "%" not in " ".join(argv)
    assert argv[argv.index("-p") + 1] == "2200"


def test_a_macos_trigger_is_its_script_on_stdin_as_root(tmp_path: Path, monkeypatch) -> None:
    guest = MacGuest(VagrantMachine("macos", "my/macos", tmp_path))
    sent = {}

    def fake_ssh(remote: str, stdin: bytes | None, timeout: float):
        sent.update(remote=remote, stdin=stdin)
        return subprocess.CompletedProcess([], 0, b"", b"")

    monkeypatch.setattr(guest, "_ssh", fake_ssh)
    guest.trigger("link", "en0", "down")
    assert sent["stdin"] == (macos.SCRIPTS / "link.sh").read_bytes()
    assert shlex.split(sent["remote"])[:4] == ["sudo", "-n", "/bin/sh", "-c"]
    assert shlex.split(shlex.split(sent["remote"])[4]) == ["/bin/sh", "-s", "--", "en0", "down"]


IFCONFIG = """\
en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\toptions=400<CHANNEL_IO>
\tether 52:54:00:AB:cd:01
\tinet6 fe80::1c2b:4f3a:9b1:2e0%en0 prefixlen 64 secured scopeid 0x6
\tinet 192.0.2.31 netmask 0xffffff00 broadcast 192.0.2.255
\tinet6 2001:db8:1::31 prefixlen 64 autoconf secured
\tnd6 options=201<PERFORMNUD,DAD>
\tmedia: autoselect
\tstatus: active
"""
NETSTAT = """\
Routing tables

Internet:
Destination        Gateway            Flags           Netif Expire
default            192.0.2.1          UGScg             en0
127                127.0.0.1          UCS               lo0
192.0.2            link#6             UCS               en0      !
192.0.2.1          52:54:0:12:34:1    UHLWIir           en0   1199
"""


def test_the_macos_facts_are_read_from_ifconfig_and_netstat() -> None:
    facts = parse_ifconfig(IFCONFIG)
    assert facts["ether"] == "52:54:00:ab:cd:01"
    assert facts["inet"] == ["192.0.2.31"] and facts["inet6"] == ["2001:db8:1::31"]
    assert facts["status"] == "active"
    assert parse_netstat_routes(NETSTAT) == [
        ("0.0.0.0/0", "192.0.2.1"),
        ("127", "127.0.0.1"),
        ("192.0.2", None),
        ("192.0.2.1", None),
    ]


def test_a_vagrant_machine_needs_a_named_box_and_a_provider_it_has(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="name the windows box"):
        VagrantMachine("windows", "", tmp_path)
    with pytest.raises(LabError, match="not 'virtualbox'"):
        VagrantMachine("macos", "my/macos", tmp_path, "virtualbox")
    with pytest.raises(LabError, match="no Vagrantfile for 'freebsd'"):
        VagrantMachine("freebsd", "x", tmp_path)
    machine = VagrantMachine(
        "windows", "my/win11", tmp_path, "virtualbox", {"LEAKCERT_BRIDGE": "b"}
    )
    env = machine.env()
    assert env["LEAKCERT_BOX"] == "my/win11" and env["LEAKCERT_PROVIDER"] == "virtualbox"
    assert env["VAGRANT_CWD"] == str(VAGRANT_DIR / "windows") and env["LEAKCERT_BRIDGE"] == "b"
    with pytest.raises(LabError, match="not created yet"):
        machine.power_cut_argv()


@pytest.mark.parametrize(
    ("os_name", "provider", "argv"),
    [
        ("windows", "libvirt", ["virsh", "-c", "qemu:///system", "reset", "ID"]),
        ("windows", "virtualbox", ["VBoxManage", "controlvm", "ID", "reset"]),
        ("macos", "vmware_desktop", ["vmrun", "reset", "ID", "hard"]),
        ("macos", "parallels", ["prlctl", "reset", "ID"]),
    ],
)
def test_a_power_cut_is_the_providers_hard_reset(tmp_path, os_name, provider, argv) -> None:
    machine = VagrantMachine(os_name, "my/box", tmp_path, provider)
    folder = tmp_path / "dot" / "machines" / "guest" / provider
    folder.mkdir(parents=True)
    (folder / "id").write_text("ID\n")
    assert machine.power_cut_argv() == argv


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is missing (bin/install-deps)")
@pytest.mark.parametrize("os_name", ["windows", "macos"])
def test_the_vagrantfiles_load_and_refuse_to_run_without_a_box(os_name: str, tmp_path) -> None:
    machine = VagrantMachine(os_name, "my/box", tmp_path)
    env = {k: v for k, v in machine.env().items() if k != "LEAKCERT_BOX"}
    env["VAGRANT_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(["vagrant", "validate"], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "LEAKCERT_BOX is not set (name your" in proc.stdout + proc.stderr


def _lane(os_name: str, tmp_path: Path) -> None:
    variable = f"LEAKCERT_{os_name.upper()}_BOX"
    box = os.environ.get(variable)
    if not box:
        what = {
            "windows": "a Windows 11 Vagrant box for libvirt or VirtualBox with WinRM",
            "macos": "a macOS Vagrant box for VMware or Parallels, on Apple hardware",
        }[os_name]
        pytest.skip(f"no {os_name} box: set {variable} to {what} (none can be downloaded here)")
    provider = os.environ.get(f"LEAKCERT_{os_name.upper()}_PROVIDER")
    guest = make_guest(os_name, box, tmp_path, provider, os.environ.get("LEAKCERT_BRIDGE"))
    try:
        guest.power_on()
        walk(guest, os.environ.get("LEAKCERT_UPLINK", UPLINKS[os_name]))
    finally:
        guest.machine.destroy()


def test_the_windows_guest_keeps_the_contract(tmp_path: Path) -> None:
    _lane("windows", tmp_path)


def test_the_macos_guest_keeps_the_contract(tmp_path: Path) -> None:
    _lane("macos", tmp_path)
