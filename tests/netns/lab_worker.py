"""One lab in its own process, for the isolation tests.

Prints one JSON line. With --hold it prints as soon as the lab is built and
waits to be killed (the SIGKILL test); otherwise it brings the tunnel up,
checks traffic and its own capture, and tears down.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from netns import topology
from netns.capture import read_frames
from netns.lab import Lab


def main() -> None:
    workdir = Path(sys.argv[1])
    workdir.mkdir(parents=True, exist_ok=True)
    with Lab(workdir) as lab:
        if "--hold" in sys.argv:
            print(json.dumps({"lab_id": lab.lab_id}), flush=True)
            while True:
                time.sleep(3600)
        pcap = workdir / "wire.pcap"
        lab.start_capture(pcap)
        lab.client.run(
            "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up %s",
            lab.tunnel.config,
            cgroup=lab.subject_cgroup,
        )
        page = lab.client.run("curl -sf -m 5 http://%s/", topology.WEB.address4).stdout
        stun = lab.client.run(
            "timeout 2 turnutils_stunclient %s", topology.STUN.address4, check=False
        )
        mapped = re.search(r"UDP reflexive addr: ([0-9.]+):", stun.stdout)
        lab.stop_capture()
        own = {lab.client_mac().lower()}
        with lab.router.iproute() as ipr:
            own |= {link.get_attr("IFLA_ADDRESS").lower() for link in ipr.get_links()}
        macs = {f.src.lower() for f in read_frames(pcap)}
        report = {
            "lab_id": lab.lab_id,
            "through_tunnel": page,
            "stun_mapped": mapped.group(1) if mapped else None,
            "foreign_macs": sorted(macs - own),
        }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
