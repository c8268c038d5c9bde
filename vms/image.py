"""The guest image: Debian 12 built from Debian's packages with mmdebstrap, cached
under a hash of its inputs.

    image = build()        # or cached: /var/cache/leakcert/vms/<hash>/
    image.kernel, image.initrd, image.disk     # direct boot: no bootloader

The disk is one ext4 filesystem (no partition table) as qcow2, so that every
case runs on a copy-on-write overlay of it and the cache is never written.
The initrd holds only the virtio and ext4 modules (initramfs-tools'
`MODULES=list`): the rest load from the disk. Everything the netns client has
for a subject is in it (wireguard-tools and wireguard-go, openvpn, nftables,
iptables, ufw, curl, dig, python3), with systemd, ifupdown and dhclient to
bring the network up at boot as a Debian server does, an SSH server, and the
QEMU guest agent: the lane's only way into the guest (`vms.agent`).

The hash covers everything that decides the image: the suite, the package
list, the files written into it and this builder's version. A build goes to
a temporary folder first and is renamed into place whole, so a cache entry
is complete or absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from vms import guest_files

CACHE = Path(os.environ.get("LEAKCERT_VM_CACHE", "/var/cache/leakcert/vms"))
SUITE = "bookworm"
BUILDER_VERSION = "1"
DISK_SIZE = "2G"
PACKAGES = (
    # the operating system, booted straight from its kernel
    "linux-image-amd64",
    "systemd",
    "systemd-sysv",
    "udev",
    "kmod",
    "dbus",
    "iproute2",
    "procps",
    "ifupdown",
    "isc-dhcp-client",
    "qemu-guest-agent",
    "openssh-server",
    # what a subject may use, as on the netns client
    "wireguard-tools",
    "wireguard-go",
    "openvpn",
    "nftables",
    "iptables",
    "ufw",
    "curl",
    "dnsutils",
    "iputils-ping",
    "python3",
    # real Wi-Fi in the guest (mac80211_hwsim is in the kernel's modules)
    "iw",
    "wpasupplicant",
    "hostapd",
)
# The kernel line for direct boot: the root is the whole disk; eth0, as the
# guest's files name it; mitigations cost time under TCG and protect nothing here.
KERNEL_ARGS = "root=/dev/vda rw console=ttyS0 net.ifnames=0 mitigations=off quiet"


class ImageError(Exception):
    """The image could not be built (one line)."""


@dataclass(frozen=True)
class Image:
    """A built guest image in its cache folder."""

    folder: Path

    @property
    def kernel(self) -> Path:
        return self.folder / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.folder / "initrd.img"

    @property
    def disk(self) -> Path:
        return self.folder / "disk.qcow2"

    @property
    def manifest(self) -> dict:
        return json.loads((self.folder / "manifest.json").read_text())

    @property
    def platform(self) -> str:
        """How results name this guest: `debian-12 (linux <kernel>)`."""
        return f"debian-12 (linux {self.manifest['kernel']})"


def inputs() -> dict:
    """Everything that decides the image, as its hash sees it."""
    return {
        "builder": BUILDER_VERSION,
        "suite": SUITE,
        "packages": sorted(PACKAGES),
        "disk_size": DISK_SIZE,
        "files": guest_files.FILES,
        "customize": guest_files.CUSTOMIZE,
    }


def digest() -> str:
    text = json.dumps(inputs(), sort_keys=True).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def cached(cache: Path = CACHE) -> Image | None:
    folder = cache / digest()
    return Image(folder) if (folder / "manifest.json").is_file() else None


def build(cache: Path = CACHE, log=print) -> Image:
    """The image for today's inputs: from the cache, or built (about 2 minutes)."""
    image = cached(cache)
    if image is not None:
        return image
    for tool in ("mmdebstrap", "mkfs.ext4", "qemu-img"):
        if shutil.which(tool) is None:
            raise ImageError(f"{tool} is missing (bin/install-deps installs it)")
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / digest()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".build-", dir=cache) as tmp:
        work = Path(tmp)
        root = work / "root"
        out = work / "image"
        out.mkdir()
        log(f"vms: building the guest image {final.name} with mmdebstrap")
        _mmdebstrap(root, work)
        kernel = _take_boot_files(root, out)
        raw = work / "disk.raw"
        _run(["mkfs.ext4", "-q", "-L", "guest", "-d", str(root), str(raw), DISK_SIZE])
        _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out / "disk.qcow2")])
        manifest = {
            "inputs": inputs(),
            "kernel": kernel,
            "kernel_args": KERNEL_ARGS,
            "packages": _versions(root),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.monotonic() - started, 1),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
        shutil.rmtree(final, ignore_errors=True)
        out.rename(final)
    log(f"vms: guest image ready in {time.monotonic() - started:.0f} s: {final}")
    return Image(final)


def _mmdebstrap(root: Path, work: Path) -> None:
    files = work / "files"
    for relative, text in guest_files.FILES.items():
        path = files / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if relative in guest_files.EXECUTABLE:
            path.chmod(0o755)
    _run(
        [
            "mmdebstrap",
            "--mode=root",
            "--variant=apt",
            "--include=" + ",".join(PACKAGES),
            "--dpkgopt=path-exclude=/usr/share/{doc,man,info,locale}/*",
            # Before any package: the initrd's module list is read when the kernel installs.
            f'--setup-hook=mkdir -p "$1/etc" && cp -a {files}/etc/initramfs-tools "$1/etc/"',
            f'--customize-hook=cp -a {files}/. "$1/"',
            "--customize-hook=" + guest_files.CUSTOMIZE,
            SUITE,
            str(root),
        ]
    )


def _take_boot_files(root: Path, out: Path) -> str:
    """Copy the kernel and initrd out of /boot; the kernel's version."""
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise ImageError("the image has no kernel in /boot")
    version = kernels[-1].name.removeprefix("vmlinuz-")
    shutil.copy2(kernels[-1], out / "vmlinuz")
    shutil.copy2(root / "boot" / f"initrd.img-{version}", out / "initrd.img")
    return version


def _versions(root: Path) -> dict[str, str]:
    out = _run(["chroot", str(root), "dpkg-query", "-W", "-f", "${Package} ${Version}\\n"])
    pairs = (line.split(" ", 1) for line in out.splitlines() if " " in line)
    return {name: version for name, version in pairs if name in PACKAGES}


def _run(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace")
    except OSError as exc:
        raise ImageError(f"{argv[0]}: {exc.strerror}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise ImageError(f"{argv[0]} failed ({proc.returncode}): {last}")
    return proc.stdout
