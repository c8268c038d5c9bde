"""A subject folder is read strictly, and every mistake is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.subject import SubjectError, load


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
