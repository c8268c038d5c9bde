"""Guest lane benchmark, the Vagrant path: the box, `vagrant up`, a snapshot's save and restore.

    sudo python3 benchmarks/vms_vagrant_bench.py

Prints: packaging the image as a Vagrant box (from beside the image when it
is there); `vagrant up` of the lane's box on the lab's own libvirt (the box
uploaded into the lab's pool, a boot under TCG, Vagrant's SSH check); a
snapshot saved (`vagrant snapshot save`) and restored to a guest that answers
(`vagrant snapshot restore`); one command through the guest agent; and the
teardown (the machine, the pool, the network, the daemons). The machine's
load is printed beside them: TCG shares the machine's two cores with
everything else that runs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vms_bench import timed
from vms.image import build
from vms.vagrant import VagrantLab
from vms.vagrant_box import package


def main() -> int:
    image = build()
    timed("Vagrant box of the image (packaged or found)", lambda: package(image))
    with tempfile.TemporaryDirectory() as tmp:
        lab = VagrantLab(image, Path(tmp)).__enter__()
        try:
            timed("vagrant up (box upload, boot, SSH check)", lab.power_on)
            guest = lab.client
            timed("vagrant snapshot save", lambda: guest.save("bench"))
            timed("vagrant snapshot restore to an answering guest", lambda: guest.restore("bench"))
            timed("one command in the guest (virsh, agent)", lambda: guest.run("true"))
        finally:
            timed("teardown (destroy, pool, network, daemons)", lambda: lab.__exit__(None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
