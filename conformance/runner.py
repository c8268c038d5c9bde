"""Running one case against one subject, from an empty lab to a verdict.

    capture starts -> boot hook, link up, DHCP -> connect hook -> stream starts
    -> is the tunnel usable? -> trigger, with probes at each of its steps
    -> settle window -> stream stops -> capture proven complete
    -> conformance.judge.judge -> CaseRecord

The capture runs from before the boot hook to the end, so every frame the
client sent during the case is judged. Anything that goes wrong on the way
(a hook that fails, a lab fault, a capture that cannot be proven complete)
is an ERROR: no path reaches PASS without the judge.
"""

from __future__ import annotations

import shutil
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from conformance import container_subject
from conformance.case_run import CaseRun
from conformance.cases import Case
from conformance.judge import Judgement, Verdict, judge
from conformance.phases import Phases
from conformance.subject import (
    HOOK_TIMEOUT,
    HookFailed,
    HookRun,
    Subject,
    SubjectError,
    load,
    subject_digest,
)
from conformance.triggers import TRIGGERS, Trigger
from netns import topology
from netns.capture import read_wire
from netns.dnslock import DnsQuery, parse_query_log
from netns.errors import LabError
from netns.lab import Lab
from netns.monitor import LinkMonitor
from netns.oracle import ClassifiedPacket, PacketClass
from netns.stream import StreamSummary

# The timeline needs the traffic's shape, not every tunnel frame of a stream:
# at most one frame per class in each slice of this many seconds (leaks: all).
TIMELINE_SLICE = 0.01


@dataclass
class CaseRecord:
    """A verdict with its evidence, as the runner writes it into the results JSON
    (`conformance.results.CaseResult` is the same entry read back and checked)."""

    subject: str
    subject_summary: str
    case: Case
    verdict: Verdict
    reason: str
    leaked_packets: int = 0
    dns_leaks: int = 0
    duration: float = 0.0
    evidence: dict = field(default_factory=dict)

    @property
    def leaks(self) -> int:
        """Leaked packets and DNS queries together."""
        return self.leaked_packets + self.dns_leaks

    def to_json(self) -> dict:
        return {
            "subject": self.subject,
            "subject_summary": self.subject_summary,
            "case": self.case.id,
            "leak_class": self.case.leak_class,
            "title": self.case.title,
            "description": self.case.description,
            "requirement": self.case.requirement,
            "limitations": self.case.stated_limitations,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "leaks": self.leaks,
            "leaked_packets": self.leaked_packets,
            "dns_leaks": self.dns_leaks,
            "duration": round(self.duration, 3),
            "evidence": self.evidence,
        }


def run_case(
    subject_ref: str,
    case: Case,
    workdir: Path,
    keep_pcap: Path | None = None,
    hook_timeout: float = HOOK_TIMEOUT,
) -> CaseRecord:
    """Run `case` on the subject named (or found at) `subject_ref`; never raises for bad input."""
    start = time.time()
    phases = Phases()
    try:
        subject = load(subject_ref)
    except SubjectError as exc:
        return CaseRecord(subject_ref, "", case, Verdict.ERROR, str(exc), duration=0.0)
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = workdir / "wire.pcap"
    run: CaseRun | None = None
    try:
        container = None
        if subject.container is not None:
            container = container_subject.build(
                subject.name,
                subject.folder,
                subject.container,
                subject_digest(subject),
                subject.include,
            )
            phases.end("images")
        with Lab(
            workdir / "lab",
            ipv6=case.lan_ipv6,
            tunnel_ipv6=case.tunnel_ipv6,
            boot_client=False,
            vpn_kind=subject.vpn_kind,
            client_container=container,
            lan=case.lan,
            spoofed_server=case.spoofed_server,
            guest=case.guest,
        ) as lab:
            run = CaseRun(lab, subject, case, hook_timeout, phases)
            lab.prepare_stream()
            lab.start_capture(pcap)
            monitor = LinkMonitor(lab.client.namespace, (lab.tunnel.interface,)).start()
            run.t0 = time.time()
            phases.end("build")
            try:
                broken = _act(run)
                stream = lab.stop_stream()
                facts = lab.wire_facts()
                sysctls = lab.client_sysctls()
                lab.stop_capture()
            finally:
                _record_tunnel(run, monitor)
            queries = _dns_queries(lab)
            phases.end("stop")
        phases.end("teardown")
    except (HookFailed, LabError) as exc:
        reason = exc.run.summary if isinstance(exc, HookFailed) else str(exc)
        return _error(subject.name, subject.summary, case, reason, start, run)
    except Exception as exc:  # a fault of ours is an ERROR: a verdict is never lost
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = (
            f"leakcert fault: {type(exc).__name__}: {exc}"
            f" (at {Path(where.filename).name}:{where.lineno})"
        )
        return _error(subject.name, subject.summary, case, reason, start, run)

    try:
        judgement = judge(
            read_wire(pcap),
            facts,
            queries,
            case,
            trigger_at=run.trigger_at,
            started=run.t0,
            broken=broken,
            judged_from=run.connected_at if case.early_flows else None,
        )
    except Exception as exc:  # frames the subject crafted must not cost a verdict either
        reason = f"the capture could not be judged: {type(exc).__name__}: {exc}"
        return _error(subject.name, subject.summary, case, reason, start, run)
    phases.end("judge")
    return judged_record(subject, case, judgement, run, pcap, keep_pcap, stream, sysctls, start)


def judged_record(
    subject: Subject,
    case: Case,
    judgement: Judgement,
    run: CaseRun,
    pcap: Path,
    keep_pcap: Path | None,
    stream: StreamSummary,
    sysctls: dict[str, str],
    start: float,
    extra: dict | None = None,
) -> CaseRecord:
    """A judged case's record: its pcap kept, its evidence (`extra` first), its verdict.

    The guest lane (`vms.lane`) records its cases through it too.
    """
    if keep_pcap is not None:
        keep_pcap.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(pcap, keep_pcap)
    evidence = {
        **(extra or {}),
        "phases": run.phases.seconds,
        "pcap": str(keep_pcap or pcap),
        **_run_evidence(run),
        "stream": _stream_json(stream),
        "sysctls": sysctls,
        "transcript": [
            {"t": round(s.t - run.t0, 6), "host": s.host, "command": s.command, "exit": s.exit}
            for s in run.lab.transcript
        ],
        **_judgement_evidence(judgement, run),
    }
    return CaseRecord(
        subject.name,
        subject.summary,
        case,
        judgement.verdict,
        judgement.reason,
        len(judgement.leaked),
        len(judgement.dns_leaks),
        time.time() - start,
        evidence,
    )


def _act(run: CaseRun) -> str | None:
    """Boot, connect, the trigger with its probes, the settle window; why it is broken, if so."""
    run.boot()
    if run.case.early_flows:
        run.open_flows()
    run.phases.end("boot")
    run.connect()
    run.lab.start_stream()
    return trigger_and_watch(run, TRIGGERS)


def trigger_and_watch(
    run: CaseRun, triggers: dict[str, Trigger], health_asks: int = 1
) -> str | None:
    """From a connected subject: the health probe (asked up to `health_asks` times),
    the trigger with its probes, the settle window; why the case is broken, if so."""
    for _ in range(health_asks):
        health = run.probe(["http"])["http"]
        if health["ok"]:
            break
    run.phases.end("connect")
    if not health["ok"]:
        return f"connected, but http://{topology.WEB.address4}/ got no answer: {health['detail']}"
    for _ in triggers[run.case.trigger](run):
        run.probe(run.case.probes)
    if run.trigger_at is None:
        raise LabError(f"trigger {run.case.trigger} never marked itself")
    run.phases.end("trigger")
    run.settle()
    run.phases.end("settle")
    return None


def _record_tunnel(run: CaseRun, monitor: LinkMonitor) -> None:
    """The tunnel interface's ups and downs, from the client's kernel, on the timeline."""
    for change in monitor.stop():
        kind = "tunnel-up" if change.state == "up" else "tunnel-down"
        run.event(kind, f"{change.ifname} {change.state}", change.t)
    run.events.sort(key=lambda e: e["t"])


def _dns_queries(lab: Lab) -> list[DnsQuery]:
    logs = [(lab.resolver.log, topology.RESOLVER.address4)]
    logs += [(d.log, lan) for lan, d in lab.lan_resolvers().items()]
    queries = []
    for log, resolver in logs:
        queries += parse_query_log(log.read_text(errors="replace"), resolver)
    return queries


def _error(
    name: str, summary: str, case: Case, reason: str, start: float, run: CaseRun | None
) -> CaseRecord:
    evidence = _run_evidence(run) if run else {}
    return CaseRecord(
        name, summary, case, Verdict.ERROR, reason, duration=time.time() - start, evidence=evidence
    )


def _run_evidence(run: CaseRun) -> dict:
    t0 = run.t0
    return {
        "trigger_at": round(run.trigger_at - t0, 6) if run.trigger_at else None,
        "settle": run.case.settle,
        "events": run.events,
        "hooks": [_hook_json(h) for h in run.hooks],
        "probes": run.probes,
    }


def _judgement_evidence(judgement: Judgement, run: CaseRun) -> dict:
    t0, trigger_at = run.t0, run.trigger_at or run.t0
    return {
        "counts": dict(Counter(p.klass.value for p in judgement.packets)),
        "packets": [
            {"t": round(p.t - t0, 6), "class": p.klass.value} for p in _thin(judgement.packets)
        ],
        "leaked": [_leaked_json(p, t0, trigger_at) for p in judgement.leaked],
        "window": judgement.window.to_json() if judgement.window else None,
        "dns_leaks": [_query_json(q, t0) for q in judgement.dns_leaks],
    }


def _thin(packets: tuple[ClassifiedPacket, ...]) -> list[ClassifiedPacket]:
    seen: set[tuple[str, int]] = set()
    kept = []
    for packet in packets:
        key = (packet.klass.value, int(packet.t / TIMELINE_SLICE))
        if packet.klass is PacketClass.LEAK or key not in seen:
            seen.add(key)
            kept.append(packet)
    return kept


def _leaked_json(packet: ClassifiedPacket, t0: float, trigger_at: float) -> dict:
    stream = packet.stream
    return {
        "t": round(packet.t - t0, 6),
        "src": packet.src,
        "dst": packet.dst,
        "proto": packet.proto,
        "summary": packet.summary,
        "stream": (
            {"seq": stream.seq, "sent_ms": round((stream.sent - trigger_at) * 1000, 1)}
            if stream
            else None
        ),
    }


def _stream_json(stream: StreamSummary) -> dict:
    return {
        "rate": stream.rate,
        "destinations": list(stream.destinations),
        "packets": stream.packets,
        "sent": stream.sent,
        "refused": stream.refused,
        "seconds": stream.seconds,
    }


def _hook_json(run: HookRun) -> dict:
    return {"hook": run.hook, "exit": run.exit, "output": run.output[-20000:]}


def _query_json(query: DnsQuery, t0: float) -> dict:
    return {
        "t": query.time - t0,
        "resolver": query.resolver,
        "client": query.client,
        "name": query.name,
        "qtype": query.qtype,
    }
