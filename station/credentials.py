"""The station's own token, kept on disk readable by its user only (enrolment happens once)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class StationCredentials:
    station_id: int
    name: str
    token: str


def load(path: Path) -> StationCredentials | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return StationCredentials(int(data["station_id"]), str(data["name"]), str(data["token"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is damaged ({exc}); enrol the station again") from exc


def save(path: Path, creds: StationCredentials) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Written with 0600 from the start and renamed into place: never a half-written token.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"station_id": creds.station_id, "name": creds.name, "token": creds.token}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
