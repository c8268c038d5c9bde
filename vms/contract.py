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
  back whole after it returns;
- every hook runs in a transient scope of `leakcert-subject.slice`, its
  cgroup: what it leaves running is found and killed there (a crash).
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

from conformance.subject import HookFailed, HookRun, Subject
from netns import home
from netns.errors import LabError
from netns.tunnel import Tunnel
from vms import guest_files as gf
from vms.guest import QemuGuest

# Every hook run is a transient scope in one slice, as the netns lab gives each
# hook a cgroup: what a hook leaves running stays counted and killable there.
SUBJECT_SLICE = "leakcert-subject.slice"
SUBJECT_CGROUPS = (
    "/sys/fs/cgroup/leakcert.slice/leakcert-subject.slice",
    "/sys/fs/cgroup/system.slice/leakcert-subject-boot.service",  # the boot hook's unit
)


def hook_scope(hook: str, nth: int) -> str:
    """The transient scope unit the `nth` run of `hook` runs in (its cgroup)."""
    return f"leakcert-hook-{hook}-{nth}.scope"


CHECKOUT = home.HOME  # leakcert's packages: a checkout, or site-packages
# What of leakcert runs inside the guest: the enforcer, the probes and the stream
# with the addresses they send to (standard library only, so the guest's python3
# runs them as they are).
GUEST_CODE = (
    "enforcer",
    "conformance/__init__.py",
    "conformance/probes.py",
    "netns/__init__.py",
    "netns/stream.py",
    "netns/topology.py",
)
TUNNEL_DIR = f"{gf.LEAKCERT}/tunnel"
HOOK_LOGS = f"{gf.LEAKCERT}/hooks"


def _tar(members: list[tuple[str, Path | bytes]]) -> bytes:
    """A tar of (name in the guest, relative to /; a file or folder of ours, or bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, source in members:
            if isinstance(source, bytes):
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(source), 0o600
                tar.addfile(info, io.BytesIO(source))
            else:
                tar.add(source, arcname=name, filter=_no_cache)
    return buffer.getvalue()


def _no_cache(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in info.name else info


def environment(tunnel: Tunnel, uplink: str = gf.UPLINK) -> dict[str, str]:
    """The KS_* variables, as the guest's hooks see them (`uplink`: eth0, or the Wi-Fi station)."""
    return {
        "PYTHON": "/usr/bin/python3",
        "PYTHONPATH": gf.CODE,
        "KS_TUNNEL_CONFIG": f"{TUNNEL_DIR}/{tunnel.config.name}",
        "KS_TUNNEL_IF": tunnel.interface,
        "KS_ENDPOINT_IP": tunnel.endpoint_ip,
        "KS_ENDPOINT_PORT": str(tunnel.endpoint_port),
        "KS_ENDPOINT_PROTO": tunnel.endpoint_protocol,
        "KS_VPN_DNS": tunnel.vpn_dns,
        "KS_TUNNEL_ADDR4": tunnel.address4,
        "KS_TUNNEL_ADDR6": tunnel.address6,
        "KS_UPLINK_IF": uplink,
        "KS_STATE_DIR": gf.STATE_DIR,
        "KS_RUN_DIR": gf.RUN_DIR,
        # The guest lane's LANs are the lab's own: no case asks to reach them.
        "KS_LAN_ACCESS": "0",
    }


def install(guest: QemuGuest, subject: Subject, tunnel: Tunnel, uplink: str = gf.UPLINK) -> None:
    """Copy leakcert's guest code, the subject's folder and the tunnel's config into the
    guest, and tell the boot unit the subject's boot hook (if any): one file, one command."""
    variables = {
        **environment(tunnel, uplink),
        "LEAKCERT_BOOT_HOOK": subject.hooks.get("boot", ""),
    }
    # systemd's EnvironmentFile: one KEY="value" a line, with C-style escapes.
    hooks_env = "".join(f'{k}="{_escape(v)}"\n' for k, v in variables.items())
    members: list[tuple[str, Path | bytes]] = [
        (f"{gf.CODE}/{part}".lstrip("/"), CHECKOUT / part) for part in GUEST_CODE
    ]
    members += [
        (gf.SUBJECT_DIR.lstrip("/"), subject.folder),
        (f"{TUNNEL_DIR}/{tunnel.config.name}".lstrip("/"), tunnel.config),
        (gf.HOOKS_ENV.lstrip("/"), hooks_env.encode()),
    ]
    guest.put("/tmp/leakcert.tar", _tar(members))
    guest.run(
        "rm -rf %s %s %s && tar -xf /tmp/leakcert.tar -C / && rm /tmp/leakcert.tar"
        " && mkdir -p %s %s %s && systemctl daemon-reload",
        gf.CODE,
        gf.SUBJECT_DIR,
        TUNNEL_DIR,
        gf.STATE_DIR,
        gf.RUN_DIR,
        HOOK_LOGS,
    )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def run_hook(
    guest: QemuGuest,
    subject: Subject,
    tunnel: Tunnel,
    hook: str,
    timeout: float,
    nth: int,
    uplink: str = gf.UPLINK,
) -> HookRun:
    """Run one hook in the guest, from the subject's folder, as its `nth` run (its log's
    number); HookFailed when it fails."""
    log = f"{HOOK_LOGS}/{hook}-{nth}.log"
    start = time.monotonic()
    try:
        result = guest.run(
            "cd %s && exec systemd-run --scope --quiet --collect --slice=%s --unit=%s"
            ' /bin/sh -c "$LEAKCERT_HOOK" </dev/null >%s 2>&1',
            gf.SUBJECT_DIR,
            SUBJECT_SLICE,
            hook_scope(hook, nth),
            log,
            check=False,
            timeout=timeout,
            env={**environment(tunnel, uplink), "LEAKCERT_HOOK": subject.hooks[hook]},
        )
        code: int | None = result.rc
    except LabError:
        code = None  # past its timeout: stopped with what it started, as in the netns lab
        guest.run(
            'g=%s; [ ! -d "$g" ] || echo 1 >"$g/cgroup.kill"',
            f"{SUBJECT_CGROUPS[0]}/{hook_scope(hook, nth)}",
        )
    output = guest.get(log).decode(errors="replace")
    run = HookRun(hook, code, output, time.monotonic() - start)
    if run.exit != 0:
        raise HookFailed(run)
    return run
