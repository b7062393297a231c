"""Instance names and each instance's settings, for the processes of memstream_cli/processes.py.

An instance is one process of a component: "streams-2" is the second stream worker. Its settings differ from the
system's in its name (``process_instance``; a worker's ``worker_instance`` too) and its ports: instance k serves
every port of instance 1 shifted by (k - 1) * ``instance_port_stride``, and API processes behind the balancer
listen 1..N strides above ``api_port``, which the balancer holds.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace

from memory.settings import Settings

COMPONENT_NAMES = ("streams", "projections", "api")


class UnknownInstance(ValueError):
    """A name that is neither a component nor "<component>-<n>"."""


def instance_name(component: str, index: int) -> str:
    return f"{component}-{index}"


def parse_instance(name: str) -> tuple[str, int]:
    """("streams", 2) for "streams-2"; a bare component name is its first instance."""
    if name in COMPONENT_NAMES:
        return name, 1
    component, _, index = name.rpartition("-")
    if component not in COMPONENT_NAMES or not index.isdigit() or int(index) < 1:
        known = ", ".join(COMPONENT_NAMES)
        raise UnknownInstance(f"no such process {name!r}: a component ({known}) or '<component>-<n>'")
    return component, int(index)


def _shifted(port: int, by: int) -> int:
    return port + by if port > 0 else port  # 0 stays 0: no port


def instance_settings(settings: Settings, name: str, balanced_api: bool) -> Settings:
    """The settings one instance runs with: its name, and its ports shifted clear of every other instance's."""
    component, index = parse_instance(name)
    shift = (index - 1) * settings.instance_port_stride
    if component == "streams":
        return replace(
            settings,
            process_instance=name,
            worker_instance=name,
            streams_metrics_port=_shifted(settings.streams_metrics_port, shift),
        )
    if component == "projections":
        return replace(
            settings, process_instance=name, projections_metrics_port=_shifted(settings.projections_metrics_port, shift)
        )
    # An API process behind the balancer leaves api_port to it: the first listens one stride above.
    api_port = settings.api_port + index * settings.instance_port_stride if balanced_api else settings.api_port
    return replace(settings, process_instance=name, api_port=api_port)


class Instances(dict[str, "subprocess.Popen[bytes]"]):
    """The processes by instance name; a component's bare name stands for its only instance."""

    def of(self, component: str) -> list[str]:
        return sorted((n for n in self.keys() if parse_instance(n)[0] == component), key=lambda n: parse_instance(n)[1])

    def resolve(self, name: str) -> str:
        if dict.__contains__(self, name):
            return name
        named = self.of(name) if name in COMPONENT_NAMES else []
        if len(named) == 1:
            return named[0]
        if not named:
            raise KeyError(name)
        raise KeyError(f"{name!r} runs {len(named)} instances ({', '.join(named)}): name one")

    def __missing__(self, name: str) -> subprocess.Popen[bytes]:
        return dict.__getitem__(self, self.resolve(name))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.resolve(name)
        except KeyError:
            return False
        return True
