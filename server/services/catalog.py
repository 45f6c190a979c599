"""Catalog use cases: warehouses and locations, SKUs, barcodes with mapping windows, CSV import."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, delete, insert, select, text, tuple_, update

from server.db import audit
from server.db import tables as t
from server.domain.actor import Actor
from server.domain.barcode_windows import Window, ensure_no_overlap
from server.domain.errors import DuplicateEntry, InvalidBarcode, NotFound, ValidationFailed
from server.domain.locations import SELLABLE_KINDS, VIRTUAL_KINDS, LocationKind, virtual_code
from server.services.context import Clock
from server.services.unit_of_work import UnitOfWork
from shared.barcodes.gtin import is_valid_gtin


@dataclass(frozen=True, slots=True)
class SkuSpec:
    code: str
    name: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    unit_value: Decimal
    currency: str = "EUR"
    track_lot: bool = False
    track_serial: bool = False
    track_expiry: bool = False
    release_date: date | None = None


@dataclass(frozen=True, slots=True)
class BarcodeSpec:
    value: str
    kind: str  # "gtin" | "internal" | "case"
    units: int = 1
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    sku_id: int
    sku_code: str
    units: int
    barcode_id: int


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int
    updated: int
    errors: tuple[tuple[int, str], ...]  # (line number, reason)


def check_barcode(spec: BarcodeSpec) -> None:
    if spec.kind not in ("gtin", "internal", "case"):
        raise InvalidBarcode(f"unknown barcode kind {spec.kind!r}")
    if spec.units < 1:
        raise InvalidBarcode("a barcode stands for at least one unit")
    if spec.kind == "gtin" and spec.units != 1:
        raise InvalidBarcode("a unit GTIN stands for one unit; use kind 'case' for packs")
    value = spec.value.strip()
    if not value or len(value) > 80 or not value.isprintable():
        raise InvalidBarcode("a barcode must be 1-80 printable characters")
    if (spec.kind == "gtin" or (spec.kind == "case" and value.isdigit())) and not is_valid_gtin(
        value
    ):
        raise InvalidBarcode(f"{value} is not a valid GTIN-8/12/13/14 (length or check digit)")


class CatalogService:
    def __init__(self, *, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    # --- warehouses and locations ----------------------------------------------------------

    def create_warehouse(
        self,
        *,
        code: str,
        name: str,
        country: str,
        postcode: str,
        actor: Actor,
        latitude: float | None = None,
        longitude: float | None = None,
        street: str = "",
        city: str = "",
        phone: str = "",
    ) -> int:
        def work(conn: Connection) -> int:
            now = self.clock()
            if conn.execute(select(t.warehouse.c.id).where(t.warehouse.c.code == code)).first():
                raise DuplicateEntry(f"warehouse {code} already exists")
            wid = conn.execute(
                insert(t.warehouse)
                .values(
                    code=code,
                    name=name,
                    country=country.upper(),
                    postcode=postcode,
                    latitude=latitude,
                    longitude=longitude,
                    street=street,
                    city=city,
                    phone=phone,
                    created_at=now,
                )
                .returning(t.warehouse.c.id)
            ).scalar_one()
            conn.execute(
                insert(t.location),
                [
                    {
                        "warehouse_id": wid,
                        "code": virtual_code(kind),
                        "kind": kind.value,
                        "sellable": False,
                    }
                    for kind in VIRTUAL_KINDS
                ],
            )
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="warehouse",
                entity_id=wid,
                action="create",
                detail={"code": code},
            )
            return int(wid)

        return self.uow.write(work)

    def create_location(
        self, *, warehouse_id: int, code: str, actor: Actor, kind: LocationKind = LocationKind.BIN
    ) -> int:
        def work(conn: Connection) -> int:
            now = self.clock()
            if (
                conn.execute(
                    select(t.warehouse.c.id).where(t.warehouse.c.id == warehouse_id)
                ).first()
                is None
            ):
                raise NotFound(f"warehouse {warehouse_id} does not exist")
            exists = conn.execute(
                select(t.location.c.id).where(
                    t.location.c.warehouse_id == warehouse_id, t.location.c.code == code
                )
            ).first()
            if exists:
                raise DuplicateEntry(f"location {code} already exists")
            lid = conn.execute(
                insert(t.location)
                .values(
                    warehouse_id=warehouse_id,
                    code=code,
                    kind=kind.value,
                    sellable=kind in SELLABLE_KINDS,
                )
                .returning(t.location.c.id)
            ).scalar_one()
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="location",
                entity_id=lid,
                action="create",
                detail={"code": code},
            )
            return int(lid)

        return self.uow.write(work)

    # --- SKUs and barcodes ---------------------------------------------------------------

    def upsert_sku(self, *, spec: SkuSpec, actor: Actor) -> int:
        return self.uow.write(lambda conn: self._upsert_sku(conn, spec, actor)[0])

    def _upsert_sku(self, conn: Connection, spec: SkuSpec, actor: Actor) -> tuple[int, bool]:
        if not spec.code.strip() or not spec.name.strip():
            raise ValidationFailed("a SKU needs a code and a name")
        if min(spec.weight_g, spec.length_mm, spec.width_mm, spec.height_mm) < 0:
            raise ValidationFailed("weights and dimensions cannot be negative")
        if spec.unit_value < 0:
            raise ValidationFailed("a SKU's value cannot be negative")
        now = self.clock()
        values = {
            "name": spec.name,
            "weight_g": spec.weight_g,
            "length_mm": spec.length_mm,
            "width_mm": spec.width_mm,
            "height_mm": spec.height_mm,
            "unit_value": spec.unit_value,
            "currency": spec.currency.upper(),
            "track_lot": spec.track_lot,
            "track_serial": spec.track_serial,
            "track_expiry": spec.track_expiry,
            "release_date": spec.release_date,
            "updated_at": now,
        }
        existing = conn.execute(select(t.sku.c.id).where(t.sku.c.code == spec.code)).scalar()
        if existing is not None:
            conn.execute(update(t.sku).where(t.sku.c.id == existing).values(**values))
            sku_id, created = int(existing), False
        else:
            sku_id = int(
                conn.execute(
                    insert(t.sku)
                    .values(code=spec.code, created_at=now, **values)
                    .returning(t.sku.c.id)
                ).scalar_one()
            )
            created = True
        audit.record(
            conn,
            at=now,
            station_id=actor.station_id,
            operator_id=actor.operator_id,
            entity="sku",
            entity_id=sku_id,
            action="create" if created else "update",
            detail={"code": spec.code},
        )
        return sku_id, created

    def add_barcode(self, *, sku_id: int, spec: BarcodeSpec, actor: Actor) -> int:
        return self.uow.write(lambda conn: self._add_barcode(conn, sku_id, spec, actor))

    def _add_barcode(self, conn: Connection, sku_id: int, spec: BarcodeSpec, actor: Actor) -> int:
        check_barcode(spec)
        now = self.clock()
        value = spec.value.strip()
        if conn.execute(select(t.sku.c.id).where(t.sku.c.id == sku_id)).first() is None:
            raise NotFound(f"SKU {sku_id} does not exist")
        if conn.dialect.name == "postgresql":
            # Serialise writers of the same barcode value: two overlapping windows inserted at
            # once would each pass the check below. The exclusion constraint is the backstop.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:v))"), {"v": value})
        new = Window(sku_id, spec.valid_from or now, spec.valid_to)
        if new.valid_to is not None and new.valid_to <= new.valid_from:
            raise ValidationFailed("a barcode window must end after it starts")
        b = t.barcode
        existing = [
            Window(int(r.sku_id), r.valid_from, r.valid_to)
            for r in conn.execute(
                select(b.c.sku_id, b.c.valid_from, b.c.valid_to).where(b.c.value == value)
            )
        ]
        ensure_no_overlap(value=value, new=new, existing=existing)
        bid = conn.execute(
            insert(b)
            .values(
                sku_id=sku_id,
                value=value,
                kind=spec.kind,
                units=spec.units,
                valid_from=new.valid_from,
                valid_to=new.valid_to,
                created_at=now,
            )
            .returning(b.c.id)
        ).scalar_one()
        audit.record(
            conn,
            at=now,
            station_id=actor.station_id,
            operator_id=actor.operator_id,
            entity="barcode",
            entity_id=bid,
            action="create",
            detail={"value": value, "sku_id": sku_id, "units": spec.units},
        )
        return int(bid)

    def end_barcode(self, *, barcode_id: int, valid_to: datetime, actor: Actor) -> None:
        """Close a mapping window, e.g. the old barcode once relabelling is done."""

        def work(conn: Connection) -> None:
            now = self.clock()
            b = t.barcode
            row = conn.execute(select(b).where(b.c.id == barcode_id)).first()
            if row is None:
                raise NotFound(f"barcode {barcode_id} does not exist")
            if valid_to <= row.valid_from:
                raise ValidationFailed("a barcode window must end after it starts")
            if row.valid_to is not None and valid_to > row.valid_to:
                raise ValidationFailed("a window can be shortened, not extended past its end")
            conn.execute(update(b).where(b.c.id == barcode_id).values(valid_to=valid_to))
            audit.record(
                conn,
                at=now,
                station_id=actor.station_id,
                operator_id=actor.operator_id,
                entity="barcode",
                entity_id=barcode_id,
                action="end",
                detail={"valid_to": valid_to.isoformat()},
            )

        self.uow.write(work)

    def resolve_barcode(self, *, value: str, at: datetime | None = None) -> Resolved:
        def work(conn: Connection) -> Resolved:
            return resolve(conn, value=value, at=at or self.clock())

        return self.uow.read(work)

    # --- CSV import -------------------------------------------------------------------

    def import_csv(self, *, content: str, actor: Actor) -> ImportReport:
        """Columns: sku,name,weight_g,length_mm,width_mm,height_mm,unit_value,currency,
        track_lot,track_serial,track_expiry,barcodes (';'-separated, `value*N` for a case).
        A bad row is reported with its line number and the good rows still commit."""
        reader = csv.DictReader(io.StringIO(content))
        required = {"sku", "name", "weight_g", "length_mm", "width_mm", "height_mm", "unit_value"}
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise ValidationFailed(f"the CSV lacks columns: {', '.join(sorted(missing))}")
        created = updated = 0
        errors: list[tuple[int, str]] = []
        for row in reader:
            line = reader.line_num
            try:
                spec, barcodes = _parse_sku_row(row)
            except ValueError as exc:
                errors.append((line, str(exc)))
                continue

            def work(
                conn: Connection, spec: SkuSpec = spec, barcodes: list[BarcodeSpec] = barcodes
            ) -> bool:
                sku_id, was_new = self._upsert_sku(conn, spec, actor)
                now = self.clock()
                for bc in barcodes:
                    current = _current_owner(conn, bc.value, now)
                    if current == sku_id:
                        continue  # re-import of the same mapping
                    self._add_barcode(conn, sku_id, bc, actor)
                return was_new

            try:
                if self.uow.write(work):
                    created += 1
                else:
                    updated += 1
            except (ValidationFailed, InvalidBarcode, DuplicateEntry) as exc:
                errors.append((line, exc.detail))
            except Exception as exc:  # one row's database error must not lose the others
                errors.append((line, f"{type(exc).__name__}: {exc}"))
        return ImportReport(created, updated, tuple(errors))

    def import_postcodes(self, *, content: str) -> int:
        """Postcode centroids for proximity allocation, from the GeoNames postal-code dump
        (tab-separated: country, postal code, place, admin..., latitude, longitude, accuracy)
        or a CSV `country,prefix,latitude,longitude`. Re-importing replaces values."""
        rows: dict[tuple[str, str], tuple[float, float]] = {}
        for n, line in enumerate(content.splitlines(), start=1):
            if not line.strip() or line.lower().startswith("country,"):
                continue
            parts = line.split("\t") if "\t" in line else line.split(",")
            try:
                if len(parts) >= 11:  # GeoNames: latitude and longitude are columns 10 and 11
                    country, code, lat, lon = parts[0], parts[1], parts[9], parts[10]
                else:
                    country, code, lat, lon = parts[:4]
                key = (country.strip().upper(), code.replace(" ", "").upper())
                rows[key] = (float(lat), float(lon))
            except (ValueError, IndexError) as exc:
                raise ValidationFailed(f"postcode line {n} is not readable: {exc}") from exc
            if not (-90 <= rows[key][0] <= 90 and -180 <= rows[key][1] <= 180):
                raise ValidationFailed(f"postcode line {n}: coordinates out of range")

        def work(conn: Connection) -> int:
            pc = t.postcode_centroid
            keys = list(rows)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                conn.execute(delete(pc).where(tuple_(pc.c.country, pc.c.prefix).in_(chunk)))
                conn.execute(
                    insert(pc),
                    [
                        {"country": c, "prefix": p, "latitude": rows[(c, p)][0],
                         "longitude": rows[(c, p)][1]}
                        for c, p in chunk
                    ],
                )  # fmt: skip
            return len(keys)

        return self.uow.write(work)

    def map_listing(self, *, channel_id: int, listing_sku: str, sku_id: int, actor: Actor) -> None:
        def work(conn: Connection) -> None:
            map_listing(
                conn,
                channel_id=channel_id,
                listing_sku=listing_sku,
                sku_id=sku_id,
                actor=actor,
                now=self.clock(),
            )

        self.uow.write(work)


def map_listing(
    conn: Connection,
    *,
    channel_id: int,
    listing_sku: str,
    sku_id: int,
    actor: Actor,
    now: datetime,
) -> None:
    if conn.execute(select(t.sku.c.id).where(t.sku.c.id == sku_id)).first() is None:
        raise NotFound(f"SKU {sku_id} does not exist")
    cl = t.channel_listing
    existing = conn.execute(
        select(cl.c.id).where(cl.c.channel_id == channel_id, cl.c.listing_sku == listing_sku)
    ).scalar()
    if existing is not None:
        conn.execute(update(cl).where(cl.c.id == existing).values(sku_id=sku_id))
    else:
        conn.execute(
            insert(cl).values(
                channel_id=channel_id, listing_sku=listing_sku, sku_id=sku_id, created_at=now
            )
        )
    audit.record(
        conn,
        at=now,
        station_id=actor.station_id,
        operator_id=actor.operator_id,
        entity="channel_listing",
        entity_id=f"{channel_id}:{listing_sku}",
        action="map",
        detail={"sku_id": sku_id},
    )


def _current_owner(conn: Connection, value: str, at: datetime) -> int | None:
    try:
        return resolve(conn, value=value, at=at).sku_id
    except NotFound:
        return None


def resolve(conn: Connection, *, value: str, at: datetime) -> Resolved:
    b, s = t.barcode, t.sku
    rows = conn.execute(
        select(b.c.id, b.c.sku_id, b.c.units, b.c.valid_from, b.c.valid_to, s.c.code)
        .join(s, s.c.id == b.c.sku_id)
        .where(b.c.value == value.strip())
    ).all()
    for r in rows:
        if Window(r.sku_id, r.valid_from, r.valid_to).contains(at):
            return Resolved(int(r.sku_id), str(r.code), int(r.units), int(r.id))
    if rows:
        ended = max((r.valid_to for r in rows if r.valid_to is not None), default=None)
        if ended is not None and ended <= at:
            raise NotFound(f"barcode {value} stopped being valid on {ended:%Y-%m-%d %H:%M} UTC")
        raise NotFound(f"barcode {value} is not valid yet")
    raise NotFound(f"barcode {value} is not in the catalog")


def _flag(value: str | None) -> bool:
    v = (value or "").strip().lower()
    if v in ("", "0", "false", "no", "n"):
        return False
    if v in ("1", "true", "yes", "y"):
        return True
    raise ValueError(f"{value!r} is not yes/no")


def _parse_sku_row(row: dict[str, str]) -> tuple[SkuSpec, list[BarcodeSpec]]:
    try:
        spec = SkuSpec(
            code=(row.get("sku") or "").strip(),
            name=(row.get("name") or "").strip(),
            weight_g=int(row["weight_g"]),
            length_mm=int(row["length_mm"]),
            width_mm=int(row["width_mm"]),
            height_mm=int(row["height_mm"]),
            unit_value=Decimal(row["unit_value"]),
            currency=(row.get("currency") or "EUR").strip() or "EUR",
            track_lot=_flag(row.get("track_lot")),
            track_serial=_flag(row.get("track_serial")),
            track_expiry=_flag(row.get("track_expiry")),
        )
    except (TypeError, KeyError, InvalidOperation) as exc:
        raise ValueError(f"unreadable value: {exc}") from exc
    if not spec.code:
        raise ValueError("the sku column is empty")
    barcodes: list[BarcodeSpec] = []
    for item in (row.get("barcodes") or "").split(";"):
        item = item.strip()
        if not item:
            continue
        value, _, units = item.partition("*")
        n = int(units) if units else 1
        kind = "case" if n > 1 else ("gtin" if value.isdigit() else "internal")
        barcodes.append(BarcodeSpec(value=value.strip(), kind=kind, units=n))
    return spec, barcodes
