"""Images for container clients, built on this machine: no image registry is reached.

A base image is the machine's Debian release with the packages asked for,
made by mmdebstrap from Debian's archive and imported into the engine
(`docker import`). It is tagged by a hash of what it is made of (release,
architecture, packages, mmdebstrap's version, this recipe), so it is built once
and then taken from the engine's cache:

    leakcert/base:<hash>

A subject's image is its own Dockerfile built on that base (`ARG BASE` then
`FROM $BASE`), with no network (its packages come with the base), from its
folder and the folders it includes, tagged by a hash of those and its base;
a new build of a subject replaces its older images, so the cache holds one
image per subject.
"""

from __future__ import annotations

import fcntl
import hashlib
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

from netns.docker_engine import HOME, client, docker_module
from netns.errors import LabError

# Bump when the way a base image is made changes: its hash, and so its cache, change too.
RECIPE = 1
BUILD_TIMEOUT = 900


@cache
def debian_release() -> str:
    """The machine's Debian release (its codename): bases match the lab's own tools."""
    text = Path("/etc/os-release").read_text()
    found = re.search(r"^VERSION_CODENAME=(\S+)$", text, re.MULTILINE)
    if found is None:
        raise LabError("cannot tell this machine's Debian release (/etc/os-release)")
    return found.group(1).strip('"')


@cache
def _mmdebstrap_version() -> str:
    if shutil.which("mmdebstrap") is None:
        raise LabError("mmdebstrap is missing: apt-get install mmdebstrap")
    done = subprocess.run(["mmdebstrap", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def base_tag(packages: tuple[str, ...]) -> str:
    """The tag of the base image with `packages`: a hash of everything it is made of."""
    inputs = [
        f"recipe {RECIPE}",
        debian_release(),
        platform.machine(),
        _mmdebstrap_version(),
        *sorted(set(packages)),
    ]
    return "leakcert/base:" + hashlib.sha256("\n".join(inputs).encode()).hexdigest()[:16]


def _has(engine, tag: str) -> bool:
    try:
        engine.images.get(tag)
    except docker_module().errors.ImageNotFound:
        return False
    return True


def _build_lock():
    """One image is built at a time on this machine (a build takes both cores anyway)."""
    HOME.mkdir(parents=True, exist_ok=True)
    lock = open(HOME / "build.lock", "w")  # noqa: SIM115 - held by the with block's caller
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def base_image(packages: tuple[str, ...]) -> str:
    """The base image with `packages`, built and imported if the cache lacks it; its tag."""
    for package in packages:
        if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", package):
            raise LabError(f"{package!r} is not a Debian package name")
    tag = base_tag(packages)
    engine = client()
    with _build_lock():
        if _has(engine, tag):
            return tag
        with tempfile.TemporaryDirectory(prefix="leakcert-base-", dir="/var/tmp") as tmp:
            tarball = Path(tmp) / "root.tar"
            argv = ["mmdebstrap", "--quiet", "--variant=minbase", "--format=tar"]
            if packages:
                argv.append("--include=" + ",".join(sorted(set(packages))))
            argv += [debian_release(), str(tarball)]
            try:
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
                )
            except subprocess.TimeoutExpired:
                raise LabError(f"mmdebstrap ran past {BUILD_TIMEOUT}s building {tag}") from None
            if done.returncode != 0:
                last = (done.stderr.strip() or "no output").splitlines()[-1]
                raise LabError(f"mmdebstrap could not build {tag}: {last}")
            repository, version = tag.split(":")
            engine.api.import_image_from_file(str(tarball), repository=repository, tag=version)
    return tag


def subject_image(
    folder: Path, name: str, base: str, digest: str, include: tuple[Path, ...] = ()
) -> str:
    """The subject's Dockerfile built on `base`, cached by `digest` (of its folder and
    `include`); its tag. The build context is the folder, with each folder of `include`
    at its top under its own name.

    A Dockerfile that fails to build is a LabError of one line.
    """
    if not (folder / "Dockerfile").is_file():
        raise LabError(f"no Dockerfile in {folder}")
    clean = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.") or "x"
    repository = f"leakcert/subject-{clean}"
    tag = f"{repository}:{hashlib.sha256((digest + base).encode()).hexdigest()[:16]}"
    engine = client()
    docker = docker_module()
    with _build_lock():
        if _has(engine, tag):
            return tag
        try:
            with _context(folder, include) as context:
                engine.images.build(
                    path=str(context),
                    tag=tag,
                    buildargs={"BASE": base},
                    network_mode="none",
                    pull=False,
                    rm=True,
                    forcerm=True,
                    timeout=BUILD_TIMEOUT,
                )
        except docker.errors.BuildError as exc:
            reason = _one_line(exc.msg)
            raise LabError(f"the subject's Dockerfile failed to build: {reason}") from None
        except docker.errors.APIError as exc:
            reason = _one_line(exc.explanation or str(exc))
            raise LabError(f"the subject's image could not be built: {reason}") from None
        except OSError as exc:  # a folder of the context that cannot be copied
            raise LabError(f"the subject's build context could not be made: {exc}") from None
    # Older builds of this subject go by their tags: an image another tag still
    # names (its base, for a Dockerfile with no step of its own) stays.
    for image in engine.images.list(name=repository):
        for old in image.tags:
            if old.startswith(f"{repository}:") and old != tag:
                with suppress(docker.errors.APIError):  # in use by a running lab: next time
                    engine.images.remove(old)
    return tag


@contextmanager
def _context(folder: Path, include: tuple[Path, ...]) -> Iterator[Path]:
    """The build context: the subject's folder, or a copy of it with the included folders."""
    if not include:
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="leakcert-context-", dir="/var/tmp") as tmp:
        context = Path(tmp) / "context"
        # Links stay links, as the engine's own upload of a folder keeps them.
        shutil.copytree(folder, context, symlinks=True)
        for extra in include:
            shutil.copytree(extra, context / extra.name, symlinks=True)
        yield context


def _one_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"
