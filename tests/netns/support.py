"""Helpers for the lab's tests."""

from __future__ import annotations

from netns.lab import Lab


def tunnel_up(lab: Lab) -> None:
    """Bring the lab's WireGuard tunnel up on the client with plain wg-quick (no kill switch)."""
    lab.client.run(
        "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up %s",
        lab.tunnel.config,
        cgroup=lab.subject_cgroup,
    )
