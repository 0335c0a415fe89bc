"""Which backend owns which public service (PLATFORM.md), and the method table
read from the generated descriptors: the gateway never hard-codes a method."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from google.protobuf.descriptor import ServiceDescriptor

from calcwire.config import Settings

__all__ = [
    "PUBLIC_SERVICES",
    "Backend",
    "Route",
    "backend_target",
    "public_service_descriptors",
    "routes",
]

Backend = Literal["import", "eval", "validation"]
CallKind = Literal["unary_unary", "unary_stream", "stream_unary", "stream_stream"]

# public service -> (generated module, backend that serves it)
PUBLIC_SERVICES: Final[Mapping[str, tuple[str, Backend]]] = {
    "calcwire.workbooks.v1.WorkbookService": ("calcwire.workbooks.v1.workbooks_pb2", "import"),
    "calcwire.jobs.v1.JobService": ("calcwire.jobs.v1.jobs_pb2", "import"),
    "calcwire.evaluation.v1.EvaluationService": ("calcwire.evaluation.v1.evaluation_pb2", "eval"),
    "calcwire.validation.v1.ValidationService": (
        "calcwire.validation.v1.validation_pb2",
        "validation",
    ),
}


@dataclass(frozen=True, slots=True)
class Route:
    """One method the gateway forwards."""

    service: str
    method: str
    kind: CallKind

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.method}"


def backend_target(settings: Settings, backend: Backend) -> str:
    return {
        "import": settings.import_target,
        "eval": settings.eval_target,
        "validation": settings.validation_target,
    }[backend]


def public_service_descriptors() -> dict[str, ServiceDescriptor]:
    """Descriptors of every public service (importing the generated code registers
    them in the default pool, which reflection serves from)."""
    found = {}
    for full_name, (module_name, _) in PUBLIC_SERVICES.items():
        module = importlib.import_module(module_name)
        found[full_name] = module.DESCRIPTOR.services_by_name[full_name.rsplit(".", 1)[1]]
    return found


def routes(service: ServiceDescriptor) -> list[Route]:
    """The forwarding table of ``service``: each method with its call kind."""
    kinds: dict[tuple[bool, bool], CallKind] = {
        (False, False): "unary_unary",
        (False, True): "unary_stream",
        (True, False): "stream_unary",
        (True, True): "stream_stream",
    }
    return [
        Route(
            service.full_name,
            method.name,
            kinds[(method.client_streaming, method.server_streaming)],
        )
        for method in service.methods
    ]
