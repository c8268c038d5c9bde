"""Guest lane benchmark: the image, the guest's boot, its snapshot restore, its cases.

    sudo python3 benchmarks/vms_bench.py [--cold] [--lane]

Prints: the image build from the cache (and with --cold, from nothing, into a
scratch cache: minutes); power-on to a guest whose boot is done (a cold boot
of the image); a restore of the warm snapshot to a guest that answers; the
time of one case in the guest (boot.before-connect, reference); and with
--lane the whole lane's wall time (both guest cases for reference and none,
as `tox -e vms` runs them). The machine's load is printed beside them: TCG
shares the machine's two cores with everything else that runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vms.cases import GUEST_CASES, REBOOT
from vms.image import build
from vms.lab import GuestLab
from vms.lane import run_guest_case

REFERENCE = str(Path(__file__).resolve().parents[1] / "vms" / "subjects" / "reference")


def timed(what: str, action):
    start = time.perf_counter()
    value = action()
    seconds = time.perf_counter() - start
    load = os.getloadavg()[0]
    print(f"{what:<44} {seconds:8.1f} s   (load {load:.1f})", flush=True)
    return value


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also build the image from nothing")
    parser.add_argument("--lane", action="store_true", help="also run the whole lane")
    args = parser.parse_args()
    if args.cold:
        with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
            timed(
                "image build, cold (mmdebstrap)", lambda: build(Path(scratch), log=lambda _: None)
            )
    image = timed("image build, cached", build)
    with tempfile.TemporaryDirectory() as tmp:
        with GuestLab(image, Path(tmp) / "cold") as lab:
            timed("power-on to boot done (cold boot)", lambda: lab.power_on(warm=False))
        with GuestLab(image, Path(tmp) / "warm") as lab:
            lab.power_on()  # makes the warm snapshot if the image has none yet
        with GuestLab(image, Path(tmp) / "restore") as lab:
            timed("snapshot restore to an answering guest", lab.power_on)
            timed("one command in the guest (agent round trip)", lambda: lab.client.run("true"))
        result = timed(
            f"one case: {REBOOT.id} (reference)",
            lambda: run_guest_case(REFERENCE, REBOOT, Path(tmp) / "case", image),
        )
        print(f"  {result.verdict.value}: {result.reason}; phases {result.evidence.get('phases')}")
        if args.lane:

            def lane() -> list[str]:
                verdicts = []
                for subject in (REFERENCE, "none"):
                    for case in GUEST_CASES:
                        r = run_guest_case(
                            subject, case, Path(tmp) / f"lane-{len(verdicts)}", image
                        )
                        verdicts.append(f"{r.subject} {case.id} {r.verdict.value}")
                return verdicts

            for line in timed("the whole lane (2 subjects x 2 cases)", lane):
                print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
