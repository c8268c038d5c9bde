"""The files the guest image carries beyond its packages, and the command that
finishes it: its network as a Debian server has it (ifupdown, dhclient on eth0),
and two units of the lane's that the operating system itself runs at boot.

- `leakcert-subject-boot.service`: a subject's `boot` hook, run by systemd at
  every boot before `network-pre.target`, with every link down (the contract's
  "boot" made real). The lane writes the hook and its variables into
  /var/lib/leakcert/; without them it does nothing.
- `leakcert-stream.service`: the stream (`netns.stream`), an application the
  lane installs on the computer at the first connect, started at every boot
  after `network-pre.target`: the guest's boot-time traffic that a kill switch
  must hold back.
"""

from __future__ import annotations

LEAKCERT = "/var/lib/leakcert"  # the lane's folder in the guest (kept across reboots)
CODE = "/opt/leakcert"  # leakcert's packages in the guest (for probes, stream, enforcer)
HOOKS_ENV = f"{LEAKCERT}/hooks.env"
STREAM_ENV = f"{LEAKCERT}/stream.env"
STREAM_OUT = f"{LEAKCERT}/stream.out"
SUBJECT_DIR = f"{LEAKCERT}/subject"
STATE_DIR = f"{LEAKCERT}/state"
RUN_DIR = "/run/leakcert"  # a tmpfs: emptied at every boot, as KS_RUN_DIR promises
UPLINK = "eth0"

SUBJECT_BOOT_UNIT = f"""\
[Unit]
Description=leakcert: the subject's boot hook, before any network
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target
Wants=network-pre.target
ConditionPathExists={HOOKS_ENV}

[Service]
Type=oneshot
RemainAfterExit=yes
EnvironmentFile={HOOKS_ENV}
WorkingDirectory={SUBJECT_DIR}
ExecStartPre=/bin/mkdir -p {RUN_DIR}
ExecStart=/bin/sh -c ${{LEAKCERT_BOOT_HOOK}}

[Install]
WantedBy=sysinit.target
"""

STREAM_UNIT = f"""\
[Unit]
Description=leakcert: the stream, an application that sends from boot on
DefaultDependencies=no
After=local-fs.target network-pre.target
ConditionPathExists={STREAM_ENV}

[Service]
EnvironmentFile={STREAM_ENV}
Environment=PYTHONPATH={CODE}
ExecStart=/usr/bin/python3 -m netns.stream --resolv-conf /etc/resolv.conf $STREAM_ARGS
StandardOutput=append:{STREAM_OUT}
StandardError=journal

[Install]
WantedBy=network.target
"""

FILES: dict[str, str] = {
    "etc/hostname": "guest\n",
    "etc/hosts": "127.0.0.1 localhost\n127.0.1.1 guest\n::1 localhost ip6-localhost\n",
    "etc/fstab": "/dev/vda / ext4 rw,errors=remount-ro 0 1\n",
    "etc/network/interfaces": (
        f"auto lo\niface lo inet loopback\n\nauto {UPLINK}\niface {UPLINK} inet dhcp\n"
    ),
    # Only what finds the root disk; the rest loads from it (a small, fast initrd).
    "etc/initramfs-tools/conf.d/leakcert.conf": "MODULES=list\n",
    "etc/initramfs-tools/hooks/leakcert-virtio": (
        "#!/bin/sh\n"
        '[ "$1" = prereqs ] && exit 0\n'
        ". /usr/share/initramfs-tools/hook-functions\n"
        "manual_add_modules virtio_pci virtio_blk ext4\n"
        # The NIC exists before the root is mounted, so ifupdown need not wait for udev.
        "force_load virtio_net\n"
    ),
    # ifupdown-pre waits for udev to settle (a fifth of a boot under TCG): eth0 is
    # there from the initrd on.
    "etc/systemd/system/ifupdown-pre.service.d/leakcert.conf": (
        "[Service]\nExecStart=\nExecStart=/bin/true\n"
    ),
    "etc/systemd/system/leakcert-subject-boot.service": SUBJECT_BOOT_UNIT,
    "etc/systemd/system/leakcert-stream.service": STREAM_UNIT,
}
EXECUTABLE = frozenset({"etc/initramfs-tools/hooks/leakcert-virtio"})

# Run by mmdebstrap with the image's root as $1, after every file is in place.
CUSTOMIZE = (
    'chroot "$1" systemctl enable leakcert-subject-boot.service ssh.service'
    ' && chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer'
    " e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer dpkg-db-backup.timer"
    " getty@tty1.service wpa_supplicant.service"
    f' && mkdir -p "$1{LEAKCERT}" "$1{CODE}"'
    ' && : > "$1/etc/resolv.conf"'
)
