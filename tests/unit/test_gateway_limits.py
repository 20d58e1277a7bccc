"""The gateway's rate limits in plain Python: limits from config, counter ids, the refusal and its wait."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from nameko.cli.main import setup_yaml_parser

from services.gateway import limits

SECRET = "test-secret"
START = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
CONFIG_YAML = Path(__file__).resolve().parents[2] / "services" / "gateway" / "config.yaml"


def test_without_settings_each_bucket_takes_its_default():
    assert limits.limits_from_config({}) == {"ip": 60, "phone": 20, "api_key": 600, "access_code": 10,
                                             "twitter_crc": 30, "read": 300}


def test_config_yaml_defaults_match_the_code(monkeypatch):
    for bucket in limits.BUCKETS.values():
        monkeypatch.delenv(f"LAPOR_{bucket.config_key}", raising=False)
    setup_yaml_parser()
    config = yaml.safe_load(CONFIG_YAML.read_text())
    assert limits.limits_from_config(config) == limits.limits_from_config({})
    assert {bucket.config_key for bucket in limits.BUCKETS.values()} <= set(config)


def test_an_environment_override_reaches_the_limits(monkeypatch):
    monkeypatch.setenv("LAPOR_RATE_LIMIT_PHONE_PER_HOUR", "0")
    monkeypatch.setenv("LAPOR_RATE_LIMIT_IP_PER_HOUR", "7")
    setup_yaml_parser()
    config = yaml.safe_load(CONFIG_YAML.read_text())
    assert limits.limits_from_config(config) == {"ip": 7, "phone": limits.UNLIMITED, "api_key": 600,
                                                 "access_code": 10, "twitter_crc": 30, "read": 300}


@pytest.mark.parametrize("value, expected", [(3, 3), ("3", 3), (" 12 ", 12), (0, 0), ("0", 0), (None, 60), ("", 60)])
def test_settings_are_whole_numbers(value, expected):
    assert limits.limits_from_config({"RATE_LIMIT_IP_PER_HOUR": value})["ip"] == expected


@pytest.mark.parametrize("value", [-1, "-1", "1.5", 2.5, "sixty", True, "٣"])
def test_a_setting_that_is_not_a_whole_number_stops_the_start(value):
    with pytest.raises(ValueError, match="RATE_LIMIT_API_KEY_PER_MINUTE"):
        limits.limits_from_config({"RATE_LIMIT_API_KEY_PER_MINUTE": value})


def test_counter_ids_keep_no_key_in_clear():
    counter = limits.counter_id(SECRET, "phone", "081234567890")
    assert counter.startswith("phone:") and "1234567890" not in counter
    assert len(counter.split(":", 1)[1]) == 64
    assert "10.0.0.7" not in limits.counter_id(SECRET, "ip", "10.0.0.7")


def test_counter_ids_are_stable_and_depend_on_secret_bucket_and_key():
    counter = limits.counter_id(SECRET, "ip", "10.0.0.7")
    assert counter == limits.counter_id(SECRET, "ip", "10.0.0.7")
    assert counter != limits.counter_id("another-secret", "ip", "10.0.0.7")
    assert counter != limits.counter_id(SECRET, "ip", "10.0.0.8")
    assert counter.split(":")[1] != limits.counter_id(SECRET, "api_key", "10.0.0.7").split(":")[1]


@pytest.mark.parametrize("spelling", ["081234567890", "+6281234567890", "6281234567890", "+62 812-3456-7890"])
def test_one_sender_is_one_counter_however_the_number_is_written(spelling):
    assert limits.counter_id(SECRET, "phone", spelling) == limits.counter_id(SECRET, "phone", "081234567890")


def test_only_phone_numbers_are_folded():
    assert limits.canonical_key("api_key", " 0812-abc ") == "0812-abc"
    assert limits.canonical_key("ip", None) == limits.canonical_key("phone", "") == "unknown"


@pytest.mark.parametrize("hits, limit", [(1, 3), (3, 3), (1000, limits.UNLIMITED)])
def test_within_the_limit_nothing_is_refused(hits, limit):
    assert limits.refusal(limit, hits, START, START + timedelta(minutes=5), HOUR) is None


def test_the_request_after_the_limit_waits_for_the_window_to_close():
    assert limits.refusal(3, 4, START, START + timedelta(minutes=20), HOUR) == 40 * 60
    assert limits.refusal(3, 9, START, START + timedelta(minutes=59, seconds=59.2), HOUR) == 1


def test_the_wait_is_never_zero_even_at_the_windows_edge():
    assert limits.refusal(600, 601, START, START + timedelta(minutes=1), timedelta(minutes=1)) == 1


def test_the_refusal_message_is_in_whole_minutes():
    assert limits.refusal_message(2400) == "Terlalu banyak permintaan; coba lagi dalam 40 menit."
    assert limits.refusal_message(1) == "Terlalu banyak permintaan; coba lagi dalam 1 menit."
