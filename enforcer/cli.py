"""leakcert-enforcer: the command line of the reference kill switch.

    up       apply the policy (flags or --policy FILE) in one nft transaction
    down     remove table inet leakcert (always-on tables need --force)
    status   exit 0 only if the table is in force and is exactly what we would render
    render   print the ruleset (or write it with --out), apply nothing; --platform pf|wfp
             renders the same policy for macOS or Windows (see enforcer/platforms.py)
    block    apply block-all: loopback, DHCP and neighbour discovery only
    boot     install/remove the ruleset file and a systemd unit that loads it before networking

Modes: "session" tables are removed by a plain `down` (a VPN client would call
it on disconnect); "always-on" tables stay until `down --force`, so that a
disconnect hook or a stray script cannot open the host. The kernel holds the
rules; nothing here polls or stays running.

Bad input, a missing nft or a refused ruleset: exit status 2 and one line on
stderr, `leakcert-enforcer: <what is wrong>`; the rules in force are untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from enforcer import nftables, platforms
from enforcer.policy import MODES, Policy, PolicyError, load

PROG = "leakcert-enforcer"
EXIT_OK, EXIT_NOT_IN_FORCE, EXIT_BAD_INPUT = 0, 1, 2

RULESET_PATH = Path("etc/leakcert/enforcer.nft")
UNIT_NAME = "leakcert-enforcer.service"
UNIT_PATH = Path("etc/systemd/system") / UNIT_NAME
# `systemctl enable` would make this link; writing it ourselves works under --root.
WANTS_PATH = Path("etc/systemd/system/sysinit.target.wants") / UNIT_NAME
NFT_FOR_UNIT = "/usr/sbin/nft"

UNIT = f"""\
# Written by `{PROG} boot install`; removed by `{PROG} boot remove`.
[Unit]
Description=leakcert VPN kill switch (nftables table inet leakcert)
Documentation=man:nft(8)
DefaultDependencies=no
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={NFT_FOR_UNIT} -f /{RULESET_PATH}

[Install]
WantedBy=sysinit.target
"""


class UsageError(Exception):
    """Bad command line (one line)."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage block; the contract is one line on stderr.
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _policy_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy (either --policy FILE or flags)")
    group.add_argument("--policy", metavar="FILE", help="TOML policy file")
    group.add_argument("--tunnel", action="append", default=[], metavar="IF")
    group.add_argument("--endpoint", action="append", default=[], metavar="ADDR:PORT[/udp|tcp]")
    group.add_argument("--resolver", action="append", default=[], metavar="IP")
    group.add_argument("--tunnel-ipv6", action="store_true", help="IPv6 rides the tunnel")
    group.add_argument("--lan-access", action="store_true", help="open the private ranges")
    group.add_argument("--mode", choices=MODES)
    group.add_argument(
        "--endpoint-mark",
        type=_mark,
        metavar="MARK",
        help="only packets with this firewall mark (the tunnel's socket) reach the endpoint",
    )


def _mark(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _has_flags(args: argparse.Namespace) -> bool:
    return bool(
        args.tunnel or args.endpoint or args.resolver or args.tunnel_ipv6 or args.lan_access
    ) or (args.mode is not None or args.endpoint_mark is not None)


def policy_from_args(args: argparse.Namespace) -> Policy:
    """The policy given on the command line, either as --policy FILE or as flags."""
    if args.policy:
        if _has_flags(args):
            raise UsageError("give either --policy FILE or policy flags, not both")
        return load(args.policy)
    return Policy(
        tunnels=tuple(args.tunnel),
        endpoints=tuple(args.endpoint),
        resolvers=tuple(args.resolver),
        tunnel_ipv6=args.tunnel_ipv6,
        lan_access=args.lan_access,
        mode=args.mode or "always-on",
        endpoint_mark=args.endpoint_mark or 0,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="leakcert's reference VPN kill switch (nftables)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="apply the policy atomically")
    _policy_options(up)

    down = sub.add_parser("down", help="remove table inet leakcert")
    down.add_argument("--force", action="store_true", help="also remove an always-on table")

    status = sub.add_parser("status", help="exit 0 only if the rules are in force and intact")
    _policy_options(status)

    render = sub.add_parser("render", help="print the ruleset, apply nothing")
    _policy_options(render)
    render.add_argument("--block", action="store_true", help="render block-all, no policy")
    render.add_argument("--out", metavar="FILE", help="write the ruleset to FILE instead")
    render.add_argument("--platform", choices=platforms.PLATFORMS, default="nftables")
    render.add_argument("--pf-user", metavar="USER", help="pf: the endpoint rules' socket owner")
    render.add_argument("--pf-script", choices=platforms.PF_SCRIPTS, help="pf: a /bin/sh script")
    render.add_argument("--wfp-app", metavar="PATH", help="wfp: the tunnel's executable")

    sub.add_parser("block", help="apply block-all: loopback, DHCP and ND only")

    boot = sub.add_parser("boot", help="load the rules at boot, before any network")
    boot_sub = boot.add_subparsers(dest="boot_command", required=True, metavar="ACTION")
    install = boot_sub.add_parser("install", help="write the ruleset and the systemd unit")
    _policy_options(install)
    install.add_argument("--block", action="store_true", help="install block-all, no policy")
    install.add_argument("--root", default="/", metavar="DIR", help="filesystem root (tests)")
    remove = boot_sub.add_parser("remove", help="delete what install wrote")
    remove.add_argument("--root", default="/", metavar="DIR", help="filesystem root (tests)")
    return parser


def _write(path: Path, text: str) -> None:
    # Write then rename, so a reader (or a boot) never sees half a ruleset; fsync the
    # file and its folder, so a power cut right after never boots without it.
    import tempfile  # here: only the commands that write a file need it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _script(args: argparse.Namespace) -> str:
    if args.block:
        if args.policy or _has_flags(args):
            raise UsageError("--block takes no policy")
        return nftables.render(None)
    return nftables.render(policy_from_args(args))


# The kernel answers ARP for any of its addresses on any interface: for the
# tunnel's address on the LAN too, which tells the LAN that address
# (MLLVD-CR-24-03). 2: only for an address of the interface asked, and from
# its own subnet (Mullvad's fix).
ARP_IGNORE = Path("/proc/sys/net/ipv4/conf/all/arp_ignore")
STRICT_ARP = 2


def strict_arp() -> None:
    """Answer ARP only for the asked interface's own addresses (never lowers a stricter one)."""
    if int(ARP_IGNORE.read_text()) < STRICT_ARP:
        ARP_IGNORE.write_text(f"{STRICT_ARP}\n")


def cmd_up(args: argparse.Namespace) -> int:
    policy = policy_from_args(args)
    nftables.apply(nftables.render(policy))
    strict_arp()
    print(f"{PROG}: in force ({policy.mode}): {', '.join(policy.tunnels)}")
    return EXIT_OK


def cmd_block(_args: argparse.Namespace) -> int:
    nftables.apply(nftables.render(None))
    print(f"{PROG}: block-all in force")
    return EXIT_OK


def cmd_down(args: argparse.Namespace) -> int:
    listing = nftables.list_json()
    if listing is None:
        print(f"{PROG}: not in force (nothing to remove)")
        return EXIT_OK
    if not args.force:
        try:
            policy = nftables.read_policy(listing)
        except nftables.NftError:
            policy = None  # unrecognisable: treat like always-on
        if policy is None or policy.mode == "always-on":
            raise UsageError("the rules are always-on; `down --force` removes them")
    nftables.delete()
    print(f"{PROG}: removed table {nftables.FAMILY} {nftables.TABLE}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    wanted = policy_from_args(args) if args.policy or _has_flags(args) else None
    listing = nftables.list_json()
    if listing is None:
        print(f"{PROG}: not in force (no table {nftables.FAMILY} {nftables.TABLE})")
        return EXIT_NOT_IN_FORCE
    try:
        live = nftables.read_policy(listing)
    except nftables.NftError as err:
        print(f"{PROG}: not intact: {err}")
        return EXIT_NOT_IN_FORCE
    if wanted is not None and live != wanted:
        print(f"{PROG}: in force, but with another policy:\n{_describe(live)}")
        return EXIT_NOT_IN_FORCE
    # Every rule must be what we render for that policy: catches edits by hand.
    expected = nftables.expected_listing(nftables.render(live))
    if nftables.canonical(expected) != nftables.canonical(listing):
        print(f"{PROG}: not intact: the table's rules were changed since it was applied")
        return EXIT_NOT_IN_FORCE
    print(f"{PROG}: in force\n{_describe(live)}")
    return EXIT_OK


def _describe(policy: Policy | None) -> str:
    if policy is None:
        return "block-all: loopback, DHCP and neighbour discovery only"
    return policy.summary()


def cmd_render(args: argparse.Namespace) -> int:
    no_policy = args.block or args.pf_script in ("down", "launchd")
    if no_policy and (args.policy or _has_flags(args)):
        what = "--block" if args.block else f"--pf-script {args.pf_script}"
        raise UsageError(f"{what} takes no policy")
    script = platforms.render(
        args.platform,
        None if no_policy else policy_from_args(args),
        pf_user=args.pf_user,
        pf_script=args.pf_script,
        wfp_app=args.wfp_app,
    )
    if args.out:
        _write(Path(args.out), script)
    else:
        sys.stdout.write(script)
    return EXIT_OK


def cmd_boot(args: argparse.Namespace) -> int:
    root = Path(args.root)
    if args.boot_command == "install":
        script = _script(args)
        _write(root / RULESET_PATH, script)
        _write(root / UNIT_PATH, UNIT)
        wants = root / WANTS_PATH
        wants.parent.mkdir(parents=True, exist_ok=True)
        if not wants.is_symlink():
            wants.symlink_to(f"/{UNIT_PATH}")
            _fsync_folder(wants.parent)
        print(f"{PROG}: boot unit installed under {root}")
    else:
        for rel in (WANTS_PATH, UNIT_PATH, RULESET_PATH):
            (root / rel).unlink(missing_ok=True)
        print(f"{PROG}: boot unit removed from {root}")
    return EXIT_OK


COMMANDS = {
    "up": cmd_up,
    "down": cmd_down,
    "status": cmd_status,
    "render": cmd_render,
    "block": cmd_block,
    "boot": cmd_boot,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status is returned (0 ok, 1 not in force, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, PolicyError, nftables.NftError) as err:
        message = str(err)
    except OSError as err:
        message = f"{err.filename or ''}: {err.strerror or err}".lstrip(": ")
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_BAD_INPUT
