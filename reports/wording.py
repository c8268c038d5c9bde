"""How a result is said in words, the same on the index, the case page, the
timeline and in junit.xml."""

from __future__ import annotations

from conformance.results import CaseResult


def verdict_text(result: CaseResult) -> str:
    """The verdict as text a cell shows: colour is never the only signal."""
    return f"LEAK {result.leaks}" if result.verdict == "LEAK" else result.verdict


def leak_counts(result: CaseResult) -> str:
    """What a LEAK's n is made of, when the run says: "12 packets and 2 DNS queries"."""
    if result.leaked_packets is None and result.dns_leaks is None:
        return ""
    packets, queries = result.leaked_packets or 0, result.dns_leaks or 0
    return (
        f"{packets} packet{'' if packets == 1 else 's'} and "
        f"{queries} DNS quer{'y' if queries == 1 else 'ies'}"
    )


def window_text(result: CaseResult) -> str:
    """The leak window in words: the run's own, or made from its numbers."""
    w = result.evidence.window
    if w is None:
        return ""
    noun = "packet" if w.packets == 1 else "packets"
    return w.text or f"leaked {w.packets} {noun} from {w.first_ms:+.0f} ms to {w.last_ms:+.0f} ms"
