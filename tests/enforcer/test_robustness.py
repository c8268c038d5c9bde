"""The rules hold while being replaced, when every client process dies, and when an apply fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.enforcer.support import (
    PROBE,
    Bench,
    enforcer,
    enforcer_env,
    nft_json,
    policy_flags,
    sh,
)

pytestmark = pytest.mark.root

FLOOD_RATE = 10_000


def _start_flood(bench: Bench, host: str, port: int) -> subprocess.Popen[str]:
    flood = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            bench.client,
            sys.executable,
            "-u",
            str(PROBE),
            "flood",
            host,
            str(port),
            str(FLOOD_RATE),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert flood.stdout is not None
    assert flood.stdout.readline().strip() == "ready"
    return flood


def _stop_flood(flood: subprocess.Popen[str]) -> int:
    flood.send_signal(signal.SIGTERM)
    out, _ = flood.communicate(timeout=10)
    return int(out.split("attempts")[-1])


def test_no_leak_while_reapplied(fresh_bench: Bench) -> None:
    bench = fresh_bench
    bench.far_counter()
    policies = [
        policy_flags(),
        policy_flags(tunnel_ipv6=True),
        policy_flags(lan_access=True),
        policy_flags(resolvers=("198.18.0.53", "198.18.1.53")),
        policy_flags(mode="session"),
    ]
    bench.up(*policies[0])
    flood = _start_flood(bench, "203.0.113.99", 9999)
    start = time.monotonic()
    try:
        for i in range(20):
            bench.up(*policies[i % len(policies)])
    finally:
        attempts = _stop_flood(flood)
    rate = attempts / (time.monotonic() - start)
    print(f"flood: {attempts} packets at {rate:.0f}/s over 20 applies")
    assert rate > FLOOD_RATE / 2, f"the flood ran at {rate:.0f}/s only"
    assert bench.far_count() == 0
    # The counter does count: without the rules the same flood arrives.
    bench.down()
    flood = _start_flood(bench, "203.0.113.99", 9999)
    token, _ = bench.send("udp", "198.18.0.1", 9000)
    assert bench.wait_for(token)
    _stop_flood(flood)
    assert bench.far_count() > 0


def test_rules_outlive_every_client_process(fresh_bench: Bench) -> None:
    bench = fresh_bench
    bench.up(*policy_flags())
    # Something to kill besides whatever else runs there: a long-lived client process.
    # It says "ready" only once inside the namespace, so `ip netns pids` will list it.
    sleeper = subprocess.Popen(
        ["ip", "netns", "exec", bench.client, "sh", "-c", "echo ready; exec sleep 600"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sleeper.stdout is not None and sleeper.stdout.readline() == "ready\n"
        pids = sh("ip", "netns", "pids", bench.client).stdout.split()
        assert str(sleeper.pid) in pids
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
    finally:
        sleeper.kill()  # by pid; a no-op once the loop above killed it
        sleeper.wait()
    assert not sh("ip", "netns", "pids", bench.client).stdout.split()
    assert '"leakcert"' in nft_json(bench.client)
    assert not bench.reaches("udp", "203.0.113.99", 9000)
    assert bench.reaches("udp", "198.18.0.1", 9000)


# Runs the real CLI inside the client namespace, with the renderer made to
# produce a transaction that fails: at parse time, or in the kernel after the
# delete of the old table has already been queued.
FAILING_UP = textwrap.dedent(
    """
    import sys
    from enforcer import cli, nftables
    render = nftables.render
    nftables.render = lambda policy: render(policy) + sys.argv[1] + "\\n"
    sys.exit(cli.main(["up", *sys.argv[2:]]))
    """
)


@pytest.mark.parametrize(
    "injected",
    [
        "this is not nft syntax",
        "create element inet leakcert resolvers4 { 198.18.0.53 }",
    ],
    ids=["syntax error", "kernel refusal"],
)
def test_failed_apply_leaves_rules_untouched(fresh_bench: Bench, injected: str) -> None:
    bench = fresh_bench
    bench.up(*policy_flags())
    before = nft_json(bench.client)
    result = sh(
        "ip",
        "netns",
        "exec",
        bench.client,
        sys.executable,
        "-c",
        FAILING_UP,
        injected,
        *policy_flags(lan_access=True),
        check=False,
        env=enforcer_env(),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("leakcert-enforcer: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert nft_json(bench.client) == before  # byte-identical, handles included
    assert not bench.reaches("udp", "192.168.7.1", 9000)  # the new LAN rule never landed


def test_bad_input_leaves_rules_untouched(fresh_bench: Bench) -> None:
    bench = fresh_bench
    bench.up(*policy_flags())
    before = nft_json(bench.client)
    for bad in (
        ["--tunnel", "lo", "--endpoint", "203.0.113.1:51820"],
        ["--tunnel", "wgt0", "--endpoint", "203.0.113.1:0"],
        ["--tunnel", "wgt0", "--endpoint", "203.0.113.1:51820", "--resolver", "nope"],
        ["--tunnel", "wgt0", "--endpoint", "203.0.113.1:51820", "--frobnicate"],
    ):
        result = enforcer(bench.client, "up", *bad)
        assert result.returncode == 2, bad
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert nft_json(bench.client) == before
