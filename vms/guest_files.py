"""The files the guest image carries beyond its packages, and the command that
finishes it: its network as a Debian server has it (ifupdown, dhclient on its
uplink), and three units of the lane's that the operating system itself runs at boot.

- `leakcert-uplink.service`: the guest's uplink, decided by its kernel line.
  Wired (the default): eth0, on the lab's tap. Wi-Fi (`leakcert.uplink=wifi`):
  three `mac80211_hwsim` radios; the first two, the access points', go into
  their own network namespace (`ap`) with eth0, where hostapd runs a WPA2
  network on the first bridged to eth0 (the second access point, of the same
  network name, is started only by a roam: `vms.lab_wifi`); the third is the
  station `wlan0`, the guest's only uplink, which ifupdown brings up with
  wpa_supplicant and dhclient as a Debian laptop without a desktop does. So
  every frame the guest sends crosses the air and an access point's bridge to
  the tap the lab captures. It writes the uplink's ifupdown stanza
  (`UPLINK_STANZA`) and runs before `networking.service`; the access points
  are the network's, not the computer's, so the first comes up whatever the
  subject's boot hook does, and the station only with ifupdown, after
  `network-pre.target` as every link of the computer.
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
UPLINK = "eth0"  # the wired uplink
STATION = "wlan0"  # the Wi-Fi uplink: the station's radio
ACCESS_POINT = "ap0"  # the access point's radio, in the namespace `AP_NETNS`
SECOND_ACCESS_POINT = "ap1"  # a second access point's radio there, started by a roam
SECOND_HOSTAPD_CONF = "/etc/hostapd/leakcert-second.conf"
AP_NETNS = "ap"
WIFI_ARG = "leakcert.uplink=wifi"  # on the kernel line: the guest's uplink is Wi-Fi
SSID = "leakcert"
HOSTAPD_LOG = "/var/log/leakcert-hostapd.log"  # hostapd's events, with their times
HOSTAPD_CTRL = "/run/hostapd"
UPLINK_STANZA = "/run/network/leakcert-uplink"


UPLINK_SCRIPT = f"""\
#!/bin/sh
# The guest's uplink for this boot, from the kernel line (leakcert-uplink.service).
set -eu
mkdir -p /run/network
case " $(cat /proc/cmdline) " in
*" {WIFI_ARG} "*) ;;
*)
    printf 'auto {UPLINK}\\niface {UPLINK} inet dhcp\\n' > {UPLINK_STANZA}
    exit 0
    ;;
esac
modprobe mac80211_hwsim radios=3
# The access points: the first two radios and eth0 in a namespace of their own,
# bridged, with no address and no IPv6. On the wire they add only the Layer 2
# Update frame mac80211 sends, with the station's MAC, for every station that
# associates.
ip netns add {AP_NETNS}
ip netns exec {AP_NETNS} sysctl -qw \\
    net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for radio in wlan0 wlan1; do
    iw phy "$(cat /sys/class/net/$radio/phy80211/name)" set netns name {AP_NETNS}
done
ip link set {UPLINK} netns {AP_NETNS}
ip -n {AP_NETNS} link set wlan0 name {ACCESS_POINT}
ip -n {AP_NETNS} link set wlan1 name {SECOND_ACCESS_POINT}
ip -n {AP_NETNS} link add br0 type bridge forward_delay 0 mcast_snooping 0
ip -n {AP_NETNS} link set {UPLINK} master br0 up
ip -n {AP_NETNS} link set br0 up
ip netns exec {AP_NETNS} hostapd -B -t -f {HOSTAPD_LOG} -P /run/hostapd.pid \\
    /etc/hostapd/leakcert.conf
# The station: the computer's only uplink.
ip link set wlan2 name {STATION}
printf 'auto %s\\niface %s inet dhcp\\n    wpa-conf %s\\n' \\
    {STATION} {STATION} /etc/wpa_supplicant/leakcert.conf > {UPLINK_STANZA}
"""

UPLINK_UNIT = """\
[Unit]
Description=leakcert: the guest's uplink, wired or Wi-Fi (leakcert.uplink= on the kernel line)
DefaultDependencies=no
After=local-fs.target systemd-modules-load.service
Before=networking.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/leakcert-uplink

[Install]
WantedBy=networking.service
"""

# A WPA2 network on channel 1; the station scans only that channel (a scan of
# every channel costs seconds under TCG).
HOSTAPD_CONF = f"""\
interface={ACCESS_POINT}
bridge=br0
driver=nl80211
ctrl_interface={HOSTAPD_CTRL}
ssid={SSID}
hw_mode=g
channel=1
wpa=2
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
wpa_passphrase=leakcert-wifi
"""

# The second access point: the same network's name and key, another radio (BSSID).
SECOND_HOSTAPD_CONF_TEXT = HOSTAPD_CONF.replace(
    f"interface={ACCESS_POINT}", f"interface={SECOND_ACCESS_POINT}"
)

WPA_SUPPLICANT_CONF = f"""\
ctrl_interface=/run/wpa_supplicant
network={{
    ssid="{SSID}"
    psk="leakcert-wifi"
    key_mgmt=WPA-PSK
    scan_freq=2412
}}
"""

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
    "etc/network/interfaces": (f"auto lo\niface lo inet loopback\n\nsource {UPLINK_STANZA}\n"),
    "usr/local/sbin/leakcert-uplink": UPLINK_SCRIPT,
    "etc/systemd/system/leakcert-uplink.service": UPLINK_UNIT,
    "etc/hostapd/leakcert.conf": HOSTAPD_CONF,
    SECOND_HOSTAPD_CONF.lstrip("/"): SECOND_HOSTAPD_CONF_TEXT,
    "etc/wpa_supplicant/leakcert.conf": WPA_SUPPLICANT_CONF,
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
EXECUTABLE = frozenset(
    {"etc/initramfs-tools/hooks/leakcert-virtio", "usr/local/sbin/leakcert-uplink"}
)

# Run by mmdebstrap with the image's root as $1, after every file is in place.
CUSTOMIZE = (
    'chroot "$1" systemctl enable leakcert-subject-boot.service leakcert-uplink.service'
    " ssh.service"
    ' && chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer'
    " e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer dpkg-db-backup.timer"
    " getty@tty1.service wpa_supplicant.service"
    f' && mkdir -p "$1{LEAKCERT}" "$1{CODE}"'
    ' && : > "$1/etc/resolv.conf"'
)
