#!/bin/bash
# The floor under a lab: three namespaces, two veth pairs, a wireguard-go
# tunnel, one handshake, one ping through it, and teardown, from a shell.
# benchmarks/speed_bench.py times it beside the lab. Benchmark addresses only
# (198.18.0.0/15); nothing links to the machine's own namespace.
set -euo pipefail
id="lcf$$"
c="$id-c" r="$id-r" v="$id-v"
wc="wgc$$" wv="wgv$$"

cleanup() {
    ip netns exec "$c" ip link del "$wc" 2>/dev/null || true
    ip netns exec "$v" ip link del "$wv" 2>/dev/null || true
    for ns in "$c" "$r" "$v"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT

for ns in "$c" "$r" "$v"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$c" link add up0 type veth peer name wire netns "$r"
ip -n "$v" link add wan0 type veth peer name wan1 netns "$r"
ip -n "$c" addr add 198.18.1.2/24 dev up0
ip -n "$r" addr add 198.18.1.1/24 dev wire
ip -n "$r" addr add 198.18.2.1/24 dev wan1
ip -n "$v" addr add 198.18.2.2/24 dev wan0
ip -n "$c" link set up0 up
ip -n "$r" link set wire up
ip -n "$r" link set wan1 up
ip -n "$v" link set wan0 up
ip -n "$c" route add default via 198.18.1.1
ip -n "$v" route add default via 198.18.2.1
ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1

kc=$(wg genkey) kv=$(wg genkey)
ip netns exec "$c" wireguard-go "$wc"
ip netns exec "$v" wireguard-go "$wv"
ip netns exec "$v" wg set "$wv" listen-port 51820 private-key <(echo "$kv") \
    peer "$(echo "$kc" | wg pubkey)" allowed-ips 198.18.3.2/32
ip netns exec "$c" wg set "$wc" private-key <(echo "$kc") \
    peer "$(echo "$kv" | wg pubkey)" allowed-ips 198.18.3.0/24 endpoint 198.18.2.2:51820
ip -n "$v" addr add 198.18.3.1/24 dev "$wv"
ip -n "$c" addr add 198.18.3.2/24 dev "$wc"
ip -n "$v" link set "$wv" up
ip -n "$c" link set "$wc" up
ip netns exec "$c" ping -q -c1 -W2 198.18.3.1 >/dev/null
