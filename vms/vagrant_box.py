"""The lane's guest image as a Vagrant box for the libvirt provider, packaged
once per image and kept beside it (reused, never rebuilt):

    box = package(image)   # <image>/vagrant/debian-12.box, added to <image>/vagrant/home
    box.path, box.home, box.name

The box is vagrant-libvirt's format: metadata.json, the box's Vagrantfile
(`vms/vagrant/box/Vagrantfile`) and box.img, the image's disk as qcow2, plus
the image's kernel and initrd (the image boots without a bootloader) and an
SSH key made for this box: its public half is root's authorized key in
box.img, written into the filesystem with debugfs (the image is one ext4
filesystem), so the box needs no boot to be made. Vagrant's own SSH check
after `vagrant up` uses it; the lane itself reaches the guest through the
guest agent.

Vagrant's home (boxes, its machine index) is `<image>/vagrant/home`, never the
user's ~/.vagrant.d. A box is packaged in a temporary folder and renamed into
place whole, under a lock, so it is complete or absent.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vms.image import KERNEL_ARGS, Image, ImageError

NAME = "leakcert/debian-12"
BOX_VAGRANTFILE = Path(__file__).parent / "vagrant" / "box" / "Vagrantfile"
# Written into the image's root filesystem by debugfs (uid and gid 0).
DEBUGFS = """\
mkdir /root/.ssh
set_inode_field /root/.ssh mode 040700
write {key} /root/.ssh/authorized_keys
set_inode_field /root/.ssh/authorized_keys mode 0100600
set_inode_field /root/.ssh/authorized_keys uid 0
set_inode_field /root/.ssh/authorized_keys gid 0
"""


@dataclass(frozen=True)
class Box:
    """A packaged box, and the Vagrant home it is added to."""

    folder: Path
    name: str = NAME

    @property
    def path(self) -> Path:
        return self.folder / "debian-12.box"

    @property
    def home(self) -> Path:
        return self.folder / "home"


def package(image: Image, log=print) -> Box:
    """The image's box: from beside the image, or packaged and added now (a minute)."""
    box = Box(image.folder / "vagrant")
    box.folder.mkdir(exist_ok=True)
    with open(box.folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not box.path.exists():
            log(f"vms: packaging the guest image as the Vagrant box {NAME}")
            _package(image, box)
        if not (box.home / "boxes" / NAME.replace("/", "-VAGRANTSLASH-")).is_dir():
            _run(["vagrant", "box", "add", "--force", "--name", NAME, str(box.path)], box.home)
    return box


def box_files(image: Image, folder: Path) -> None:
    """Write the box's files into `folder` (empty): all but the tar around them."""
    key = folder / "key"
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "leakcert-box", "-f", str(key)])
    raw = folder / "disk.raw"
    _run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(image.disk), str(raw)])
    script = folder / "debugfs.cmd"
    script.write_text(DEBUGFS.format(key=f"{key}.pub"))
    _run(["debugfs", "-w", "-f", str(script), str(raw)])
    script.unlink()
    _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(folder / "box.img")])
    raw.unlink()
    size_gib = -(-_virtual_size(folder / "box.img") // (1 << 30))
    metadata = {"provider": "libvirt", "format": "qcow2", "virtual_size": size_gib}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    vagrantfile = BOX_VAGRANTFILE.read_text().replace("@KERNEL_ARGS@", KERNEL_ARGS)
    (folder / "Vagrantfile").write_text(vagrantfile)
    shutil.copy2(image.kernel, folder / "vmlinuz")
    shutil.copy2(image.initrd, folder / "initrd.img")


def _package(image: Image, box: Box) -> None:
    with tempfile.TemporaryDirectory(prefix=".box-", dir=box.folder) as tmp:
        files = Path(tmp) / "files"
        files.mkdir()
        box_files(image, files)
        tmp_box = Path(tmp) / "debian-12.box"
        with tarfile.open(tmp_box, "w") as tar:
            for path in sorted(files.iterdir()):
                tar.add(path, arcname=path.name)
        tmp_box.rename(box.path)


def _virtual_size(path: Path) -> int:
    out = _run(["qemu-img", "info", "--output=json", str(path)])
    return int(json.loads(out)["virtual-size"])


def _run(argv: list[str], home: Path | None = None) -> str:
    env = {**os.environ, "VAGRANT_HOME": str(home)} if home else None
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", env=env)
    except OSError as exc:
        raise ImageError(f"{argv[0]}: {exc.strerror} (bin/install-deps installs it)") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise ImageError(f"{argv[0]} failed ({proc.returncode}): {last}")
    return proc.stdout
