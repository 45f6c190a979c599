"""Who is acting: the station and operator recorded on every write."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Actor:
    station_id: int | None = None
    operator_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    name: str = "system"

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles)) or "admin" in self.roles


# Administrative commands run from the server's own CLI act as this.
SYSTEM = Actor(roles=frozenset({"admin"}), name="system")
