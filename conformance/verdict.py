"""Verdicts, and the one place where a case's verdict is decided."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    PASS = "PASS"  # judged, and not one packet left outside the tunnel
    LEAK = "LEAK"  # at least one packet (or DNS query) left where it must not
    BROKEN = "BROKEN"  # the subject blocks its own tunnel: nothing can be judged as a pass
    ERROR = "ERROR"  # the case could not be judged (bad subject, failed hook, lab fault)


def decide(*, wire_leaks: int, dns_leaks: int, broken: str | None) -> tuple[Verdict, str]:
    """From what the oracles found to a verdict and its one-line reason.

    A leak outranks a broken tunnel: a subject that blocks its tunnel but lets
    a packet out on the side is leaking. There is no PASS by default: the
    caller reaches here only with a complete capture and a connected subject.
    """
    if wire_leaks or dns_leaks:
        parts = []
        if wire_leaks:
            parts.append(f"{wire_leaks} packet{'s' * (wire_leaks != 1)} outside the tunnel")
        if dns_leaks:
            queries = "queries" if dns_leaks != 1 else "query"
            parts.append(f"{dns_leaks} DNS {queries} to a resolver not the VPN's")
        return Verdict.LEAK, "; ".join(parts)
    if broken:
        return Verdict.BROKEN, broken
    return Verdict.PASS, "no packet left outside the tunnel"
