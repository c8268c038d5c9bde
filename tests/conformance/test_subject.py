"""A subject folder is read strictly, and every mistake is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.subject import (
    SubjectError,
    folder_digest,
    load,
    shared_folders,
    subject_digest,
)


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "subject.toml").write_text(text)
    return folder


GOOD = 'name = "x"\nsummary = "a subject"\nvpn = "wireguard"\n[hooks]\nconnect = "./up.sh"\n'


def test_a_good_subject_loads(tmp_path: Path) -> None:
    subject = load(str(write(tmp_path / "s", GOOD + 'boot = "./boot.sh"\n')))
    assert subject.name == "x" and subject.hooks == {"connect": "./up.sh", "boot": "./boot.sh"}
    assert subject.has("boot") and not subject.has("crash")
    assert load(str(tmp_path / "s" / "subject.toml")).folder == (tmp_path / "s").resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = \n", "not valid TOML"),
        ('summary = "s"\n[hooks]\nconnect = "x"\n', "`name` must be a non-empty string"),
        ('name = "x"\nsummary = "s"\n', "a [hooks] table"),
        ('name = "x"\nsummary = "s"\n[hooks]\ndisconnect = "x"\n', "`connect` hook is required"),
        ('name = "x"\nsummary = "s"\nvpn = "ipsec"\n[hooks]\nconnect = "x"\n', "vpn = 'ipsec'"),
        (
            'name = "x"\nsummary = "s"\n[hooks]\nconnect = "x"\nresume = "y"\n',
            "unknown hook(s) resume",
        ),
        ('name = "x"\nsummary = "s"\ncolour = 1\n[hooks]\nconnect = "x"\n', "unknown key(s)"),
        ('name = "x"\nsummary = "s"\n[hooks]\nconnect = 3\n', "shell command string"),
    ],
)
def test_a_broken_subject_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SubjectError) as error:
        load(str(write(tmp_path / "s", text)))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_subject_names_the_built_in_ones(tmp_path: Path) -> None:
    with pytest.raises(SubjectError, match=r"no subject\.toml in .*built-in subjects: .*reference"):
        load(str(tmp_path / "nothing-here"))


CONTAINER = GOOD.replace("[hooks]", '[container]\npackages = ["iptables"]\n%s\n[hooks]')


def test_a_container_subject_loads(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", CONTAINER % 'sysctls = { "net.ipv4.ip_forward" = 1 }')
    (folder / "Dockerfile").write_text("ARG BASE\nFROM $BASE\n")
    subject = load(str(folder))
    assert subject.container.packages == ("iptables",)
    assert subject.container.sysctls == {"net.ipv4.ip_forward": "1"}
    assert load(str(write(tmp_path / "plain", GOOD))).container is None


def test_a_subject_that_includes_its_twins_folder_shares_it_and_hashes_it(
    tmp_path: Path,
) -> None:
    twin = write(tmp_path / "twin", GOOD)
    folder = write(tmp_path / "s", 'include = ["../twin"]\n' + GOOD)
    subject = load(str(folder))
    assert subject.include == (twin.resolve(),)
    assert twin.resolve() in shared_folders(subject)  # its hooks can run the twin's scripts
    before = subject_digest(subject)
    assert before != folder_digest(folder)
    (twin / "up.sh").write_text("#!/bin/sh\n")  # a change in the twin is a change of the subject
    assert subject_digest(subject) != before
    plain = load(str(write(tmp_path / "plain", GOOD)))
    assert plain.include == () and subject_digest(plain) == folder_digest(plain.folder)


def test_a_container_subject_builds_with_the_folders_it_includes(tmp_path: Path) -> None:
    twin = write(tmp_path / "twin", GOOD)
    folder = write(tmp_path / "s", 'include = ["../twin"]\n' + CONTAINER % "")
    (folder / "Dockerfile").write_text("ARG BASE\nFROM $BASE\nCOPY twin/up.sh /subject/\n")
    subject = load(str(folder))
    assert subject.container is not None and subject.include == (twin.resolve(),)


@pytest.mark.parametrize(
    ("include", "message"),
    [
        ('include = "../twin"', "include must be a list of folders"),
        ('include = ["../absent"]', "include: ../absent is not a folder"),
        ('include = ["../twin", "../twin"]', "include: twin is taken in the subject's folder"),
    ],
)
def test_a_broken_include_is_one_line(tmp_path: Path, include: str, message: str) -> None:
    write(tmp_path / "twin", GOOD)
    folder = write(tmp_path / "s", include + "\n" + GOOD)
    with pytest.raises(SubjectError) as error:
        load(str(folder))
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("table", "dockerfile", "message"),
    [
        ("", False, "needs a Dockerfile beside it"),
        ('sysctls = { "kernel.panic" = "1" }', True, "sysctls must map net.* keys"),
        ('image = "debian"', True, "unknown key(s) in [container]: image"),
        ('include = ["../twin"]', True, "unknown key(s) in [container]: include"),
    ],
)
def test_a_broken_container_subject_is_one_line(
    tmp_path: Path, table: str, dockerfile: bool, message: str
) -> None:
    write(tmp_path / "twin", GOOD)
    folder = write(tmp_path / "s", CONTAINER % table)
    if dockerfile:
        (folder / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(SubjectError) as error:
        load(str(folder))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_packages_must_be_a_list_of_names(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", CONTAINER.replace('["iptables"]', '"iptables"') % "")
    (folder / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(SubjectError, match="packages must be a list"):
        load(str(folder))
