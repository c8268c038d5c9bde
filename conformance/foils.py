"""Foils: deliberately flawed kill switches, one flaw each. Longer than 400 lines
because each flaw is a small kill switch of its own, read best beside the others.

A case is worth something only if it fails on a subject that has the flaw it
looks for. Each folder `conformance/subjects/foil-*` is a subject whose hooks
call this module with its flaw:

    python -m conformance.foils {boot|connect|disconnect|crash} FLAW

Every foil is a sound kill switch (nftables, DNS locked to the VPN's resolver,
the endpoint open on its own port only) but for its one flaw, so a case that
catches it catches that flaw and nothing else:

- no-ipv6: the rules are IPv4 only (`table ip`, as iptables without ip6tables);
- dns-anywhere: DNS is allowed to any resolver on any interface;
- server-ip: the endpoint's address is open on every port, and the tunnel is
  routed the classic way (a host route to the endpoint via the LAN's gateway),
  as TunnelCrack's ServerIP attack needs;
- no-boot: rules only from connect on, nothing at boot;
- watcher: no rules while connected; a watcher blocks everything once it has
  seen the tunnel interface missing twice, a second apart (the "traditional"
  kill switch IVPN's FAQ warns about);
- owner-rules: rules owned by the client process (nftables `flags owner`), so
  the kernel drops them when the client dies;
- reconnect: on a network change, a lost tunnel interface or a dead server it
  lifts its rules and takes the tunnel down, and waits for the network to
  settle before reconnecting;
- cleanup: a cleanup handler that outlives the client removes the rules when
  the tunnel's process dies (the client is the tunnel's process: its `crash`
  hook kills that, and the handler lives on);
- reopen: 200-500 ms after any link or IPv4 route change it re-opens the
  firewall for a moment while it "refreshes" its rules (a delayed, short
  window that only the stream catches);
- nonatomic: on every reconnect (a network change or a lost tunnel) it
  rebuilds its rules the way shell scripts do: flush, read its configuration
  back (0.1 s), add the rules one command at a time under an accepting
  policy, then set the policy to drop.

Issue 13's foils (the attacks published since the seed), one flaw each too:

- lan-subnet: when the user allows the local network (KS_LAN_ACCESS=1) it
  opens the uplink's own subnets, as DHCP and router advertisements gave them
  (TunnelCrack's LocalNet: a hostile LAN chooses them).
- give-up-open: when its tunnel does not answer within a few seconds of
  connecting, it gives up, takes the tunnel down and lifts its rules: its
  error state is open.
- exit-open: its service tears its rules down on its orderly exit path
  (SIGTERM, as systemd stops it to restart or upgrade it); a user's
  disconnect and a crash leave them.
- switch-nonatomic: when it connects to another server than the one its
  rules name, it rebuilds them as shell scripts do (flush, add one command at
  a time under an accepting policy, then drop); to the same server, at once.
- fallback-allow: on a network change it re-applies its rules under the
  xtables lock, waiting 1 s for it as `iptables -w 1` does; when the update
  fails it falls back to allow (lifts its rules), as gluetun once did.
- output-only: it filters the client's own output and input only: what it
  forwards (a container's, a VM's traffic) is not filtered at all.

Every other foil filters forwarded traffic as its own output: out by the
tunnel, replies back.

Sound, every foil also lets only the tunnel's own socket (its FwMark) reach
the endpoint's port, and answers ARP only for the asked interface's own
addresses (arp_ignore 2). The flaws found since the seed (issue 13):

- routes-only: no firewall for where traffic goes, only routes (a policy
  rule sends everything unmarked to a table whose default route is the
  tunnel, and under it a dummy interface's, as NetworkManager-based kill
  switches do); a firewall locks DNS and broadcasts only. A program bound to
  the physical interface finds the LAN's default route;
- endpoint-any: the endpoint's address, port and protocol are open to every
  process, not only the tunnel's (Cure53 MUL-02-002); it routes the tunnel
  the classic way, as server-ip does (a host route to the endpoint through
  the LAN's gateway), where another process's datagram to the endpoint
  takes that route;
- tunnel-arp: it leaves the kernel answering ARP for the tunnel's address on
  the LAN (MLLVD-CR-24-03);
- established: a connected-mode kill switch (rules from connect on, as
  no-boot) whose first output rule accepts established connections on any
  interface, as iptables recipes do: a flow opened before it keeps going. Its
  boot hook is the machine's own firewall (as ufw's: outgoing allowed,
  invalid dropped), which tracks connections from boot on; without one the
  kernel would not have tracked the flow.
- local-v6: it lets the LAN's link-local and unique-local IPv6 out (fe80::/10,
  fc00::/7, "local network" access) before its DNS lock, so DNS servers the
  LAN pushes at those addresses (RDNSS, DHCPv6) are asked outside the tunnel.
- lan-names: it lets the LAN's name services out (mDNS, LLMNR, NetBIOS name
  queries, as "network discovery" options do): names asked on the LAN.
"""

from __future__ import annotations

import ipaddress
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

TABLE = "foil"
FLAWS = (
    "no-ipv6",
    "dns-anywhere",
    "server-ip",
    "no-boot",
    "watcher",
    "owner-rules",
    "reconnect",
    "cleanup",
    "reopen",
    "nonatomic",
    # Issue 13's.
    "lan-subnet",
    "give-up-open",
    "exit-open",
    "switch-nonatomic",
    "fallback-allow",
    "output-only",
    *(
        "routes-only",
        "endpoint-any",
        "tunnel-arp",
        "established",
        "local-v6",
        "lan-names",
    ),
)
# Foils with a daemon of their own beside the tunnel, started at connect.
DAEMON_FLAWS = (
    "watcher",
    "reconnect",
    "cleanup",
    "reopen",
    "nonatomic",
    "exit-open",
    "fallback-allow",
)
# How long the reconnect foil waits for the network to settle with its rules lifted.
SETTLE = 5.0
# The watcher foil looks once a second and believes a missing tunnel on the second look.
WATCH_PERIOD = 1.0
WATCH_MISSES = 2
# The reconnect foil's health check of the tunnel.
HEALTH_PERIOD = 0.5
HEALTH_FAILURES = 2
# The give-up-open foil: how long it waits for its tunnel to answer.
GIVE_UP = 3
# The reopen foil: how long after a change it refreshes, and how long its rules are gone.
REOPEN_DELAY = 0.3
REOPEN_WINDOW = 0.1
# The nonatomic foil: a script's time between its flush and its first rule (reading
# its configuration back), so that its open window is as wide as a real script's.
REBUILD_PAUSE = 0.1
# Foils that route the tunnel the classic way: a host route to the endpoint via the
# LAN's gateway (where another process's datagram to the endpoint goes too).
CLASSIC_ROUTING = ("server-ip", "endpoint-any")
# The tunnel socket's firewall mark (wg-quick's FwMark, and its routing table).
TUNNEL_MARK = 51820
# The routes-only foil's routing table, and its dummy interface.
ROUTES_TABLE = 7000
DUMMY = "ksdummy"


def env(name: str) -> str:
    return os.environ[name]


def ruleset(flaw: str, *, owner: bool = False) -> list[str]:
    """The foil's nftables rules, one command per line (for `nft -f` and `nft -i`)."""
    family = "ip" if flaw == "no-ipv6" else "inet"
    tunnel, dns = env("KS_TUNNEL_IF"), env("KS_VPN_DNS")
    endpoint, port, proto = env("KS_ENDPOINT_IP"), env("KS_ENDPOINT_PORT"), env("KS_ENDPOINT_PROTO")
    t = f"{family} {TABLE}"
    rules = [
        f"add table {t}" + (" { flags owner; }" if owner else ""),
        f"add chain {t} output {{ type filter hook output priority 0; policy drop; }}",
        f"add chain {t} input {{ type filter hook input priority 0; policy drop; }}",
    ]
    if flaw == "established":
        rules.append(f"add rule {t} output ct state established,related accept")
    rules += [
        f"add rule {t} output oif lo accept",
        f"add rule {t} input iif lo accept",
        f"add rule {t} input ct state established,related accept",
    ]
    if flaw != "output-only":
        rules += [
            f"add chain {t} forward {{ type filter hook forward priority 0; policy drop; }}",
            f"add rule {t} forward ct state established,related accept",
            f"add rule {t} forward oifname {tunnel} accept",
        ]
    if flaw == "lan-names":
        rules.append(f"add rule {t} output udp dport {{ 137, 5353, 5355 }} accept")
    if flaw == "local-v6":
        rules.append(f"add rule {t} output ip6 daddr {{ fe80::/10, fc00::/7 }} accept")
    if flaw == "dns-anywhere":
        rules.append(f"add rule {t} output meta l4proto {{ tcp, udp }} th dport 53 accept")
    else:
        rules.append(
            f"add rule {t} output meta l4proto {{ tcp, udp }} th dport {{ 53, 853 }}"
            f" ip daddr != {dns} reject"
        )
        if family == "inet":
            rules.append(
                f"add rule {t} output meta nfproto ipv6"
                " meta l4proto { tcp, udp } th dport { 53, 853 } reject"
            )
    rules += [
        f"add rule {t} output oifname {tunnel} accept",
        f"add rule {t} input iifname {tunnel} accept",
    ]
    if flaw == "server-ip":
        rules.append(f"add rule {t} output ip daddr {endpoint} accept")
    elif flaw == "endpoint-any":
        rules.append(f"add rule {t} output ip daddr {endpoint} {proto} dport {port} accept")
    else:
        rules.append(
            f"add rule {t} output ip daddr {endpoint} {proto} dport {port}"
            f" meta mark {TUNNEL_MARK} accept"
        )
    if flaw == "lan-subnet" and os.environ.get("KS_LAN_ACCESS") == "1":
        rules += [f"add rule {t} output {lan} accept" for lan in uplink_subnets()]
    rules += [
        f"add rule {t} output udp sport 68 udp dport 67 accept",
        f"add rule {t} input udp sport 67 udp dport 68 accept",
    ]
    if family == "inet":
        rules += [
            f"add rule {t} output icmpv6 type"
            " { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept",
            f"add rule {t} input icmpv6 type"
            " { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
        ]
    rules.append(f"add rule {t} output reject")
    return rules


def uplink_subnets() -> list[str]:
    """nftables matches for the uplink's subnets, as its addresses' prefixes say."""
    shown = subprocess.run(
        ["ip", "-j", "addr", "show", "dev", env("KS_UPLINK_IF")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = []
    for link in json.loads(shown or "[]"):
        for address in link.get("addr_info", []):
            if address.get("scope") != "global":
                continue
            net = ipaddress.ip_interface(f"{address['local']}/{address['prefixlen']}").network
            found.append(f"ip{'6' if net.version == 6 else ''} daddr {net}")
    return found


def block_all() -> list[str]:
    t = f"inet {TABLE}"
    return [
        f"add table {t}",
        f"add chain {t} output {{ type filter hook output priority 0; policy drop; }}",
        f"add rule {t} output oif lo accept",
    ]


def apply(rules: list[str]) -> None:
    """Replace the foil's table in one transaction (add, delete, add: no window)."""
    family = rules[0].split()[2]
    script = [f"add table {family} {TABLE}", f"delete table {family} {TABLE}", *rules]
    subprocess.run(["nft", "-f", "-"], input="\n".join(script) + "\n", text=True, check=True)


def lift() -> None:
    for family in ("inet", "ip"):
        subprocess.run(["nft", "delete", "table", family, TABLE], capture_output=True)


def wg_quick(action: str, config: str) -> None:
    environment = dict(os.environ, WG_QUICK_USERSPACE_IMPLEMENTATION="wireguard-go")
    subprocess.run(["wg-quick", action, config], check=True, env=environment)


def tunnel_config(flaw: str) -> str:
    """The foil's copy of the tunnel's config: its socket marked from the first packet."""
    config = Path(env("KS_RUN_DIR")) / Path(env("KS_TUNNEL_CONFIG")).name
    # Written every time: the user may have switched servers since (another config).
    # Classic routing (server-ip, endpoint-any) and routes-only route the tunnel themselves.
    table = "Table = off\n" if flaw in (*CLASSIC_ROUTING, "routes-only") else ""
    text = Path(env("KS_TUNNEL_CONFIG")).read_text()
    config.touch(mode=0o600)
    config.write_text(
        text.replace("[Interface]\n", f"[Interface]\n{table}FwMark = {TUNNEL_MARK}\n", 1)
    )
    return str(config)


def tunnel_up(flaw: str) -> None:
    wg_quick("up", tunnel_config(flaw))
    if flaw == "routes-only":
        tunnel_routes()
        return
    if flaw not in CLASSIC_ROUTING:
        return
    # Classic routing: the tunnel as two half-defaults and a host route to the
    # endpoint through the LAN's gateway, as OpenVPN's def1 and many clients do.
    gateway = subprocess.run(
        ["ip", "-4", "route", "show", "default"], capture_output=True, text=True, check=True
    ).stdout.split()[2]
    tunnel = env("KS_TUNNEL_IF")
    ip = ["ip", "route", "replace"]
    subprocess.run(
        [*ip, env("KS_ENDPOINT_IP"), "via", gateway, "dev", env("KS_UPLINK_IF")], check=True
    )
    for prefix in ("0.0.0.0/1", "128.0.0.0/1"):
        subprocess.run([*ip, prefix, "dev", tunnel], check=True)
    if env("KS_TUNNEL_ADDR6"):
        for prefix in ("::/1", "8000::/1"):
            subprocess.run(["ip", "-6", "route", "replace", prefix, "dev", tunnel], check=True)


def route_guard() -> None:
    """The routes-only foil's guard: every unmarked packet looks up its table, whose
    last default route is a dummy interface's (the tunnel's comes first when it is up).
    Its firewall keeps DNS to the VPN's resolver and broadcasts off the LAN only."""
    if subprocess.run(["ip", "link", "show", DUMMY], capture_output=True).returncode:
        # A veth pair that goes nowhere stands in for a dummy interface (a module
        # the lab's kernel may lack): what is routed to it is dropped on its far end.
        subprocess.run(
            ["ip", "link", "add", DUMMY, "type", "veth", "peer", "name", f"{DUMMY}-end"],
            check=True,
        )
    for link in (DUMMY, f"{DUMMY}-end"):
        subprocess.run(["ip", "link", "set", link, "up"], check=True)
    for family in ("-4", "-6"):
        # Added once and kept (a reconnect must not open a window by removing it).
        shown = subprocess.run(
            ["ip", family, "rule", "show", "pref", "100"], capture_output=True, text=True
        ).stdout
        if not shown.strip():
            subprocess.run(
                [
                    "ip",
                    family,
                    "rule",
                    "add",
                    "pref",
                    "100",
                    "not",
                    "fwmark",
                    str(TUNNEL_MARK),
                    "table",
                    str(ROUTES_TABLE),
                ],
                check=True,
            )
        subprocess.run(
            [
                "ip",
                family,
                "route",
                "replace",
                "default",
                "dev",
                DUMMY,
                "table",
                str(ROUTES_TABLE),
                "metric",
                "1000",
            ],
            check=True,
        )
    t = f"inet {TABLE}"
    dns = env("KS_VPN_DNS")
    apply(
        [
            f"add table {t}",
            f"add chain {t} output {{ type filter hook output priority 0; policy accept; }}",
            f"add rule {t} output meta l4proto {{ tcp, udp }} th dport {{ 53, 853 }}"
            f" ip daddr != {dns} reject",
            f"add rule {t} output meta nfproto ipv6"
            " meta l4proto { tcp, udp } th dport { 53, 853 } reject",
            f"add rule {t} output meta l4proto {{ tcp, udp, icmp }}"
            " fib daddr type { broadcast, multicast } reject",
        ]
    )


def tunnel_routes() -> None:
    """The tunnel's default routes in the routes-only foil's table, before the dummy's."""
    tunnel = env("KS_TUNNEL_IF")
    subprocess.run(
        ["ip", "-4", "route", "replace", "default", "dev", tunnel, "table", str(ROUTES_TABLE)],
        check=True,
    )
    if env("KS_TUNNEL_ADDR6"):
        subprocess.run(
            ["ip", "-6", "route", "replace", "default", "dev", tunnel, "table", str(ROUTES_TABLE)],
            check=True,
        )


def use_vpn_resolver() -> None:
    Path("/etc/resolv.conf").write_text(f"nameserver {env('KS_VPN_DNS')}\n")


def spawn(role: str, flaw: str) -> None:
    """Start a foil daemon in the background and return once it is ready."""
    read, write = os.pipe()
    log = open(Path(env("KS_RUN_DIR")) / f"foil-{role}.log", "ab")  # noqa: SIM115 (the child's)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "conformance.foils", role, flaw, str(write)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=(write,),
        start_new_session=True,
    )
    os.close(write)
    with os.fdopen(read) as ready:
        if ready.read() != "ready":
            raise SystemExit(f"foil {role} did not start: see {log.name}")
    pidfile(role).write_text(str(daemon.pid))


def pidfile(role: str) -> Path:
    return Path(env("KS_RUN_DIR")) / f"foil-{role}.pid"


def signal_ready(fd: str) -> None:
    with os.fdopen(int(fd), "w") as ready:
        ready.write("ready")


def boot(flaw: str) -> None:
    if flaw == "routes-only":
        route_guard()
    elif flaw == "established":
        apply(system_firewall())
    else:
        apply(ruleset(flaw))
    ruled_endpoint(env("KS_ENDPOINT_IP"))


def system_firewall() -> list[str]:
    """A desktop's own firewall, not the kill switch: everything out, invalid dropped."""
    t = "inet system"
    return [
        f"add table {t}",
        f"add chain {t} output {{ type filter hook output priority 10; policy accept; }}",
        f"add rule {t} output ct state invalid drop",
    ]


def ruled_endpoint(endpoint: str | None = None) -> str:
    """The server the rules name (kept in the state folder); set it when given."""
    path = Path(env("KS_STATE_DIR")) / "foil-endpoint"
    if endpoint is not None:
        path.write_text(endpoint)
    return path.read_text() if path.exists() else ""


def connect(flaw: str) -> None:
    if flaw == "owner-rules":
        spawn("hold", flaw)
    elif flaw == "switch-nonatomic" and ruled_endpoint() not in ("", env("KS_ENDPOINT_IP")):
        rebuild_rules(flaw)
    elif flaw == "routes-only":
        route_guard()
    elif flaw != "watcher":
        apply(ruleset(flaw))
    ruled_endpoint(env("KS_ENDPOINT_IP"))
    if flaw != "tunnel-arp":
        Path("/proc/sys/net/ipv4/conf/all/arp_ignore").write_text("2\n")
    tunnel_up(flaw)
    use_vpn_resolver()
    if flaw == "give-up-open" and not tunnel_answers():
        lift()
        wg_quick("down", tunnel_config(flaw))
        raise SystemExit("foil: the VPN server did not answer; gave up, firewall off")
    if flaw in DAEMON_FLAWS:
        spawn(flaw, flaw)


def tunnel_answers() -> bool:
    """Whether the VPN's resolver answers a ping through the tunnel within GIVE_UP seconds."""
    ping = ["ping", "-c1", f"-w{GIVE_UP}", "-I", env("KS_TUNNEL_IF"), env("KS_VPN_DNS")]
    return subprocess.run(ping, capture_output=True).returncode == 0


def crash(flaw: str) -> None:
    """The cleanup foil's client dies: its tunnel's process, and nothing else."""
    os.kill(tunnel_pid(), signal.SIGKILL)


def disconnect(flaw: str) -> None:
    # The user disconnects: a client stops watching its tunnel before it goes.
    if flaw in DAEMON_FLAWS:
        # exit-open's service stops without its exit path when the user disconnects.
        stop = signal.SIGUSR1 if flaw == "exit-open" else signal.SIGTERM
        os.kill(int(pidfile(flaw).read_text()), stop)
    wg_quick("down", tunnel_config(flaw))


def hold(flaw: str, ready_fd: str) -> None:
    """Own the rules: an `nft -i` session whose table dies with it."""
    nft = subprocess.Popen(
        ["nft", "-i"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    for line in [*ruleset(flaw, owner=True), f"list table inet {TABLE}"]:
        nft.stdin.write(line + "\n")
    nft.stdin.flush()
    for line in nft.stdout:
        if line.startswith("}"):
            break
    signal_ready(ready_fd)
    nft.wait()


def watcher(flaw: str, ready_fd: str) -> None:
    """React after the fact: block everything once the tunnel has been missing a while."""
    from pyroute2 import IPRoute

    tunnel = env("KS_TUNNEL_IF")
    misses = 0
    with IPRoute() as ipr:
        signal_ready(ready_fd)
        while True:
            time.sleep(WATCH_PERIOD)
            misses = 0 if ipr.link_lookup(ifname=tunnel) else misses + 1
            if misses == WATCH_MISSES:
                apply(block_all())


def reconnect(flaw: str, ready_fd: str) -> None:
    """Reconnect on any network change or a dead server, with the rules lifted meanwhile."""
    changes: queue.Queue[str] = queue.Queue()
    threading.Thread(target=watch_links, args=(changes, ready_fd), daemon=True).start()
    failures = 0
    while True:
        try:
            changes.get(timeout=HEALTH_PERIOD)
            trouble = True
        except queue.Empty:
            # Through the tunnel itself, whatever the routing table says (as a
            # client's keepalive does).
            healthy = subprocess.run(
                ["ping", "-c1", "-W1", "-I", env("KS_TUNNEL_IF"), env("KS_VPN_DNS")],
                capture_output=True,
            )
            failures = 0 if healthy.returncode == 0 else failures + 1
            trouble = failures >= HEALTH_FAILURES
        if not trouble:
            continue
        lift()
        subprocess.run(
            ["wg-quick", "down", tunnel_config(flaw)],
            capture_output=True,
            env=dict(os.environ, WG_QUICK_USERSPACE_IMPLEMENTATION="wireguard-go"),
        )
        time.sleep(SETTLE)
        apply(ruleset(flaw))
        wg_quick("up", tunnel_config(flaw))
        failures = 0
        while not changes.empty():
            changes.get()


def tunnel_pid() -> int:
    """The pid of wireguard-go serving this client's tunnel interface."""
    tunnel = env("KS_TUNNEL_IF").encode()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"wireguard-go") and tunnel in argv[1:]:
            return int(proc.name)
    raise SystemExit(f"foil: no wireguard-go for {env('KS_TUNNEL_IF')}")


def cleanup(flaw: str, ready_fd: str) -> None:
    """When the tunnel's process dies, "clean up": remove the rules (fail open)."""
    import select

    pidfd = os.pidfd_open(tunnel_pid())
    signal_ready(ready_fd)
    select.select([pidfd], [], [])
    lift()


def fallback_allow(flaw: str, ready_fd: str) -> None:
    """Re-apply the rules on every network change, under the xtables lock; allow on failure."""
    changes: queue.Queue[str] = queue.Queue()
    threading.Thread(target=watch_links, args=(changes, ready_fd), daemon=True).start()
    while True:
        changes.get()
        replace = [f"add table inet {TABLE}", f"delete table inet {TABLE}", *ruleset(flaw)]
        script = "\n".join(replace)
        update = subprocess.run(
            ["flock", "-w", "1", "/run/xtables.lock", "nft", "-f", "-"],
            input=script + "\n",
            text=True,
        )
        if update.returncode != 0:
            print("foil: the firewall update failed: falling back to allow", flush=True)
            lift()


def exit_open(flaw: str, ready_fd: str) -> None:
    """The service: on SIGTERM (an orderly stop) it removes its rules on its way out."""

    def stop(signum: int, frame: object) -> None:
        if signum == signal.SIGTERM:
            lift()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR1, stop)
    signal_ready(ready_fd)
    while True:
        signal.pause()


def reopen(flaw: str, ready_fd: str) -> None:
    """After any link or IPv4 route change, refresh the rules: wait, lift, wait, apply."""
    import select

    from pyroute2 import IPRoute
    from pyroute2.netlink.rtnl import RTMGRP_IPV4_ROUTE, RTMGRP_LINK

    with IPRoute() as ipr:
        ipr.bind(groups=RTMGRP_LINK | RTMGRP_IPV4_ROUTE)
        signal_ready(ready_fd)
        while True:
            ipr.get()
            time.sleep(REOPEN_DELAY)
            # This refresh covers what changed up to now; what changes during it gets another.
            while select.select([ipr], [], [], 0)[0]:
                ipr.get()
            lift()
            time.sleep(REOPEN_WINDOW)
            apply(ruleset(flaw))


def nonatomic(flaw: str, ready_fd: str) -> None:
    """Reconnect on a network change or a lost tunnel, rebuilding the rules one by one."""
    changes: queue.Queue[str] = queue.Queue()
    threading.Thread(target=watch_links, args=(changes, ready_fd), daemon=True).start()
    while True:
        changes.get()
        # This reconnect covers what changed up to now; what changes during it gets another.
        while not changes.empty():
            changes.get()
        rebuild_rules(flaw)
        if subprocess.run(
            ["ip", "link", "show", env("KS_TUNNEL_IF")], capture_output=True
        ).returncode:
            wg_quick("up", tunnel_config(flaw))


def rebuild_rules(flaw: str) -> None:
    """Flush, then add back one command at a time, dropping only at the end (not atomic)."""
    lift()
    time.sleep(REBUILD_PAUSE)
    rules = ruleset(flaw)
    for rule in rules:
        rule = rule.replace("policy drop", "policy accept")
        subprocess.run(["nft", *rule.split()], check=True)
    for chain in ("output", "input", "forward"):
        subprocess.run(
            ["nft", "chain", "inet", TABLE, chain, "{", "policy", "drop", ";", "}"], check=True
        )


def watch_links(changes: queue.Queue[str], ready_fd: str) -> None:
    """Report every carrier or IPv4 address change of the uplink, and the tunnel's end."""
    from pyroute2 import IPRoute
    from pyroute2.netlink.rtnl import RTMGRP_IPV4_IFADDR, RTMGRP_LINK

    with IPRoute() as ipr:
        ipr.bind(groups=RTMGRP_LINK | RTMGRP_IPV4_IFADDR)
        index = ipr.link_lookup(ifname=env("KS_UPLINK_IF"))[0]
        tunnel = env("KS_TUNNEL_IF")
        carrier = ipr.get_links(index)[0].get_attr("IFLA_CARRIER")
        signal_ready(ready_fd)
        while True:
            for msg in ipr.get():
                if msg["event"] == "RTM_DELLINK" and msg.get_attr("IFLA_IFNAME") == tunnel:
                    changes.put("tunnel interface gone")
                if msg.get("index") != index:
                    continue
                if msg["event"].endswith("ADDR"):
                    changes.put(msg["event"])
                elif msg.get_attr("IFLA_CARRIER") not in (None, carrier):
                    carrier = msg.get_attr("IFLA_CARRIER")
                    changes.put(f"carrier {carrier}")


COMMANDS = {"boot": boot, "connect": connect, "disconnect": disconnect, "crash": crash}
DAEMONS = {
    "hold": hold,
    "watcher": watcher,
    "reconnect": reconnect,
    "cleanup": cleanup,
    "reopen": reopen,
    "nonatomic": nonatomic,
    "exit-open": exit_open,
    "fallback-allow": fallback_allow,
}


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[1] in FLAWS:
        if argv[0] in COMMANDS and len(argv) == 2:
            COMMANDS[argv[0]](argv[1])
            return 0
        if argv[0] in DAEMONS and len(argv) == 3:
            DAEMONS[argv[0]](argv[1], argv[2])
            return 0
    print(
        "usage: python -m conformance.foils {boot|connect|disconnect|crash}"
        f" {{{','.join(FLAWS)}}}"
    )
    return 2


if __name__ == "__main__":
    if shutil.which("nft") is None:
        raise SystemExit("foil: nft is not installed")
    sys.exit(main(sys.argv[1:]))
