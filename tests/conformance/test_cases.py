"""The case catalogue is complete and consistent."""

from __future__ import annotations

from conformance.cases import CASES, LEAK_CLASS_MEANINGS, LEAK_CLASSES, PROFILES, for_profile
from conformance.probes import PROBES
from conformance.subject import BUILTIN
from conformance.triggers import TRIGGERS


def test_every_leak_class_has_a_case() -> None:
    assert {case.leak_class for case in CASES} == set(LEAK_CLASSES)


def test_ids_are_unique_and_name_their_class() -> None:
    assert len({case.id for case in CASES}) == len(CASES)


def test_every_case_is_runnable_data() -> None:
    for case in CASES:
        assert case.trigger in TRIGGERS, case.id
        assert set(case.probes) <= set(PROBES), case.id
        assert case.description and case.requirement, case.id


def test_every_case_must_catch_a_foil_that_exists() -> None:
    for case in CASES:
        assert case.catches, f"{case.id} names no flawed subject it catches"
        for foil in case.catches:
            assert (BUILTIN / foil / "subject.toml").exists(), f"{case.id}: no subject {foil}"


def test_profiles() -> None:
    assert all(for_profile(p) for p in PROFILES)
    assert "tunnel.disconnect" not in {c.id for c in for_profile("seed")}
    assert "tunnel.disconnect" in {c.id for c in for_profile("always-on")}


def test_every_leak_class_is_explained_for_the_legend() -> None:
    assert set(LEAK_CLASS_MEANINGS) == set(LEAK_CLASSES)
    assert all(meaning.strip() for meaning in LEAK_CLASS_MEANINGS.values())


def test_names_asked_on_the_lan_are_judged_under_strict_only() -> None:
    strict = {c.id for c in for_profile("strict")}
    assert "names.lan" in strict
    assert "names.lan" not in {c.id for c in for_profile("seed")}
    assert "names.lan" not in {c.id for c in for_profile("always-on")}
    # strict judges everything seed does, and more.
    assert {c.id for c in for_profile("seed")} < strict
