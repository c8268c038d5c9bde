"""The subject contract inside a guest: the same subject.toml and hooks, run by
the guest's own /bin/sh as root, with the `KS_*` variables set to the guest's
paths.

What differs from the netns client, because the guest is a whole OS:
- `boot` runs at every real boot, before `network-pre.target`, by systemd
  (`leakcert-subject-boot.service` in the image): not by the lab;
- `KS_RUN_DIR` is on a tmpfs (/run): a reboot empties it for real;
- `PYTHON` is the guest's python3, with leakcert's packages (the enforcer, the
  probes, the stream) copied to /opt/leakcert;
- a hook's output is its log in the guest (/var/lib/leakcert/hooks/), read
  back whole after it returns.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

from conformance.subject import HookFailed, HookRun, Subject
from netns.errors import LabError
from netns.tunnel import Tunnel
from vms import guest_files as gf
from vms.guest import QemuGuest

CHECKOUT = Path(__file__).resolve().parents[1]
# What of leakcert runs inside the guest: the enforcer, the probes and the stream
# (standard library only, so the guest's python3 runs them as they are).
GUEST_CODE = (
    "enforcer",
    "conformance/__init__.py",
    "conformance/probes.py",
    "netns/__init__.py",
    "netns/stream.py",
)
TUNNEL_DIR = f"{gf.LEAKCERT}/tunnel"
HOOK_LOGS = f"{gf.LEAKCERT}/hooks"


def _tar(members: list[tuple[Path, str]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, name in members:
            tar.add(path, arcname=name, filter=_no_cache)
    return buffer.getvalue()


def _no_cache(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in info.name else info


def _unpack(guest: QemuGuest, data: bytes, folder: str) -> None:
    guest.put("/tmp/leakcert.tar", data)
    guest.run(
        "rm -rf %s && mkdir -p %s && tar -xf /tmp/leakcert.tar -C %s && rm /tmp/leakcert.tar",
        folder,
        folder,
        folder,
    )


def environment(tunnel: Tunnel) -> dict[str, str]:
    """The KS_* variables, as the guest's hooks see them."""
    return {
        "PYTHON": "/usr/bin/python3",
        "PYTHONPATH": gf.CODE,
        "KS_TUNNEL_CONFIG": f"{TUNNEL_DIR}/{tunnel.config.name}",
        "KS_TUNNEL_IF": tunnel.interface,
        "KS_ENDPOINT_IP": tunnel.endpoint_ip,
        "KS_ENDPOINT_PORT": str(tunnel.endpoint_port),
        "KS_ENDPOINT_PROTO": tunnel.endpoint_proto,
        "KS_VPN_DNS": tunnel.vpn_dns,
        "KS_TUNNEL_ADDR4": tunnel.address4,
        "KS_TUNNEL_ADDR6": tunnel.address6,
        "KS_UPLINK_IF": gf.UPLINK,
        "KS_STATE_DIR": gf.STATE_DIR,
        "KS_RUN_DIR": gf.RUN_DIR,
    }


def install(guest: QemuGuest, subject: Subject, tunnel: Tunnel) -> None:
    """Copy leakcert's guest code, the subject's folder and the tunnel's config into the guest,
    and tell the boot unit the subject's boot hook (if any)."""
    _unpack(guest, _tar([(CHECKOUT / part, part) for part in GUEST_CODE]), gf.CODE)
    _unpack(guest, _tar([(subject.folder, ".")]), gf.SUBJECT_DIR)
    _unpack(guest, _tar([(tunnel.config, tunnel.config.name)]), TUNNEL_DIR)
    variables = {**environment(tunnel), "LEAKCERT_BOOT_HOOK": subject.hooks.get("boot", "")}
    # systemd's EnvironmentFile: one KEY="value" a line, with C-style escapes.
    lines = [f'{k}="{_escape(v)}"' for k, v in variables.items()]
    guest.put(gf.HOOKS_ENV, ("\n".join(lines) + "\n").encode(), mode=0o600)
    guest.run("mkdir -p %s %s %s && systemctl daemon-reload", gf.STATE_DIR, gf.RUN_DIR, HOOK_LOGS)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def run_hook(
    guest: QemuGuest, subject: Subject, tunnel: Tunnel, hook: str, timeout: float
) -> HookRun:
    """Run one hook in the guest, from the subject's folder; HookFailed when it fails."""
    runs = guest.run("ls %s | grep -c ^%s- || true", HOOK_LOGS, hook).stdout.strip() or "0"
    log = f"{HOOK_LOGS}/{hook}-{int(runs) + 1}.log"
    start = time.monotonic()
    try:
        result = guest.run(
            'cd %s && exec /bin/sh -c "$LEAKCERT_HOOK" </dev/null >%s 2>&1',
            gf.SUBJECT_DIR,
            log,
            check=False,
            timeout=timeout,
            env={**environment(tunnel), "LEAKCERT_HOOK": subject.hooks[hook]},
        )
        code: int | None = result.rc
    except LabError:
        code = None  # past its timeout
    output = guest.get(log).decode(errors="replace")
    run = HookRun(hook, code, output, time.monotonic() - start)
    if run.exit != 0:
        raise HookFailed(run)
    return run
