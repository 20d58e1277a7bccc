"""Time the web pages and their APIs with many reports in the store (issue 7: "well under a second with 100k").

Starts its own store (nx-27017, under var/bench/), fills tracking with `--reports` cases (and sla with their
response clocks) shaped by the services' own domain functions, starts the whole stack on the real bus, signs
in the demo officers and fetches every main page over HTTP. Prints, per page, the first (cold) time and the
p50/p95/max of the next `--repeat` requests.

    make bench-pages                      # 100k reports
    make bench-pages BENCH_ARGS="--reports 20000 --repeat 5"
"""
import argparse
import random
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from bench.e2e import summarize
from bench.stack import own_stack
from devstack import launcher
from services.common.mongo import open_repository
from services.common.tracking_ids import FIRST_SEQUENCE_NUMBER, make_tracking_id
from services.routing.storage import RoutingRepository
from services.sla import domain as sla_domain
from services.sla.storage import SlaRepository
from services.tracking import domain as tracking_domain
from services.tracking.storage import TrackingRepository

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-pages-123"
BATCH = 1000
DEMO_AGENCY = "KOTA-18.72"
# Roughly the share of each status in a year of reports.
STATUS_WEIGHTS = {"received": 4, "verified": 1, "disposed": 6, "in_progress": 10, "completed": 60,
                  "rejected": 9, "archived": 10}
TITLES = ("Jalan berlubang di depan sekolah", "Lampu penerangan jalan mati", "Sampah menumpuk di pasar",
          "Pungutan liar pembuatan KTP", "Antrean BPJS terlalu lama", "Banjir setiap hujan di perumahan",
          "Guru jarang hadir di kelas", "Air PDAM keruh seminggu", "Izin usaha tidak kunjung terbit")
CHANNELS = ("web", "web", "web", "mobile", "mobile", "sms", "twitter", "api")
TYPES = ("complaint", "complaint", "complaint", "aspiration", "information_request")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--days", type=int, default=365, help="spread the reports over this many days")
    parser.add_argument("--keep", action="store_true", help="keep var/bench/pages-store afterwards")
    return parser.parse_args(argv)


def agencies_by_region(routing):
    """[(agency code, name, region code)] of the seeded agencies with a region: where reports are disposed."""
    return [(a["code"], a["name"], a.get("region_code")) for a in routing.db.agencies.find({}, {"code": 1, "name": 1,
            "region_code": 1}) if a.get("region_code")]


def seeded_case(n, rng, agencies, now, days):
    """One tracking case and, once disposed, its response clock (None before)."""
    tracking_id = make_tracking_id(FIRST_SEQUENCE_NUMBER + n)
    submitted_at = now - timedelta(seconds=rng.randrange(days * 86400))
    code, name, region = DEMO_AGENCY_ROW if rng.random() < 0.02 else rng.choice(agencies)
    event = {"tracking_id": tracking_id, "type": rng.choice(TYPES), "title": f"{rng.choice(TITLES)} #{n}",
             "body": "Kronologi: sejak tiga minggu lalu belum ada perbaikan. " * 4, "channel": rng.choice(CHANNELS),
             "location": {"region_code": region}, "agency_code": None, "anonymous": rng.random() < 0.1,
             "confidential": rng.random() < 0.05, "access_code_hash": "bench", "submitted_at": submitted_at,
             "category": None}
    case = tracking_domain.new_case(event)
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    case.update(status=status, version=3)
    if status in ("received", "verified", "rejected"):
        return case, None
    disposed_at = submitted_at + timedelta(hours=rng.randrange(1, 72))
    due_at = disposed_at + timedelta(days=7)
    answered = status != "disposed" and rng.random() < 0.95
    answered_at = disposed_at + timedelta(hours=rng.randrange(1, 240)) if answered else None
    case.update(agency_code=code, agency_name=name, case_class="regular", due_version=3,
                due_at=due_at if status in ("disposed", "in_progress") else None,
                first_response_at=answered_at,
                first_response_seconds=(answered_at - submitted_at).total_seconds() if answered_at else None)
    clock = sla_domain.new_clock({"at": disposed_at, "tracking_id": tracking_id, "version": 2, "agency_code": code,
                                  "agency_name": name, "case_class": "regular"}, "response", 5, due_at,
                                 due_at - timedelta(days=1))
    clock.update(answered_at=answered_at, state="stopped" if answered_at else "running")
    return case, settled(clock, now)


def settled(clock, now):
    """A clock as sla leaves it once its warning and breach went out: the benchmark times pages in a steady
    state, not sla catching up on a year of deadlines at once."""
    if clock["state"] == "running" and clock["warn_at"] < now:
        clock.update(warned=True, warned_at=clock["warn_at"], warning_event_id=str(uuid.uuid4()),
                     warning_published=True)
    if clock["state"] == "running" and clock["due_at"] < now:
        clock.update(state="breached", missed=True, breached_at=clock["due_at"], breach_event_id=str(uuid.uuid4()),
                     breach_published=True)
    return clock


DEMO_AGENCY_ROW = (DEMO_AGENCY, "Pemerintah Kota Metro", "18.72")


def seed(settings, reports, days, log):
    now = datetime.now(timezone.utc)
    client, routing = open_repository(RoutingRepository, settings.mongo_uri, "lapor_routing", settings.db_prefix)
    agencies = agencies_by_region(routing)
    tracking = TrackingRepository(client[f"{settings.db_prefix}lapor_tracking"])
    sla = SlaRepository(client[f"{settings.db_prefix}lapor_sla"])
    tracking.ensure_indexes()
    sla.ensure_indexes()
    tracking.db.counters.update_one({"_id": "tracking_sequence"}, {"$set": {"allocated": reports}}, upsert=True)
    rng, started = random.Random(7), time.monotonic()
    for first in range(0, reports, BATCH):
        pairs = [seeded_case(n, rng, agencies, now, days) for n in range(first, min(first + BATCH, reports))]
        tracking.db.reports.insert_many([case for case, _ in pairs])
        clocks = [clock for _, clock in pairs if clock]
        if clocks:
            sla.db.clocks.insert_many(clocks)
        if (first // BATCH) % 20 == 0:
            log(f"  seeded {first + len(pairs):,} reports")
    client.close()
    log(f"seeded {reports:,} reports in {time.monotonic() - started:.0f} s")
    return make_tracking_id(FIRST_SEQUENCE_NUMBER + reports // 2)


def signed_in(url, username):
    session = requests.Session()
    form = session.get(f"{url}/masuk", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = session.post(f"{url}/masuk", data={"csrf_token": csrf, "username": username, "password": PASSWORD},
                            timeout=30, allow_redirects=False)
    if response.status_code not in (302, 303):
        raise RuntimeError(f"signing in {username} failed with {response.status_code}")
    return session


def pages(url, tracking_id):
    """(name, session user or None, path) of every page timed."""
    return [
        ("home", None, "/"),
        ("submit form", None, "/lapor"),
        ("feed, page 1", None, "/laporan"),
        ("feed, page 200", None, "/laporan?page=200"),
        ("feed, status filter", None, "/laporan?status=in_progress"),
        ("feed, region filter", None, "/laporan?region=18.72"),
        ("feed, search", None, "/laporan?q=banjir"),
        ("report page", None, f"/laporan/{tracking_id}"),
        ("track by ID", None, f"/lacak?id={tracking_id}"),
        ("statistics", None, "/statistik"),
        ("api feed", None, "/api/v1/reports?per_page=50"),
        ("api stats", None, "/api/v1/stats"),
        ("national inbox", "demo.admin", "/konsol"),
        ("agency inbox", "demo.metro.admin", "/konsol"),
        ("supervisor inbox", "demo.supervisor", "/konsol"),
        ("oversight", "demo.supervisor", "/konsol/pengawasan"),
        ("drill-down", "demo.supervisor", f"/konsol/pengawasan/instansi/{DEMO_AGENCY}"),
        ("console report", "demo.admin", f"/konsol/laporan/{tracking_id}"),
    ]


def time_page(session, url, repeat):
    def fetch():
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        return time.perf_counter() - started, response
    cold, response = fetch()
    warm = [fetch()[0] for _ in range(repeat)]
    return cold, summarize(warm), response.status_code, len(response.content)


def measure(url, tracking_id, repeat, log):
    sessions = {None: requests.Session()}
    log(f"{'page':22} {'status':>6} {'KiB':>6} {'cold ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for name, user, path in pages(url, tracking_id):
        if user not in sessions:
            sessions[user] = signed_in(url, user)
        cold, warm, status, size = time_page(sessions[user], url + path, repeat)
        log(f"{name:22} {status:>6} {size / 1024:>6.0f} {cold * 1000:>8.0f} {warm['p50'] * 1000:>7.0f} "
            f"{warm['p95'] * 1000:>7.0f} {warm['max'] * 1000:>7.0f}")


def main(argv=None):
    args = parse_args(argv)
    log = print
    seeded = {}

    def seed_store(settings):
        launcher.seed_demo(settings, PASSWORD, log=lambda message: None)
        seeded["tracking_id"] = seed(settings, args.reports, args.days, log)

    with own_stack("pages-store", keep=args.keep, before_start=seed_store) as (settings, _):
        log(f"stack up; {args.reports:,} reports; each page fetched once cold, then {args.repeat} times")
        measure(settings.gateway_url, seeded["tracking_id"], args.repeat, log)


if __name__ == "__main__":
    main()
