"""The short run of the fault-injection suite (`make chaos` at ~100 reports, the faults that went wrong before).

One run of `python -m chaos --short` in a process of its own (it starts its own RabbitMQ node, store and six
services, and wants no eventlet-patched world), then one test per scenario on its row: nothing lost, stuck,
duplicated, parked or left unpublished, and every client got its report in. The row and the harness's
details are in the failure message; the services' logs stay in the work dir it names.
"""
import json
import signal
import subprocess
import sys

import pytest

from chaos.harness import FAILURE_KEYS
from chaos.scenarios import SHORT
from devstack.launcher import ROOT

RUN_TIMEOUT_SECONDS = 780  # the harness bounds itself well inside this; this only guards against a hang

pytestmark = [pytest.mark.chaos]


@pytest.fixture(scope="module")
def chaos_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("chaos") / "rows.json"
    command = [sys.executable, "-m", "chaos", "--short", "--json", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the harness stops its node, store and services on SIGTERM
        output, _ = process.communicate(timeout=120)
    print(output)  # shown by pytest on failure: the table and each scenario's details
    if not out.exists():
        pytest.fail(f"the chaos harness wrote no rows (exit {process.returncode}):\n{output[-4000:]}")
    return {row["scenario"]: row for row in json.loads(out.read_text())["rows"]}, output


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 180)
@pytest.mark.parametrize("scenario", SHORT)
def test_nothing_lost_stuck_duplicated_or_parked(chaos_rows, scenario):
    rows, output = chaos_rows
    assert scenario in rows, f"scenario {scenario} did not run:\n{output[-3000:]}"
    row = rows[scenario]
    problems = {key: row[key] for key in FAILURE_KEYS if row[key] != 0}
    if row["gave_up"]:
        problems["gave_up"] = row["gave_up"]
    if not row["accepted"]:
        problems["accepted"] = 0
    assert not problems, f"{scenario}: {problems}; details: {json.dumps(row['details'], ensure_ascii=False)}"
