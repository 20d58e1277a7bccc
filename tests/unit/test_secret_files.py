"""`LAPOR_<SECRET>_FILE` (issue 13, secrets): Docker and Kubernetes mount secrets as files; a service reads them
before its config, and refuses to start on an ambiguous, unreadable or empty one without printing its content."""
import os
import subprocess
import sys

import pytest

from services.common.secret_files import SecretFileError, resolve_secret_files

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_secret_is_read_from_its_file_without_the_trailing_newline(tmp_path):
    (tmp_path / "key").write_text("s3cret-key\n")
    (tmp_path / "bus").write_text("bus-pw\r\n")
    environ = {"LAPOR_SECRET_KEY_FILE": str(tmp_path / "key"), "LAPOR_BUS_PASSWORD_SLA_FILE": str(tmp_path / "bus"),
               "LAPOR_SLA_CLOCK_OFFSET_FILE": str(tmp_path / "not-a-secret")}
    assert resolve_secret_files(environ) == ["LAPOR_SECRET_KEY", "LAPOR_BUS_PASSWORD_SLA"]
    assert environ["LAPOR_SECRET_KEY"] == "s3cret-key" and environ["LAPOR_BUS_PASSWORD_SLA"] == "bus-pw"
    assert "LAPOR_SLA_CLOCK_OFFSET" not in environ  # a path setting, not a secret: left alone


@pytest.mark.parametrize("case", ["both", "missing", "empty"])
def test_an_ambiguous_unreadable_or_empty_secret_is_an_error_that_shows_no_content(tmp_path, case):
    path = tmp_path / "pii"
    if case != "missing":
        path.write_text("" if case == "empty" else "file-content-secret")
    environ = {"LAPOR_PII_KEY_FILE": str(path)}
    if case == "both":
        environ["LAPOR_PII_KEY"] = "env-content-secret"
    with pytest.raises(SecretFileError) as caught:
        resolve_secret_files(environ)
    message = str(caught.value)
    assert "LAPOR_PII_KEY" in message and "content-secret" not in message
    assert {"both": "both set", "missing": "cannot read", "empty": "is empty"}[case] in message


def test_a_service_does_not_start_on_a_secret_file_it_cannot_read(tmp_path):
    env = dict(os.environ, LAPOR_SECRET_KEY_FILE=str(tmp_path / "absent"), PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-m", "services.serve", "tracking"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"tracking: LAPOR_SECRET_KEY_FILE: cannot read {tmp_path / 'absent'} "
                                   "(No such file or directory)")
