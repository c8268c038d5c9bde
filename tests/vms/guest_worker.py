"""A guest lab in its own process, powered on, that waits to be killed (the SIGKILL test).

Prints one JSON line with its lab id once its guest answers.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from vms.image import build
from vms.lab import GuestLab


def main() -> None:
    workdir = Path(sys.argv[1])
    with GuestLab(build(), workdir) as lab:
        lab.power_on()
        pid = lab.client._qemu.pid
        print(json.dumps({"lab_id": lab.lab_id, "qemu": pid}), flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
