"""make run's per-service broker users (issue 13): each process gets its own LAPOR_AMQP_URI, the passwords are
kept in var/secrets.env and never printed, and a broker without the management API leaves the stack on one user,
saying so. The users themselves, on the real broker, are in tests/e2e/test_restart.py."""
from devstack import launcher, run
from tests.support.proxy import free_port

PASSWORDS = {name: f"pw-{name}-0123456789" for name in launcher.SERVICES}


def settings(amqp_uri="pyamqp://guest:guest@127.0.0.1:5672/lapor"):
    return launcher.StackSettings(amqp_uri=amqp_uri, mongo_uri="mongodb://127.0.0.1:1/", secret_key="s",
                                  pii_key="p")


def test_each_process_connects_with_its_own_uri_else_the_stack_s():
    stack = settings()
    stack.service_uris = {"gateway": "pyamqp://lapor-gateway:pw@127.0.0.1:5672/lapor"}
    env = {name: env["LAPOR_AMQP_URI"] for name, _, env in launcher.service_processes(stack)}
    assert env["gateway"] == "pyamqp://lapor-gateway:pw@127.0.0.1:5672/lapor"
    assert env["intake"] == env["routing"] == "pyamqp://guest:guest@127.0.0.1:5672/lapor"


def test_without_the_management_api_every_service_stays_on_the_stack_s_user(monkeypatch):
    monkeypatch.setenv("LAPOR_RABBIT_API_URI", f"http://guest:guest@127.0.0.1:{free_port()}")  # nothing listens
    stack, said = settings(), []
    assert launcher.use_service_users(stack, PASSWORDS, log=said.append) == []
    assert stack.service_uris == {}
    assert said == ["per-service bus users not made (ConnectionError); every service connects as guest, which "
                    "every service then trusts with an officer's claim"]


def test_the_passwords_are_made_once_kept_and_not_printed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run, "VAR", tmp_path)
    monkeypatch.setattr(run, "SECRETS_FILE", tmp_path / "secrets.env")
    monkeypatch.setattr(launcher, "ROOT", tmp_path)  # where the file is said to be
    for name in launcher.SERVICES:
        monkeypatch.delenv(run.bus_password_key(name), raising=False)
    assert run.local_service_uri("gateway") == run.DEFAULT_AMQP_URI  # before the first make run: guest

    first = run.local_secrets()
    again = run.local_secrets()
    passwords = {name: first[run.bus_password_key(name)] for name in launcher.SERVICES}
    assert all(len(password) >= 32 for password in passwords.values()) and len(set(passwords.values())) == 6
    assert {name: again[run.bus_password_key(name)] for name in launcher.SERVICES} == passwords
    assert (tmp_path / "secrets.env").stat().st_mode & 0o077 == 0
    assert run.local_service_uri("gateway") == f"pyamqp://lapor-gateway:{passwords['gateway']}@127.0.0.1:5672/"
    printed = capsys.readouterr().out
    assert "LAPOR_BUS_PASSWORD_GATEWAY" in printed and not any(p in printed for p in passwords.values())


def test_compose_s_topology_job_is_told_which_passwords_are_missing(monkeypatch, capsys):
    from devstack import bus_accounts

    for name in launcher.SERVICES:
        monkeypatch.setenv(bus_accounts.bus_password_key(name), f"pw-{name}")
    monkeypatch.delenv("LAPOR_BUS_PASSWORD_SLA")
    monkeypatch.setenv("LAPOR_BUS_PASSWORD_GATEWAY", "")
    assert bus_accounts.main(["services", "--from-env"]) == 2  # before any call to the broker
    assert capsys.readouterr().err == ("error: set LAPOR_BUS_PASSWORD_SLA, LAPOR_BUS_PASSWORD_GATEWAY (a URL-safe "
                                       "password for each service's broker user)\n")


def test_only_intake_is_given_the_pii_key(monkeypatch):
    """Issue 13: every service got LAPOR_PII_KEY, which opens every reporter's contact; only intake uses it."""
    monkeypatch.setenv("LAPOR_PII_KEY", "from-the-shell")
    env = {name: env for name, _, env in launcher.service_processes(settings())}
    assert env["intake"]["LAPOR_PII_KEY"] == "p"
    assert [name for name in env if "LAPOR_PII_KEY" in env[name]] == ["intake"]
