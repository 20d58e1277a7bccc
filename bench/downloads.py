"""What public attachment downloads cost the gateway (issue 13 item 12: one 24 MiB download held ~40 MiB of it,
and twelve at once turned a trivial GET from 0.01 s into 3.4 s).

Starts its own store (nx-27017, under var/bench/) and the whole stack on the real bus, files one public report
with a `--mib` MiB video, then measures the gateway process:
- its resident memory before, and its peak (VmHWM, reset first through /proc/<pid>/clear_refs) while
  `--concurrency` clients download the file at once, against what holding every file whole would take;
- a trivial GET (`/health/live`) timed while idle and during the downloads, as a ratio (a noisy machine moves
  both alike).

    make bench-downloads
    make bench-downloads BENCH_ARGS="--mib 24 --concurrency 12"
"""
import argparse
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.e2e import summarize
from bench.stack import own_stack

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
CHUNK = 256 * 1024


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=24, help="size of the video attached (MiB, at most 25)")
    parser.add_argument("--concurrency", type=int, default=12, help="downloads at once")
    parser.add_argument("--rounds", type=int, default=2, help="times every client downloads the file")
    parser.add_argument("--probes", type=int, default=40, help="trivial GETs timed idle (and at most during)")
    parser.add_argument("--keep", action="store_true", help="keep var/bench/downloads-store afterwards")
    return parser.parse_args(argv)


def video(size):
    """An MP4 as intake sniffs one (an ftyp box with its brands), padded to `size` bytes inside an mdat box."""
    brands = b"mp42" + struct.pack(">I", 0x200) + b"mp42isom"
    head = struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands
    body = size - len(head) - 8
    return head + struct.pack(">I", 8 + body) + b"mdat" + bytes(range(256)) * (body // 256) + b"\0" * (body % 256)


def memory(pid):
    """{"rss", "peak"} in bytes of one process, from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return {"rss": fields["VmRSS"], "peak": fields["VmHWM"]}


def reset_peak(pid):
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # Linux: VmHWM starts again from the current RSS


def probe_times(url, count, until=None):
    times = []
    while len(times) < count and (until is None or not until.is_set()):
        started = time.perf_counter()
        requests.get(f"{url}/health/live", timeout=60).raise_for_status()
        times.append(time.perf_counter() - started)
        if until is not None:
            time.sleep(0.05)
    return times


def download(url):
    received = 0
    with requests.get(url, stream=True, timeout=120) as response:
        response.raise_for_status()
        for chunk in response.iter_content(CHUNK):
            received += len(chunk)
    return received


def file_one(url, size):
    report = requests.post(f"{url}/api/v1/reports", timeout=30, json={
        "type": "complaint", "title": "Banjir di Jalan Pala", "anonymous": False, "confidential": False,
        "body": "Video banjir setinggi lutut di Jalan Pala Iringmulyo", "agency_code": "KOTA-18.72",
        "location": {"region_code": "18.72"}})
    report.raise_for_status()
    receipt = report.json()
    added = requests.post(f"{url}/api/v1/reports/{receipt['tracking_id']}/attachments", timeout=120,
                          headers={"X-Access-Code": receipt["access_code"]},
                          files={"file": ("banjir.mp4", video(size), "video/mp4")})
    added.raise_for_status()
    listed = requests.get(f"{url}/api/v1/reports/{receipt['tracking_id']}/attachments", timeout=30)
    listed.raise_for_status()
    items = listed.json()
    items = items.get("items", items) if isinstance(items, dict) else items
    return url + items[0]["url"]


def measure(url, pid, args, log):
    size = args.mib * MiB
    file_url = file_one(url, size)
    assert download(file_url) == size
    idle = probe_times(url, args.probes)
    before = memory(pid)
    reset_peak(pid)
    done = threading.Event()
    during = []
    prober = threading.Thread(target=lambda: during.extend(probe_times(url, args.probes * 10, until=done)))
    started = time.perf_counter()
    prober.start()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        received = sum(pool.map(lambda _: download(file_url), range(args.concurrency * args.rounds)))
    elapsed = time.perf_counter() - started
    done.set()
    prober.join()
    after = memory(pid)
    growth = after["peak"] - before["rss"]
    whole = args.concurrency * size
    idle_p50, during_p50 = summarize(idle)["p50"], summarize(during)["p50"]
    log(f"{args.concurrency} clients × {args.rounds} downloads of one {args.mib} MiB video: "
        f"{received / MiB:,.0f} MiB in {elapsed:.1f} s ({received / MiB / elapsed:,.0f} MiB/s)")
    log(f"gateway RSS before {before['rss'] / MiB:,.0f} MiB, peak during {after['peak'] / MiB:,.0f} MiB: "
        f"+{growth / MiB:,.1f} MiB, {growth / whole:.1%} of the {whole / MiB:,.0f} MiB that holding each "
        f"download whole would take ({growth / args.concurrency / MiB:,.1f} MiB per download at once)")
    log(f"trivial GET p50 idle {idle_p50 * 1000:.1f} ms, during the downloads {during_p50 * 1000:.1f} ms "
        f"(×{during_p50 / idle_p50:.1f}; p95 during {summarize(during)['p95'] * 1000:.1f} ms, "
        f"{len(during)} probes)")


def main(argv=None):
    args = parse_args(argv)
    with own_stack("downloads-store", keep=args.keep) as (settings, processes):
        measure(settings.gateway_url, processes.processes["gateway"].pid, args, print)


if __name__ == "__main__":
    main()
