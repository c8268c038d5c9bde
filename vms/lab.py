"""The lab with a VM guest as its client: the netns lab's router, VPN server,
internet hosts, capture and judge, with the client namespace left empty and a
whole operating system on the router's `wire`.

    with GuestLab(image, workdir) as lab:   # router, vpn, net; the tap `wire` on lan1
        lab.start_capture(pcap)             # before power-on: the boot is on the wire
        lab.power_on()                      # a warm snapshot when there is one
        ...

    GuestLab(image, workdir, wifi=True)     # the guest's uplink is a Wi-Fi station

The guest's NIC is a tap the lab creates in the router's namespace and
enslaves to lan1 before QEMU opens it, so the capture runs from before
power-on and through every reboot. QEMU runs in the lab's cgroup
(`<lab>/vm`) and the tap in the lab's namespace: the lab's registry record
already names both, so teardown, and the sweep of a lab whose owner died
(SIGKILL), remove the VM and its tap with the rest.

With `wifi=True` the guest boots with `leakcert.uplink=wifi` on its kernel
line: its uplink is the Wi-Fi station `wlan0`, associated to an access point
of its own bridged to the tap (`vms.guest_files`), and the lab's facts (the
client's MAC, its settings, the sentinel) are the station's; what the lab does
to the Wi-Fi is in `vms.lab_wifi`. Each uplink has its own warm snapshot.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from netns.capture import SENTINEL_ETHERTYPE, IncompleteCapture
from netns.errors import LabError
from netns.lab import Lab
from netns.stream import StreamSummary
from netns.topology import LAN1, WIRE
from netns.wait import Wake, until
from vms import contract, guest_files
from vms.guest import QemuGuest
from vms.image import KERNEL_ARGS, Image
from vms.lab_wifi import GuestWifi

# The guest's stream is slower than the netns client's: python under TCG on
# shared cores cannot pace 1,200 packets a second, and a stream that starves
# the guest's boot would change what it shows.
GUEST_STREAM_RATE = 150.0
WARM = "warm"  # the snapshot every case starts from: booted, idle, nothing of a subject


# Run by the guest's python3: {pid: argv} of the processes in the cgroups its
# arguments name (globs), read from /proc in one command, not a round trip each.
_SUBJECT_PROCESSES = """\
import glob, json, sys
found = {}
for pattern in sys.argv[1:]:
    for procs in glob.glob(pattern):
        for pid in open(procs).read().split():
            try:
                argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")[:-1]
            except OSError:
                continue
            found[pid] = [arg.decode(errors="replace") for arg in argv]
print(json.dumps(found))
"""


class GuestDhcp:
    """The guest's own DHCP client (ifupdown's dhclient on its uplink), as triggers drive it."""

    def __init__(self, guest: QemuGuest, uplink: str) -> None:
        self.guest = guest
        self.uplink = uplink

    @property
    def _pidfile(self) -> str:
        return f"/run/dhclient.{self.uplink}.pid"

    def stop(self) -> None:
        """Stop the running dhclient without releasing its lease (SIGTERM), as the netns lab's."""
        self.guest.run(
            'pid=$(cat %s 2>/dev/null) && kill "$pid" && while kill -0 "$pid" 2>/dev/null;'
            " do sleep 0.05; done; true",
            self._pidfile,
        )

    def start(self, timeout: float = 30.0) -> None:
        """A new dhclient asks (INIT-REBOOT with the lease it knows) and is bound, or fails."""
        self.stop()
        self.guest.run(
            "dhclient -4 -1 -v -pf %s -lf %s %s >%s 2>&1",
            self._pidfile,
            f"/var/lib/dhcp/dhclient.{self.uplink}.leases",
            self.uplink,
            "/run/leakcert-dhclient.log",
            timeout=timeout,
        )

    def renew(self, timeout: float = 30.0) -> None:
        """A fresh lease with the server's current options, as after a link comes back."""
        self.start(timeout)


class GuestLab(GuestWifi, Lab):
    """A `netns.lab.Lab` whose client is a `QemuGuest`."""

    def __init__(
        self, image: Image, workdir: Path | None = None, wifi: bool = False, **options: object
    ) -> None:
        self.wifi = wifi
        super().__init__(workdir, boot_client=False, **options)
        self.image = image
        self.vm: QemuGuest | None = None  # (`guest` is the netns lab's container behind a client)
        self._stream_on = False
        self._stream_rate: float | None = None  # installed on the guest at this rate

    @property
    def uplink(self) -> str:  # type: ignore[override]
        """The guest's uplink: its Wi-Fi station, or eth0."""
        return guest_files.STATION if self.wifi else guest_files.UPLINK

    @property
    def client(self) -> QemuGuest:  # type: ignore[override]
        if self.vm is None:
            raise LabError("the lab has no guest yet")
        return self.vm

    @property
    def platform(self) -> str:
        return self.image.platform

    def _wire_client(self) -> None:
        self.router.run("ip tuntap add dev %s mode tap", WIRE)
        with self.router.iproute() as ipr:
            wire = ipr.link_lookup(ifname=WIRE)[0]
            ipr.link("set", index=wire, master=ipr.link_lookup(ifname=LAN1.bridge)[0], state="up")

    def _prepare_client(self) -> None:
        """Nothing: the guest's OS sets its own DHCP and kernel (the namespace stays empty)."""

    def _ask_lease(self) -> None:
        """Nothing: the guest asks for its own lease once it runs (`_start_client`)."""

    def _start_client(self) -> None:
        self.vm = QemuGuest(
            self.image,
            self.workdir / "guest",
            self.router,
            self._cgroup.child("vm"),
            self.transcript,
            f"{KERNEL_ARGS} {guest_files.WIFI_ARG}" if self.wifi else KERNEL_ARGS,
        )
        self.dhcp = GuestDhcp(self.vm, self.uplink)

    def carrier(self, up: bool) -> None:
        """The guest's NIC loses or regains carrier (QEMU's link state: a tap's own does not
        reach the guest's driver)."""
        self.client.set_link(up)
        until(
            f"the guest's carrier to be {'up' if up else 'down'}",
            lambda: self.client_has_carrier() == up,
        )

    # ------------------------------------------------------------- the subject's processes

    def subject_processes(self) -> dict[int, list[str]]:
        """The subject's live processes in the guest (every hook's scope, its boot unit): argv."""
        out = self.client.run(
            "python3 -c %s %s %s",
            _SUBJECT_PROCESSES,
            f"{contract.SUBJECT_CGROUPS[0]}/*/cgroup.procs",
            f"{contract.SUBJECT_CGROUPS[1]}/cgroup.procs",
        ).stdout
        return {int(pid): argv for pid, argv in json.loads(out).items()}

    def subject_pids(self) -> set[int]:
        return set(self.subject_processes())

    def exited(self, pids: set[int], timeout: float) -> set[int]:
        """Those of `pids` that have died, waiting (in the guest) up to `timeout` for the first."""
        words = " ".join(map(str, sorted(pids)))
        self.client.run(
            f"timeout {timeout:g} sh -c 'while for p in {words}; do kill -0 $p || exit; done;"
            " do sleep 0.02; done' 2>/dev/null; true"
        )
        return pids - self.subject_pids()

    def freeze_subject(self) -> None:
        """Every process of the subject stops (sleep): cgroup.freeze on each of its cgroups."""
        self._freeze(True)

    def thaw_subject(self) -> None:
        self._freeze(False)

    def _freeze(self, frozen: bool) -> None:
        state = int(frozen)
        self.client.run(
            f'for g in {" ".join(contract.SUBJECT_CGROUPS)}; do [ -d "$g" ] || continue;'
            f' echo {state} >"$g/cgroup.freeze";'
            f' until grep -qx "frozen {state}" "$g/cgroup.events"; do sleep 0.02; done; done'
        )

    def kill_hook(self, hook: str) -> None:
        """SIGKILL to what every run of `hook` left running: its scopes' cgroups."""
        self._kill_cgroups(f"{contract.SUBJECT_CGROUPS[0]}/leakcert-hook-{hook}-*.scope")

    def kill_subject(self) -> None:
        self._kill_cgroups(" ".join(contract.SUBJECT_CGROUPS))

    def _kill_cgroups(self, paths: str) -> None:
        """cgroup.kill each cgroup `paths` names (shell words, globs) and wait until it is empty."""
        self.client.run(
            f'for g in {paths}; do [ -d "$g" ] || continue; echo 1 >"$g/cgroup.kill";'
            ' while grep -qx "populated 1" "$g/cgroup.events"; do sleep 0.02; done; done'
        )

    def tunnel_processes(self) -> list[int]:
        """wireguard-go serving the tunnel's interface, among the subject's processes."""
        return sorted(
            pid
            for pid, argv in self.subject_processes().items()
            if argv
            and os.path.basename(argv[0]) == "wireguard-go"
            and self.tunnel.interface in argv[1:]
        )

    def kill_tunnel(self) -> list[int]:
        pids = self.tunnel_processes()
        if not pids:
            raise LabError("no wireguard-go process of the guest's tunnel is running")
        words = " ".join(map(str, pids))
        self.client.run(
            f"kill -KILL {words}; for p in {words}; do"
            ' while kill -0 "$p" 2>/dev/null; do sleep 0.02; done; done'
        )
        return pids

    def use_userspace_tunnel(self) -> None:
        """Refuse the kernel's WireGuard module, so wg-quick falls back to wireguard-go."""
        self.client.run(
            "modprobe -r wireguard 2>/dev/null; echo 'install wireguard /bin/false'"
            " >/etc/modprobe.d/leakcert-userspace-tunnel.conf && test ! -e /sys/module/wireguard"
        )

    def client_wake(self) -> AbstractContextManager[Wake | None]:
        """Nothing announces the guest's changes to the host: waits look again instead."""
        return nullcontext()

    def teardown(self) -> None:
        if self.vm is not None:
            self.vm.power_off()
        super().teardown()

    # ------------------------------------------------------------- power

    def power_on(self, warm: bool = True) -> str:
        """Start the guest: from the image's warm snapshot (made here the first time), or cold.

        Returns how: "restored" or "booted".
        """
        guest = self.client
        snapshot = self.image.folder / (f"{WARM}-wifi.qcow2" if self.wifi else f"{WARM}.qcow2")
        if warm and snapshot.exists():
            disk = guest.folder / "disk.qcow2"
            shutil.copyfile(snapshot, disk)
            guest.power_on(disk=disk, snapshot=WARM)
            # The snapshot's lease is another lab's, and as old as the snapshot by the
            # clock just set: dhclient would find it expired at its next wake-up and
            # drop the address mid-case. The guest asks this lab's server for a lease
            # first, as a machine does when it wakes.
            self.dhcp.start()
            return "restored"
        guest.power_on()
        if warm:
            self._save_warm(snapshot)
        return "booted"

    def _save_warm(self, snapshot: Path) -> None:
        """Keep this fresh boot, memory and disk, as the image's warm snapshot."""
        guest = self.client
        with open(self.image.folder / f".{snapshot.stem}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if snapshot.exists():
                return
            guest.save(WARM)
            tmp = snapshot.with_name(f".{WARM}-{os.getpid()}.qcow2")
            shutil.copyfile(guest.disk, tmp)
            tmp.replace(snapshot)

    # ------------------------------------------------------------- facts the lab reads

    def delete_routes(self, dev: str) -> int:
        """Another program deletes every route through `dev`, in every table; returns how many."""
        deleted = 0
        for family in ("-4", "-6"):
            shown = self.client.run(
                "ip -j %s route show table all dev %s type unicast", family, dev, check=False
            )
            if not shown.ok:  # the interface is gone: no route goes through it
                return deleted
            for route in json.loads(shown.stdout or "[]"):
                key = [route["dst"], "dev", dev, "table", str(route.get("table", "main"))]
                if "metric" in route:
                    key += ["metric", str(route["metric"])]
                self.client.run("ip %s route del" + " %s" * len(key), family, *key)
                deleted += 1
        return deleted

    def send_sentinel(self, payload: bytes) -> None:
        """The sentinel leaves the guest's uplink, last, as every frame before it did
        (on Wi-Fi: through the air and the access point's bridge)."""
        frame = SENTINEL_ETHERTYPE.to_bytes(2, "big").hex() + payload.hex()
        script = (
            "import socket,sys\n"
            "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
            f"s.bind(('{self.uplink}',0))\n"
            "mac=open('/sys/class/net/%s/address'%sys.argv[1]).read().strip().replace(':','')\n"
            "s.send((bytes.fromhex('ff'*6+mac)+bytes.fromhex(sys.argv[2])).ljust(60,b'\\0'))\n"
        )
        result = self.client.run("python3 -c %s %s %s", script, self.uplink, frame, check=False)
        if not result.ok:
            raise IncompleteCapture(f"cannot send the sentinel frame: {result.stderr.strip()}")

    # ------------------------------------------------------------- the stream, a guest service

    def install_stream(self, rate: float = GUEST_STREAM_RATE) -> None:
        """Install the stream on the guest as a service started at every boot, not started yet.

        Made durable here (`sync`), before the subject's connect hook: a power cut
        must not take the lane's application away, and the lane's sync must not
        make durable what the subject itself wrote (that is the subject's job).
        """
        self._stream_rate = rate
        args = " ".join([f"{rate:g}", *self.stream_destinations()])
        guest = self.client
        guest.put(guest_files.STREAM_ENV, f"STREAM_ARGS={args}\n".encode())
        guest.run("rm -f %s && systemctl enable leakcert-stream && sync", guest_files.STREAM_OUT)

    def start_stream(self, rate: float = GUEST_STREAM_RATE) -> None:
        """Start the installed stream (`install_stream`) now."""
        if self._stream_on:
            raise LabError("a stream is already running")
        if self._stream_rate != rate:
            self.install_stream(rate)
        guest = self.client
        guest.run("systemctl start leakcert-stream")
        # Waited for inside the guest: one command, not a round trip per look.
        guest.run("until grep -qs 'stream ready' %s; do sleep 0.05; done", guest_files.STREAM_OUT)
        self._stream_on = True

    def stop_stream(self) -> StreamSummary:
        """Stop the stream; what every boot's run of it sent, added up.

        A run ended by a power cut prints nothing: its packets are on the wire, not in the sum.
        """
        if not self._stream_on:
            raise LabError("no stream is running")
        self._stream_on = False
        guest = self.client
        guest.run("systemctl disable --now leakcert-stream")
        runs = []
        for line in guest.get(guest_files.STREAM_OUT).decode(errors="replace").splitlines():
            try:
                runs.append(json.loads(line))
            except ValueError:
                continue
        runs = [r for r in runs if isinstance(r, dict) and "packets" in r]
        if not runs:
            raise LabError("the guest's stream printed no summary")
        return StreamSummary(
            self._stream_rate,
            self.stream_destinations(),
            sum(r["packets"] for r in runs),
            sum(r["sent"] for r in runs),
            sum(r["refused"] for r in runs),
            round(sum(r["seconds"] for r in runs), 3),
        )
