"""The `leakcert` command.

    leakcert certify PATH_OR_NAME [--profile P] [--out DIR] [-n N] [--case GLOB]...
    leakcert report RESULTS.json --out DIR
    leakcert gate RESULTS.json [--must-pass S] [--foil S]
    leakcert subjects | cases [--profile P] | doctor

`certify` runs the profile's cases (or the `--case` selection) through pytest
and leakcert's plugin on xdist workers, then writes into DIR the results, the
report (report/index.html) and the certificate (certificate.json,
certificate.html, badge.svg). Exit status: 0 PASS, 1 any LEAK or BROKEN, 2
ERROR (a case not judged or missing) or bad input, said in one line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

from conformance import gate
from conformance.cases import PROFILES, for_profile
from conformance.plugin import selected_cases
from conformance.results import ResultsError, load_results
from conformance.subject import BUILTIN, SubjectError, load
from leakcert import doctor
from netns import home
from reports import __main__ as report_cli
from reports.certificate import Scope, certificate, write_certificate
from reports.render import ReportError, render_report

EXIT = {"PASS": 0, "LEAK": 1, "BROKEN": 1, "ERROR": 2}
# Options handed to pytest whatever the folder it runs from holds.
PYTEST_INI = "[pytest]\n"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line like every other failure, instead of argparse's usage block.
        print(f"leakcert: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="leakcert", description="Certify VPN kill switches from packet captures.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    certify = commands.add_parser("certify", help="run the cases on a subject; write a certificate")
    certify.add_argument("subject", help="a subject folder (with subject.toml) or a built-in name")
    certify.add_argument("--profile", default="seed", choices=PROFILES)
    certify.add_argument("--out", type=Path, default=Path("leakcert-results"))
    certify.add_argument("-n", "--workers", type=int, default=2, help="xdist workers (default 2)")
    certify.add_argument(
        "--case",
        action="append",
        default=[],
        metavar="ID_OR_GLOB",
        help="certify only these cases (repeatable; the certificate says it is partial)",
    )
    certify.add_argument("--hook-timeout", type=float, default=30.0)
    for name, text in (
        ("report", "render a results file as HTML (python -m reports)"),
        ("gate", "a results file's exit status (python -m conformance.gate)"),
    ):
        sub = commands.add_parser(name, help=text, add_help=False)
        sub.add_argument("args", nargs=argparse.REMAINDER)
    commands.add_parser("subjects", help="list the built-in subjects")
    cases = commands.add_parser("cases", help="list the cases: ids, leak classes, requirements")
    cases.add_argument("--profile", default=None, choices=PROFILES)
    commands.add_parser("doctor", help="check this machine; say what to install")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `report` and `gate` take their own modules' options, untouched.
    if argv[:1] == ["report"]:
        return report_cli.main(argv[1:])
    if argv[:1] == ["gate"]:
        return gate.main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "certify":
        return certify(args)
    try:
        if args.command == "subjects":
            return _subjects()
        if args.command == "cases":
            return _cases(args.profile)
        return doctor.main()
    except BrokenPipeError:
        # A listing piped into `head`: the reader has what it wanted.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def certify(args: argparse.Namespace) -> int:
    out = args.out.resolve()
    # An earlier run's results or certificate must never be taken for this one's.
    for old in ("results.json", "certificate.json", "certificate.html", "badge.svg"):
        (out / old).unlink(missing_ok=True)
    try:
        subject = load(args.subject)
    except SubjectError as exc:
        return _bad(str(exc))
    cases = selected_cases(args.profile, args.case)
    if not cases:
        return _bad(f"--case {' '.join(args.case)}: no case of the {args.profile} profile matches")
    if args.workers < 0:
        return _bad("-n must be 0 or more")
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    ini = out / ".pytest.ini"
    ini.write_text(PYTEST_INI)
    command = [
        # Test ids read conformance/test_conformance.py::..., wherever leakcert is installed.
        *(sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(home.HOME)),
        *("-p", "no:cacheprovider", "-n", str(args.workers), "-q"),
        *("--leakcert-subject", str(subject.folder), "--leakcert-profile", args.profile),
        *("--leakcert-results", str(results_path)),
        *("--leakcert-hook-timeout", str(args.hook_timeout)),
        *(f"--leakcert-case={pattern}" for pattern in args.case),
    ]
    print(f"leakcert: certifying {subject.name} ({len(cases)} cases, profile {args.profile})")
    sys.stdout.flush()
    pytest_exit = subprocess.run(command, cwd=out, env=os.environ.copy()).returncode
    try:
        results = load_results(results_path)
    except ResultsError as exc:
        return _bad(f"the run wrote no usable results (pytest exited {pytest_exit}): {exc}")
    try:
        index = render_report(results, out / "report")
    except (ResultsError, ReportError) as exc:
        return _bad(f"the report could not be written: {exc}")
    scope = Scope(args.profile, [c.id for c in for_profile(args.profile)], [c.id for c in cases])
    cert = certificate(results, subject.name, scope)
    paths = write_certificate(cert, out)
    print(f"leakcert: {cert['summary']}")
    print(f"leakcert: report {index}")
    print(f"leakcert: certificate {paths['html']} ({paths['json'].name}, {paths['badge'].name})")
    print(f"leakcert: {subject.name} {cert['verdict']} {cert['passed']}/{cert['certified_cases']}")
    return EXIT[cert["verdict"]]


def _bad(message: str) -> int:
    print(f"leakcert: {message}", file=sys.stderr)
    return 2


def _subjects() -> int:
    for folder in sorted(BUILTIN.iterdir()):
        try:
            subject = load(str(folder))
        except SubjectError:
            continue
        print(f"{subject.name:24} {subject.vpn_kind:9} {subject.summary}")
    return 0


def _cases(profile: str | None) -> int:
    for profile_name in [profile] if profile else list(PROFILES):
        print(f"profile {profile_name}:")
        for case in for_profile(profile_name):
            print(f"  {case.id:28} {case.leak_class:10} {case.title}")
            print(f"  {'':28} {'':10} requires: {' '.join(case.requirement.split())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
