"""Load over HTTP, as real clients send it: each report has its own Idempotency-Key, and a client retries a
5xx, a 429 or a connection error with the same key and body, with a capped back-off, for a bounded time.

A watcher follows the accepted reports in tracking's read model (one batched query every 2 s) to know when
the last one was `disposed` with a `due_at`; the verdict on each report is a GET /api/v1/reports/{id}, as a
client sees it, once the settle is over (`verify`).
"""
import itertools
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

ATTEMPT_TIMEOUT = 15.0  # seconds per HTTP attempt (the gateway's RPC timeout is 10 s)
BACKOFF_START, BACKOFF_CAP = 0.25, 2.0
MAX_ATTEMPTS = 200  # with the back-off cap this is never the binding limit before the retry budget
WATCH_INTERVAL_SECONDS = 2.0
WATCH_BATCH = 200
AGENCY, REGION = "KOTA-18.72", "18.72"  # a valid agency: routing auto-disposes the report


def report_body(tag, n):
    return {
        "type": "complaint",
        "title": f"Chaos {tag} laporan {n}",
        "body": f"Jalan rusak berlubang di depan pasar nomor {n}, mohon segera diperbaiki ({tag}).",
        "anonymous": False,
        "confidential": False,
        "agency_code": AGENCY,
        "location": {"region_code": REGION, "address": f"Jl. Pasar {n}"},
        "reporter": {"name": f"Pelapor {n}", "phone": f"0812{n % 10_000_000:07d}0",
                     "email": f"pelapor{n}@example.id"},
    }


@dataclass
class Submission:
    n: int
    key: str
    body: dict
    tracking_id: str = None
    outcome: str = "pending"  # accepted | gave_up | refused (a 4xx that is not worth a retry)
    attempts: int = 0
    first_at: float = None
    finished_at: float = None
    last_error: str = None
    visible: bool = False
    done_at: float = None  # first seen disposed with due_at
    last_status: str = None
    last_due_at: str = None
    last_get: object = None  # the last GET's status code, or the connection error's name
    errors: list = field(default_factory=list)

    @property
    def retry_seconds(self):
        if self.attempts <= 1 or self.finished_at is None:
            return 0.0
        return self.finished_at - self.first_at


class Load:
    def __init__(self, url, tag, total, concurrency, retry_budget=60.0, send_for=None, progress=None):
        self.url = url.rstrip("/")
        self.progress = progress  # progress([tracking ids]) → {id: (status, due_at)}, from the store
        self.send_for = send_for  # seconds after which no new report is started (the run stays bounded)
        self.started_at = None
        self.tag = tag
        self.total = total
        self.concurrency = concurrency
        self.retry_budget = retry_budget
        self.submissions = [Submission(n, str(uuid.uuid4()), report_body(tag, n)) for n in range(1, total + 1)]
        self.lock = threading.Lock()
        self.next_index = itertools.count()
        self.accepted = 0
        self.finished = 0
        self.status_503 = 0
        self.status_5xx_other = 0
        self.status_429 = 0
        self.connection_errors = 0
        self.local = threading.local()
        self.stop_polling = threading.Event()
        self.submitters = []
        self.pollers = []

    # --- sessions ------------------------------------------------------------------------------------------

    def session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def fresh_session(self):
        """After a connection error: a new pool, so a dead keep-alive socket is not tried again."""
        self.local.session = requests.Session()

    # --- submitting ----------------------------------------------------------------------------------------

    def start(self):
        self.started_at = time.monotonic()
        self.submitters = [threading.Thread(target=self._submitter, name=f"submit-{i}", daemon=True)
                           for i in range(self.concurrency)]
        self.pollers = [threading.Thread(target=self._watcher, name="watch", daemon=True)]
        for thread in self.submitters + self.pollers:
            thread.start()
        return self

    def _submitter(self):
        while True:
            with self.lock:
                index = next(self.next_index)
            if index >= self.total:
                return
            if self.send_for is not None and time.monotonic() > self.started_at + self.send_for:
                self.submissions[index].outcome = "not_sent"
                continue
            self.submit(self.submissions[index])

    def post(self, submission):
        return self.session().post(f"{self.url}/api/v1/reports", json=submission.body, timeout=ATTEMPT_TIMEOUT,
                                   headers={"Idempotency-Key": submission.key})

    def submit(self, submission):
        submission.first_at = time.monotonic()
        deadline = submission.first_at + self.retry_budget
        backoff = BACKOFF_START
        while submission.attempts < MAX_ATTEMPTS:
            submission.attempts += 1
            try:
                response = self.post(submission)
            except requests.RequestException as exc:
                with self.lock:
                    self.connection_errors += 1
                submission.last_error = type(exc).__name__
                self.fresh_session()
            else:
                if response.status_code == 201:
                    try:
                        submission.tracking_id = response.json()["tracking_id"]
                    except (ValueError, KeyError):
                        submission.last_error = f"201 without a tracking_id: {response.text[:120]}"
                    else:
                        return self._finish(submission, "accepted")
                elif response.status_code == 503:
                    with self.lock:
                        self.status_503 += 1
                    submission.last_error = "503"
                elif response.status_code >= 500:
                    with self.lock:
                        self.status_5xx_other += 1
                    submission.last_error = str(response.status_code)
                elif response.status_code == 429:
                    with self.lock:
                        self.status_429 += 1
                    submission.last_error = "429"
                else:
                    submission.last_error = f"{response.status_code} {response.text[:160]}"
                    return self._finish(submission, "refused")
            if time.monotonic() + backoff > deadline:
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_CAP)
        return self._finish(submission, "gave_up")

    def _finish(self, submission, outcome):
        submission.outcome = outcome
        submission.finished_at = time.monotonic()
        with self.lock:
            self.finished += 1
            if outcome == "accepted":
                self.accepted += 1

    def submitting_done(self):
        return all(not thread.is_alive() for thread in self.submitters)

    def wait_submitted(self, timeout):
        deadline = time.monotonic() + timeout
        for thread in self.submitters:
            thread.join(max(0.0, deadline - time.monotonic()))
        return self.submitting_done()

    # --- watching ------------------------------------------------------------------------------------------

    def accepted_submissions(self):
        return [s for s in self.submissions if s.outcome == "accepted"]

    def pending(self):
        return [s for s in self.accepted_submissions() if s.done_at is None]

    def all_done(self):
        return self.submitting_done() and not self.pending()

    def _watcher(self):
        """Progress from tracking's read model, one batched query every couple of seconds: hundreds of GETs a
        second through the gateway would load the 2-core machine (and the store) more than the load itself."""
        while not self.stop_polling.wait(WATCH_INTERVAL_SECONDS):
            if self.progress is None:
                continue
            pending = self.pending()
            for start in range(0, len(pending), WATCH_BATCH):
                batch = pending[start:start + WATCH_BATCH]
                try:
                    states = self.progress([s.tracking_id for s in batch])
                except Exception:  # noqa: BLE001 - the store is down (a fault): look again next round
                    break
                seen_at = time.monotonic()
                for submission in batch:
                    status, due_at = states.get(submission.tracking_id, (None, None))
                    if status == "disposed" and due_at:
                        submission.done_at = seen_at

    def check(self, submission):
        """GET the report as a client would: the verdict (visible, status, due_at) comes from here."""
        try:
            response = self.session().get(f"{self.url}/api/v1/reports/{submission.tracking_id}", timeout=10)
        except requests.RequestException as exc:
            submission.last_get = type(exc).__name__
            self.fresh_session()
            return False
        submission.last_get = response.status_code
        if response.status_code != 200:
            return response.status_code == 404  # answered: not visible (yet)
        try:
            report = response.json()
        except ValueError:
            return False
        submission.visible = True
        submission.last_status, submission.last_due_at = report.get("status"), report.get("due_at")
        return True

    def verify(self, deadline_seconds=180, min_tries=3, threads=4):
        """GET every accepted report (a GET that is not answered is tried again, at least `min_tries` times or
        until the deadline): the row's lost and stuck. A report the store showed disposed whose GET says
        otherwise counts as stuck, never as done. Returns the reports whose GET was never answered."""
        deadline = time.monotonic() + deadline_seconds
        todo = list(self.accepted_submissions())
        tries = 0
        with ThreadPoolExecutor(threads) as pool:
            while todo and (time.monotonic() < deadline or (tries < min_tries and len(todo) <= 50)):
                answered = list(pool.map(self.check, todo))
                todo = [s for s, ok in zip(todo, answered) if not ok]
                tries += 1
                if todo:
                    time.sleep(1)
        now = time.monotonic()
        for submission in self.accepted_submissions():
            if submission.visible and submission.last_status == "disposed" and submission.last_due_at:
                submission.done_at = submission.done_at or now
            else:
                submission.done_at = None
        return todo

    def stop(self):
        self.stop_polling.set()
        for thread in self.pollers:
            thread.join(15)

    def replay_retried(self):
        """Each report whose POST needed a retry, sent once more with its key: it must get the same ID."""
        mismatches, unchecked = [], 0
        for submission in self.accepted_submissions():
            if submission.attempts <= 1:
                continue
            try:
                response = self.post(submission)
                tracking_id = response.json().get("tracking_id") if response.status_code in (200, 201) else None
            except (requests.RequestException, ValueError):
                tracking_id = None
            if tracking_id is None:
                unchecked += 1
            elif tracking_id != submission.tracking_id:
                mismatches.append((submission.key, submission.tracking_id, tracking_id))
        return mismatches, unchecked
