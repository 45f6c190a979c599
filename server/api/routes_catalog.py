"""Warehouses, locations, SKUs, barcodes and channel listings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status

from server.api.deps import ActorDep, AdminDep, PathId, ServicesDep
from server.domain.errors import ValidationFailed
from server.services.catalog import BarcodeSpec, SkuSpec
from shared.contract.catalog import (
    BarcodeEnd,
    BarcodeIn,
    CatalogImportOut,
    ImportErrorRow,
    ListingIn,
    LocationIn,
    ResolvedBarcode,
    SkuIn,
    WarehouseIn,
)
from shared.contract.common import Created

router = APIRouter(tags=["catalog"])


@router.post("/warehouses", status_code=status.HTTP_201_CREATED)
def create_warehouse(body: WarehouseIn, svc: ServicesDep, who: AdminDep) -> Created:
    return Created(id=svc.catalog.create_warehouse(actor=who, **body.model_dump()))


@router.post("/locations", status_code=status.HTTP_201_CREATED)
def create_location(body: LocationIn, svc: ServicesDep, who: AdminDep) -> Created:
    return Created(
        id=svc.catalog.create_location(warehouse_id=body.warehouse_id, code=body.code, actor=who)
    )


@router.put("/skus", status_code=status.HTTP_200_OK)
def upsert_sku(body: SkuIn, svc: ServicesDep, who: AdminDep) -> Created:
    return Created(id=svc.catalog.upsert_sku(spec=SkuSpec(**body.model_dump()), actor=who))


@router.post("/skus/{sku_id}/barcodes", status_code=status.HTTP_201_CREATED)
def add_barcode(sku_id: PathId, body: BarcodeIn, svc: ServicesDep, who: AdminDep) -> Created:
    return Created(
        id=svc.catalog.add_barcode(sku_id=sku_id, spec=BarcodeSpec(**body.model_dump()), actor=who)
    )


@router.post("/barcodes/{barcode_id}/end")
def end_barcode(barcode_id: PathId, body: BarcodeEnd, svc: ServicesDep, who: AdminDep) -> Created:
    if body.valid_to.tzinfo is None:
        raise ValidationFailed("valid_to needs a time zone")
    svc.catalog.end_barcode(barcode_id=barcode_id, valid_to=body.valid_to, actor=who)
    return Created(id=barcode_id)


@router.get("/barcodes/{value}")
def resolve_barcode(value: str, svc: ServicesDep, _: ActorDep) -> ResolvedBarcode:
    got = svc.catalog.resolve_barcode(value=value)
    return ResolvedBarcode(
        sku_id=got.sku_id, sku=got.sku_code, units=got.units, barcode_id=got.barcode_id
    )


@router.post("/catalog/import")
def import_catalog(
    svc: ServicesDep, who: AdminDep, content: Annotated[str, Body(media_type="text/csv")]
) -> CatalogImportOut:
    report = svc.catalog.import_csv(content=content, actor=who)
    return CatalogImportOut(
        created=report.created,
        updated=report.updated,
        errors=[ImportErrorRow(line=n, reason=r) for n, r in report.errors],
    )


@router.post("/listings")
def map_listing(body: ListingIn, svc: ServicesDep, who: AdminDep) -> Created:
    channel_id = svc.orders.channel_id(body.channel_code)
    svc.catalog.map_listing(
        channel_id=channel_id, listing_sku=body.listing_sku, sku_id=body.sku_id, actor=who
    )
    return Created(id=body.sku_id)
