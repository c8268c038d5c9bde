"""The DNS-lock oracle: reads the resolvers' own query logs.

A query that reaches any resolver but the VPN's is a DNS leak, even when it
travelled inside the tunnel: the promise is that applications with their own
resolver cannot use it. The lab's resolvers are dnsmasq instances logging
with `--log-queries=extra`, one line per query received:

    Nov 24 20:41:45 dnsmasq[14551]: 1 198.51.100.3/46230 query[A] web.leakcert.test from
    198.51.100.3  (one line in the log)

No resolver of the lab forwards to another, so every line is one query a
client sent, never a resolver's own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

_QUERY = re.compile(
    r"^(?P<stamp>\w{3} [ \d]\d \d\d:\d\d:\d\d) dnsmasq\[\d+\]: \d+ "
    r"(?P<client>[0-9a-fA-F:.]+)/\d+ query\[(?P<qtype>[A-Za-z0-9]+)\] (?P<name>\S+) from \S+$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class DnsQuery:
    time: float  # epoch seconds (the log's resolution: one second)
    resolver: str
    client: str
    name: str
    qtype: str


def _epoch(stamp: str) -> float:
    # syslog stamps carry no year: this year's, or last year's if that would be the future.
    now = time.localtime()
    parsed = time.strptime(f"{now.tm_year} {stamp}", "%Y %b %d %H:%M:%S")
    epoch = time.mktime(parsed)
    if epoch > time.time() + 86400:
        epoch = time.mktime(time.strptime(f"{now.tm_year - 1} {stamp}", "%Y %b %d %H:%M:%S"))
    return epoch


def parse_query_log(text: str, resolver: str) -> list[DnsQuery]:
    """Every query a dnsmasq log records, in order."""
    return [
        DnsQuery(_epoch(m["stamp"]), resolver, m["client"], m["name"], m["qtype"])
        for m in _QUERY.finditer(text)
    ]


def dns_lock_leaks(queries: Iterable[DnsQuery], allowed_resolvers: set[str]) -> list[DnsQuery]:
    """The queries that reached a resolver not in `allowed_resolvers`."""
    return [q for q in queries if q.resolver not in allowed_resolvers]
