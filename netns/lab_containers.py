"""A lab whose client is containers (`netns.container_client`): its namespace is the
holder container's, attached under the client's name, so that everything else the
lab does to its client (wiring, DHCP, capture, stream, faults, reboots) is done as
for any client. A part of `netns.lab.Lab`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from netns import docker_engine, namespaces
from netns.container_client import ContainerClient, ContainerSpec
from netns.errors import LabError
from netns.registry import ETC_NETNS


class LabContainers:
    """The client's containers, when the lab's client is a container client (a mixin of `Lab`)."""

    client_container: ContainerSpec | None
    containers: ContainerClient | None = None
    _containers_record: docker_engine.ContainersRecord | None = None

    def _create_namespace(self, role: str, namespace: str) -> None:
        if role != "client" or self.client_container is None:
            namespaces.create(namespace)
            return
        prefix = f"leakcert-{self.lab_id}"
        names = [f"{prefix}-{role}" for role in ("app", "vpn", "holder")]
        self._containers_record = docker_engine.record_containers(self.lab_id, names)
        self.containers = ContainerClient(
            docker_engine.client(),
            prefix,
            self.client_container,
            ETC_NETNS / namespace / "resolv.conf",
            self.workdir / "hook-io",
        )
        pid = self.containers.create_holder()
        attach = subprocess.run(
            ["ip", "netns", "attach", namespace, str(pid)], capture_output=True, text=True
        )
        if attach.returncode != 0:
            reason = attach.stderr.strip()
            raise LabError(f"cannot attach the holder container's namespace: {reason}")

    def _container_boot(
        self, writable: tuple[Path, ...], readonly: tuple[Path, ...]
    ) -> ContainerClient:
        """This boot's VPN and application containers, started on first use."""
        self.containers.writable = writable
        self.containers.readonly = readonly
        self.containers.start()
        return self.containers

    def _remove_containers(self) -> None:
        """Teardown: the client's containers go, and their record with them."""
        if self._containers_record is not None:
            self._containers_record.release()
            self._containers_record = None
