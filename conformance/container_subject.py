"""Container subjects: a kill switch whose client runs in a Docker container.

A subject folder with a `[container]` table in its subject.toml and a
Dockerfile beside it:

    include = ["../wg-quick-killswitch"]                         # more of the build context

    [container]
    packages = ["wireguard-go", "wireguard-tools", "iptables"]   # Debian's, in the base image
    sysctls = { "net.ipv4.conf.all.src_valid_mark" = "1" }       # as docker run --sysctl

    # Dockerfile
    ARG BASE
    FROM $BASE
    COPY up.sh /subject/
    WORKDIR /subject

The lab builds the base (Debian with `packages`, `netns.container_images`),
the subject's image on it, and the application container's image (Debian
with what the probes run), each cached; a folder the subject includes
(`conformance.subject`) is at the top of the subject's build context under
its own name (`COPY wg-quick-killswitch/up.sh /subject/`), so a subject that
is another's kill switch in a container copies that subject's scripts and
keeps no copy of its own; then runs the subject's hooks in its container and
the probes in the application container behind it (`netns.container_client`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from netns import container_images
from netns.container_client import APP_DIR, ContainerSpec

# What the probes run in the application container (`conformance.probes`).
APP_PACKAGES = ("python3", "curl", "dnsutils", "iputils-ping", "iproute2")
PROBES_PACKAGE = Path(__file__).resolve().parent
# The probes mark their datagrams as the stream does (`netns.stream`, `netns.topology`:
# standard library only), so the lab's package is there beside them.
LAB_PACKAGE = PROBES_PACKAGE.parent / "netns"
# The PATH of a Debian container's root shell: hooks get it in place of the machine's.
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class ContainerConfig:
    """A subject.toml's [container] table, checked."""

    packages: tuple[str, ...] = ()
    sysctls: dict[str, str] = field(default_factory=dict)


def parse(table: object, toml: Path) -> ContainerConfig:
    """The [container] table, or ValueError with one line saying what is wrong."""
    if not isinstance(table, dict):
        raise ValueError(f"{toml}: [container] must be a table")
    unknown = set(table) - {"packages", "sysctls"}
    if unknown:
        raise ValueError(f"{toml}: unknown key(s) in [container]: {', '.join(sorted(unknown))}")
    packages = table.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise ValueError(f"{toml}: [container] packages must be a list of Debian package names")
    sysctls = table.get("sysctls", {})
    if not isinstance(sysctls, dict) or not all(
        isinstance(k, str) and k.startswith("net.") and isinstance(v, str | int)
        for k, v in sysctls.items()
    ):
        raise ValueError(f"{toml}: [container] sysctls must map net.* keys to values")
    if not (toml.parent / "Dockerfile").is_file():
        raise ValueError(f"{toml}: a container subject needs a Dockerfile beside it")
    return ContainerConfig(tuple(packages), {k: str(v) for k, v in sysctls.items()})


def build(
    name: str, folder: Path, config: ContainerConfig, digest: str, include: tuple[Path, ...] = ()
) -> ContainerSpec:
    """The subject's, and the application's, images, built or taken from the cache
    (the subject's by `digest`, that of what it is built from: `subject.subject_digest`),
    with the folders the subject includes in its build context.

    Raises LabError (one line) when an image cannot be built.
    """
    base = container_images.base_image(config.packages)
    return ContainerSpec(
        image=container_images.subject_image(folder, name, base, digest, include),
        app_image=container_images.base_image(APP_PACKAGES),
        sysctls=dict(config.sysctls),
        app_mounts={
            str(PROBES_PACKAGE): f"{APP_DIR}/conformance",
            str(LAB_PACKAGE): f"{APP_DIR}/netns",
        },
    )
