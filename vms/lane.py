"""Running one case against one subject in a guest, from power-on to a verdict.

    capture starts on the tap -> power-on (warm snapshot; wired or Wi-Fi)
    -> the subject is installed -> connect hook -> the stream, a service of
    the guest's, starts -> is the tunnel usable? -> trigger (a real reboot, a
    power cut, Wi-Fi lost, a Wi-Fi roam), with probes -> settle window -> the
    access points' association events onto the timeline -> stream stops -> capture proven
    complete -> conformance.judge.judge -> the suite's result, with the
    platform named

The same judge, oracle, resolvers' logs and capture proof as the netns lane
(`conformance.runner`); what differs is only who the client is. Every failure
on the way is an ERROR with one line, as there.
"""

from __future__ import annotations

import shutil
import time
import traceback
from pathlib import Path

from conformance import runner
from conformance.cases import Case
from conformance.judge import Verdict, judge
from conformance.phases import Phases
from conformance.subject import HOOK_TIMEOUT, HookFailed, SubjectError, load
from netns.capture import read_wire
from netns.errors import LabError
from vms import contract
from vms.case_run import GuestCaseRun
from vms.cases import GUEST_TRIGGERS, USERSPACE_TUNNEL, WIFI_CASES
from vms.image import Image
from vms.lab import GuestLab

HEALTH_ASKS = 3


def run_guest_case(
    subject_ref: str,
    case: Case,
    workdir: Path,
    image: Image,
    keep_pcap: Path | None = None,
    hook_timeout: float = HOOK_TIMEOUT,
) -> runner.CaseRecord:
    """Run `case` on the subject in a guest of `image`; never raises for bad input."""
    start = time.time()
    phases = Phases()
    try:
        subject = load(subject_ref)
    except SubjectError as exc:
        return runner.CaseRecord(subject_ref, "", case, Verdict.ERROR, str(exc))
    if subject.vpn_kind != "wireguard":
        reason = f"the guest lane runs WireGuard subjects ({subject.name} is {subject.vpn_kind})"
        return runner.CaseRecord(subject.name, subject.summary, case, Verdict.ERROR, reason)
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = workdir / "wire.pcap"
    run: GuestCaseRun | None = None
    how = ""
    try:
        with GuestLab(
            image,
            workdir / "lab",
            wifi=case.id in WIFI_CASES,
            ipv6=case.lan_ipv6,
            tunnel_ipv6=case.tunnel_ipv6,
        ) as lab:
            run = GuestCaseRun(lab, subject, case, hook_timeout, phases)
            lab.start_capture(pcap)
            run.t0 = time.time()
            phases.end("build")
            try:
                how = run.power_on()
                phases.end("power-on")
                broken = _act(run)
                stream = lab.stop_stream()
                facts = lab.wire_facts()
                sysctls = lab.client_sysctls()
                lab.stop_capture()
            finally:
                _keep_console(lab, workdir)
            queries = runner._dns_queries(lab)
            phases.end("stop")
        phases.end("teardown")
    except (HookFailed, LabError) as exc:
        reason = exc.run.summary if isinstance(exc, HookFailed) else str(exc)
        return _error(subject, case, reason, start, run, image)
    except Exception as exc:  # a fault of ours is an ERROR: a verdict is never lost
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = (
            f"leakcert fault: {type(exc).__name__}: {exc}"
            f" (at {Path(where.filename).name}:{where.lineno})"
        )
        return _error(subject, case, reason, start, run, image)
    try:
        judgement = judge(
            read_wire(pcap),
            facts,
            queries,
            case,
            trigger_at=run.trigger_at,
            started=run.t0,
            broken=broken,
        )
    except Exception as exc:  # frames the subject crafted must not cost a verdict either
        reason = f"the capture could not be judged: {type(exc).__name__}: {exc}"
        return _error(subject, case, reason, start, run, image)
    phases.end("judge")
    record = runner.judged_record(
        subject,
        case,
        judgement,
        run,
        pcap,
        keep_pcap,
        stream,
        sysctls,
        start,
        extra={"platform": image.platform, "power_on": how},
    )
    record.evidence["boot_window"] = boot_window(record.evidence)
    return record


def _act(run: GuestCaseRun) -> str | None:
    """Install, connect, the trigger with its probes, the settle window; why broken, if so."""
    lab = run.lab
    if run.case.id in USERSPACE_TUNNEL:
        lab.use_userspace_tunnel()
    contract.install(lab.client, run.subject, lab.tunnel, lab.uplink)
    lab.install_stream()
    if run.subject.has("boot"):
        # The first boot was before the subject was installed: its boot unit runs now.
        run.event("hook", "boot hook (its unit, started by hand on the first boot)")
        lab.client.run("systemctl restart leakcert-subject-boot", timeout=run.hook_timeout)
    run.connect()
    lab.start_stream()
    _first_handshake(run)
    # Under TCG on shared cores one answer can come late: a tunnel is broken only
    # when none of a few asks is answered.
    broken = runner.trigger_and_watch(run, GUEST_TRIGGERS, HEALTH_ASKS)
    run.record_association()
    return broken


def _first_handshake(run: GuestCaseRun) -> None:
    """Give the tunnel its first handshake before the health probe asks through it.

    A probe waits 1.5 s for an answer, which a WireGuard handshake under TCG on a
    loaded machine can outlast; the stream, running already, starts the handshake.
    A tunnel that never shakes hands is left to the probe to call broken.
    """
    tunnel = run.lab.tunnel.interface
    run.lab.client.run(
        "timeout 30 sh -c 'until wg show %s latest-handshakes 2>/dev/null"
        ' | grep -q "[[:space:]][1-9]"; do sleep 0.1; done\' || true',
        tunnel,
        check=False,
        timeout=35,
    )


def _keep_console(lab: GuestLab, workdir: Path) -> None:
    """The guest's serial console (its boot messages) beside the pcap, as evidence."""
    if lab.vm is not None and lab.vm.console.exists():
        shutil.copyfile(lab.vm.console, workdir / "console.log")


def _error(subject, case: Case, reason: str, start: float, run, image: Image) -> runner.CaseRecord:
    evidence = {"platform": image.platform, **(runner._run_evidence(run) if run else {})}
    return runner.CaseRecord(
        subject.name,
        subject.summary,
        case,
        Verdict.ERROR,
        reason,
        duration=time.time() - start,
        evidence=evidence,
    )


def boot_window(evidence: dict) -> dict | None:
    """The real boot after the trigger, from the machine's reset to the next connect hook,
    and what leaked in it: the boot-time packets a kill switch loaded at boot holds back."""
    events = evidence["events"]
    trigger_at = evidence["trigger_at"]
    if trigger_at is None:
        return None
    boots = [e["t"] for e in events if e["kind"] == "boot" and e["t"] >= trigger_at]
    if not boots:
        return None
    hooks = [e["t"] for e in events if e["kind"] == "hook" and e["t"] > boots[0]]
    end = hooks[0] if hooks else float("inf")
    leaked = [p for p in evidence["leaked"] if boots[0] <= p["t"] < end]
    return {
        "from": boots[0],
        "to": hooks[0] if hooks else None,
        "leaked": len(leaked),
        "first": leaked[0]["summary"] if leaked else None,
    }
