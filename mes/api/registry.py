"""The FHIR resources served by the bricks, as declared in the server's CapabilityStatement.

Each brick that serves a FHIR resource registers it here from its ``AppConfig.ready``.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FHIRResource:
    type: str
    profiles: tuple[str, ...] = ()
    interactions: tuple[str, ...] = ("read", "search-type")
    search_params: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def capability(self) -> dict:
        entry: dict = {"type": self.type, "interaction": [{"code": code} for code in self.interactions]}
        if self.profiles:
            entry["supportedProfile"] = list(self.profiles)
        if self.search_params:
            entry["searchParam"] = [{"name": name, "type": kind} for name, kind in self.search_params]
        return entry


_RESOURCES: dict[str, FHIRResource] = {}


def register_fhir_resource(resource: FHIRResource) -> None:
    _RESOURCES[resource.type] = resource


def fhir_resources() -> list[FHIRResource]:
    return [_RESOURCES[name] for name in sorted(_RESOURCES)]
