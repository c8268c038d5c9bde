"""A Vagrant lab in its own process, its guest up, that waits to be killed (the SIGKILL test).

Prints one JSON line with its lab id and the pids of libvirtd, virtlogd and QEMU.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

from vms.image import build
from vms.vagrant import VagrantLab


def main() -> None:
    workdir = Path(sys.argv[1])
    with VagrantLab(build(), workdir) as lab:
        lab.power_on()
        pids = {**lab.libvirt.pids(), "qemu": _qemu(lab.client.domain)}
        print(json.dumps({"lab_id": lab.lab_id, "pids": pids}), flush=True)
        while True:
            time.sleep(3600)


def _qemu(domain: str) -> int:
    """The pid of the domain's QEMU (its pid file is in libvirt's private /run)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if f"guest={domain},".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
    raise SystemExit(f"no QEMU for {domain}")


if __name__ == "__main__":
    main()
