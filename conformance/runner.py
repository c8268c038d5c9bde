"""Running one case against one subject, from an empty lab to a verdict.

    boot hook -> link up, DHCP -> connect hook -> is the tunnel usable?
    -> trigger, with probes at each of its steps -> capture proven complete
    -> oracles (wire, and DNS lock where the case asks) -> verdict.decide

The capture runs from before the boot hook to the end, so every frame the
client sent during the case is judged.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance import probes
from conformance import subject as subjects
from conformance.cases import Case
from conformance.subject import HOOK_TIMEOUT, HookFailed, HookRun, Subject, SubjectError
from conformance.triggers import TRIGGERS
from conformance.verdict import Verdict, decide
from netns import topology
from netns.capture import read_frames
from netns.dnslock import dns_lock_leaks, parse_query_log
from netns.errors import LabError
from netns.lab import Lab
from netns.oracle import PacketClass, classify

REPO = Path(__file__).resolve().parents[1]


@dataclass
class CaseResult:
    """A verdict with its evidence, as the results JSON holds it."""

    subject: str
    subject_summary: str
    case: Case
    verdict: Verdict
    reason: str
    leaks: int = 0
    duration: float = 0.0
    evidence: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "subject": self.subject,
            "subject_summary": self.subject_summary,
            "case": self.case.id,
            "leak_class": self.case.leak_class,
            "title": self.case.title,
            "description": self.case.description,
            "requirement": self.case.requirement,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "leaks": self.leaks,
            "duration": round(self.duration, 3),
            "evidence": self.evidence,
        }


class CaseRun:
    """A case in progress: the lab, the subject, and the evidence gathered so far."""

    def __init__(
        self, lab: Lab, subject: Subject, case: Case, hook_timeout: float = HOOK_TIMEOUT
    ) -> None:
        self.lab = lab
        self.hook_timeout = hook_timeout
        self.subject = subject
        self.case = case
        self.t0 = time.time()
        self.events: list[dict] = []
        self.hooks: list[HookRun] = []
        self.probes: list[dict] = []
        self.trigger_at: float | None = None

    def mark(self, event: str) -> None:
        now = time.time() - self.t0
        if self.trigger_at is None and not event.startswith(("boot", "connect", "link up")):
            self.trigger_at = now
        self.events.append({"t": round(now, 6), "event": event})

    def hook(self, name: str) -> None:
        try:
            self.hooks.append(subjects.run_hook(self.lab, self.subject, name, self.hook_timeout))
        except HookFailed as failed:
            self.hooks.append(failed.run)
            raise

    def boot(self) -> None:
        """A boot: the subject's boot hook with every link down, then link up and DHCP."""
        if self.subject.has("boot"):
            self.hook("boot")
        self.lab.client_boot()

    def crash(self) -> None:
        self.mark("VPN client crashes")
        if self.subject.has("crash"):
            self.hook("crash")
        self.lab.kill_subject()

    def wait(self, seconds: float) -> None:
        """Let time pass inside the case's window (the event under test is time itself)."""
        time.sleep(seconds)

    def probe(self, names: tuple[str, ...] | list[str]) -> dict:
        """The client's applications send the named probes at once; their outcomes."""
        result = self.lab.client.run(
            "python3 -m conformance.probes " + " ".join(names),
            timeout=30,
            env={
                "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
                "PYTHONPATH": str(REPO),
                probes.VPN_PORT_ENV: str(self.lab.tunnel.endpoint_port),
                probes.LAN_GATEWAY_ENV: self.lab.lan.gateway4,
            },
        )
        outcome = json.loads(result.stdout)
        self.probes.append({"t": round(time.time() - self.t0, 6), "outcomes": outcome})
        return outcome


def error_result(
    subject: str, summary: str, case: Case, reason: str, start: float, **evidence
) -> CaseResult:
    return CaseResult(
        subject, summary, case, Verdict.ERROR, reason, 0, time.time() - start, evidence
    )


def run_case(
    subject_ref: str,
    case: Case,
    workdir: Path,
    keep_pcap: Path | None = None,
    hook_timeout: float = HOOK_TIMEOUT,
) -> CaseResult:
    """Run `case` on the subject named (or found at) `subject_ref`; never raises for bad input."""
    start = time.time()
    try:
        subject = subjects.load(subject_ref)
    except SubjectError as exc:
        return error_result(subject_ref, "", case, str(exc), start)
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = workdir / "wire.pcap"
    run: CaseRun | None = None
    broken = None
    try:
        with Lab(
            workdir / "lab",
            ipv6=case.lan_ipv6,
            tunnel_ipv6=case.tunnel_ipv6,
            boot_client=False,
            vpn=subject.vpn,
        ) as lab:
            run = CaseRun(lab, subject, case, hook_timeout)
            lab.start_capture(pcap)
            run.t0 = time.time()
            run.mark("boot")
            run.boot()
            run.hook("connect")
            run.mark("connected")
            health = run.probe(["http"])["http"]
            if not health["ok"]:
                web = f"http://{topology.WEB.address4}/"
                broken = f"connected, but {web} got no answer: {health['detail']}"
            else:
                for _ in TRIGGERS[case.trigger](run):
                    run.probe(case.probes)
            lab.stop_capture()
            facts = lab.wire_facts()
            logs = [(lab.resolver.log, topology.RESOLVER.address4)]
            logs += [(d.log, lan) for lan, d in lab.lan_resolvers().items()]
            queries = []
            for log, resolver in logs:
                queries += parse_query_log(log.read_text(errors="replace"), resolver)
    except HookFailed as failed:
        return error_result(
            subject.name,
            subject.summary,
            case,
            failed.run.summary,
            start,
            hooks=[_hook_json(h) for h in run.hooks] if run else [],
        )
    except LabError as exc:
        hooks = [_hook_json(h) for h in run.hooks] if run else []
        return error_result(subject.name, subject.summary, case, str(exc), start, hooks=hooks)

    packets = classify(read_frames(pcap), facts)
    leaked = [p for p in packets if p.klass is PacketClass.LEAK]
    dns_leaks = dns_lock_leaks(queries, {topology.VPN_RESOLVER}) if case.dns_lock else []
    verdict, reason = decide(wire_leaks=len(leaked), dns_leaks=len(dns_leaks), broken=broken)
    if keep_pcap is not None:
        keep_pcap.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(pcap, keep_pcap)
    evidence = {
        "pcap": str(keep_pcap or pcap),
        "trigger_at": run.trigger_at,
        "events": run.events,
        "packets": [{"t": round(p.t - run.t0, 6), "class": p.klass.value} for p in packets],
        "leaked": [
            {
                "t": round(p.t - run.t0, 6),
                "src": p.src,
                "dst": p.dst,
                "proto": p.proto,
                "summary": p.summary,
            }
            for p in leaked
        ],
        "dns_leaks": [_query_json(q, run.t0) for q in dns_leaks],
        "hooks": [_hook_json(h) for h in run.hooks],
        "probes": run.probes,
    }
    return CaseResult(
        subject.name,
        subject.summary,
        case,
        verdict,
        reason,
        len(leaked) + len(dns_leaks),
        time.time() - start,
        evidence,
    )


def _hook_json(run: HookRun) -> dict:
    return {"hook": run.hook, "exit": run.exit, "output": run.output[-20000:]}


def _query_json(query, t0: float) -> dict:
    t = query.time - t0 if isinstance(query.time, float) else None
    return {
        "t": t,
        "resolver": query.resolver,
        "client": query.client,
        "name": query.name,
        "qtype": query.qtype,
    }
