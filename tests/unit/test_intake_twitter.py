"""Twitter/X mentions' pure logic: the signature and CRC, which tweets are reports, the body, the contact, the reply;
and the webhook handing each report's access code to notifications for the author."""
import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from services.common.errors import Forbidden, Unavailable, ValidationFailed
from services.gateway.twitter import TwitterWebhook, webhook_answer
from services.common.regions import default_matcher
from services.intake.schemas import TweetSchema
from services.intake.twitter import (
    MAX_REPLY_LENGTH, author_id, crc_response, is_crc_token, is_report_mention, mention_events, mentions_account,
    normalize_account, parse_tweet, signature_matches, strip_tweet, tweet_length, tweet_reply, tweet_submission,
    webhook_signature,
)

ACCOUNT = "lapor1708"


def make_tweet(text="@lapor1708 KOTA METRO jalan berlubang di depan pasar #jalanrusak", **overrides):
    """A tweet_create_events item as the Account Activity API sends it, entities matching the text."""
    tweet = {
        "id_str": "1850000000000000001",
        "text": text,
        "created_at": "Wed Nov 25 02:30:00 +0000 2026",
        "user": {"id_str": "4242", "screen_name": "siti_warga", "name": "Siti"},
        "entities": {"hashtags": [{"text": "jalanrusak"}], "user_mentions": [{"screen_name": "lapor1708",
                                                                             "id_str": "1708"}]},
        "in_reply_to_status_id_str": None,
    }
    tweet.update(overrides)
    return tweet


def hmac_b64(key, message):
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


# --- signature and CRC -------------------------------------------------------------------------------------------

def test_the_crc_response_token_is_the_base64_hmac_of_the_token_with_the_consumer_secret():
    assert crc_response("secret", "token") == {"response_token": "sha256=" + hmac_b64(b"secret", b"token")}
    assert crc_response("secret", "token")["response_token"] == "sha256=6UERDj0r/oJiHw4+FDRzDXMF0QbF9oyHFl0LJ6RhGko="


def test_a_signature_matches_only_the_exact_raw_body_and_secret():
    body = b'{"for_user_id": "1708",  "tweet_create_events": []}'
    header = "sha256=" + hmac_b64(b"secret", body)
    assert webhook_signature("secret", body) == header
    assert signature_matches("secret", body, header)
    assert not signature_matches("secret", body.replace(b"  ", b" "), header)  # re-serialised JSON is not the body
    assert not signature_matches("other", body, header)
    assert not signature_matches("secret", body, header.removeprefix("sha256="))


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha256=AAAA", "sha256=ünicode", 42])
def test_a_missing_or_malformed_signature_never_matches(header):
    assert not signature_matches("secret", b"{}", header)


def test_without_a_secret_nothing_matches_not_even_an_empty_signature():
    assert not signature_matches("", b"{}", webhook_signature("", b"{}"))


@pytest.mark.parametrize("token, answered", [
    ("9b4507b3-9040-4669-9ca3-6b94edb50553", True), ("Zm9v+YmFy/YmF6==", True), ("a_b-c", True), ("a" * 128, True),
    (b"token", True), ("", False), ("a" * 129, False), ('{"a":1}', False), ("[]", False), ("12345", False),
    ("-1e5", False), ("true", False), ("null", False), ("NaN", False), ("a b", False), ("tokén", False),
    (b"tok\xc3\xa9n", False), ("token\n", False), (None, False),
])
def test_only_x_s_short_tokens_that_are_not_json_are_crc_tokens(token, answered):
    assert is_crc_token(token) is answered


def test_no_crc_answer_signs_the_token_as_a_body_and_no_other_text_is_answered():
    assert not signature_matches("secret", b"token", crc_response("secret", "token")["response_token"])
    with pytest.raises(ValueError):
        crc_response("secret", '{"tweet_create_events": []}')


# --- which tweets are reports ------------------------------------------------------------------------------------

def test_only_mentions_by_others_are_reports():
    mention = make_tweet()
    own = make_tweet(user={"id_str": "1708", "screen_name": "LAPOR1708"})
    retweet = make_tweet(retweeted_status={"id_str": "1", "text": "@lapor1708 ..."})
    unrelated = make_tweet(text="jalan rusak di depan pasar", entities={"hashtags": [], "user_mentions": []})
    other_account = make_tweet(text="@lapor1708x jalan rusak",
                               entities={"hashtags": [], "user_mentions": [{"screen_name": "lapor1708x"}]})
    payload = {"for_user_id": "1708", "tweet_create_events": [mention, own, retweet, unrelated, other_account, "x"]}

    assert mention_events(payload, ACCOUNT) == [mention]


@pytest.mark.parametrize("payload", [
    {"for_user_id": "1708", "favorite_events": [{"id": "1"}]},
    {"tweet_create_events": "not a list"},
    [],
    None,
])
def test_payloads_without_tweets_give_no_mentions(payload):
    assert mention_events(payload, ACCOUNT) == []


def test_the_account_is_compared_without_at_sign_or_case():
    assert normalize_account("@LAPOR1708 ") == "lapor1708"
    assert normalize_account("") == normalize_account(None) == "lapor1708"
    assert is_report_mention(make_tweet(), "@Lapor1708")


@pytest.mark.parametrize("text, mentioned", [
    ("@lapor1708 jalan rusak", True),
    ("Tolong @LAPOR1708, jalan rusak", True),
    ("jalan rusak ＠lapor1708", True),
    ("@lapor1708x jalan rusak", False),
    ("kirim ke admin@lapor1708 jalan rusak", False),
    ("lapor1708 jalan rusak", False),
])
def test_without_entities_a_mention_is_found_in_the_text(text, mentioned):
    tweet = make_tweet(text=text)
    del tweet["entities"]
    assert mentions_account(tweet, ACCOUNT) is mentioned


def test_entities_decide_when_present():
    # Entities say who is mentioned even when the text does not show it (a reply's hidden prefix).
    assert mentions_account(make_tweet(text="jalan rusak"), ACCOUNT)
    assert not mentions_account(make_tweet(entities={"user_mentions": []}), ACCOUNT)


# --- the body ------------------------------------------------------------------------------------------------------

def test_the_account_mention_and_hashtags_go_other_mentions_and_links_stay():
    tweet = make_tweet(
        text="@lapor1708  @pemkotmetro jalan\n berlubang #JalanRusak di depan pasar #metro https://t.co/abc",
        entities={"hashtags": [{"text": "JalanRusak"}, {"text": "metro"}],
                  "user_mentions": [{"screen_name": "lapor1708"}, {"screen_name": "pemkotmetro"}]})
    assert strip_tweet(tweet, ACCOUNT) == "@pemkotmetro jalan berlubang di depan pasar https://t.co/abc"


def test_with_entities_only_the_listed_hashtags_go():
    tweet = make_tweet(text="@lapor1708 antre #3 jam di loket #samsat", entities={
        "hashtags": [{"text": "samsat"}], "user_mentions": [{"screen_name": "lapor1708"}]})
    assert strip_tweet(tweet, ACCOUNT) == "antre #3 jam di loket"


def test_without_entities_hashtags_are_found_by_twitters_rule():
    tweet = make_tweet(text="@lapor1708 antre #3 jam di loket #Samsat_Metro, harga &#123; tetap #tolong")
    del tweet["entities"]
    assert strip_tweet(tweet, ACCOUNT) == "antre #3 jam di loket , harga { tetap"


def test_the_full_text_of_an_extended_tweet_is_used_with_its_own_entities():
    full = "@lapor1708 " + "lampu jalan mati " * 15 + "#gelap"
    tweet = make_tweet(text=full[:140] + "…", truncated=True, entities={"hashtags": [], "user_mentions": []},
                       extended_tweet={"full_text": full, "entities": {
                           "hashtags": [{"text": "gelap"}], "user_mentions": [{"screen_name": "lapor1708"}]}})
    assert strip_tweet(tweet, ACCOUNT) == ("lampu jalan mati " * 15).strip()
    assert is_report_mention(tweet, ACCOUNT)


def test_html_entities_are_unescaped_once():
    tweet = make_tweet(text="@lapor1708 air &amp; listrik mati, 3 &lt; 5, ditulis &amp;amp;")
    assert strip_tweet(tweet, ACCOUNT) == "air & listrik mati, 3 < 5, ditulis &amp;"


@pytest.mark.parametrize("text", ["@lapor1708", "@lapor1708 #tolong #jalanrusak", "@lapor1708 \u200b\t"])
def test_a_mention_with_nothing_else_has_no_body(text):
    tweet = make_tweet(text=text, entities={"hashtags": [{"text": "tolong"}, {"text": "jalanrusak"}],
                                            "user_mentions": [{"screen_name": "lapor1708"}]})
    with pytest.raises(ValueError):
        strip_tweet(tweet, ACCOUNT)


# --- the report ----------------------------------------------------------------------------------------------------

def test_a_mention_becomes_a_public_complaint_with_the_handle_and_user_id_as_contact_and_its_region():
    parsed = parse_tweet(make_tweet(), ACCOUNT, default_matcher())

    assert parsed["tweet_id"] == "1850000000000000001" and parsed["handle"] == "@siti_warga"
    assert parsed["twitter_id"] == "4242"
    assert parsed["body"] == "KOTA METRO jalan berlubang di depan pasar"  # no SMS-style prefix: the text stays whole
    assert parsed["created_at"] == datetime(2026, 11, 25, 2, 30, tzinfo=timezone.utc)
    data = tweet_submission(parsed)
    assert data["location"] == {"region_code": "18.72", "region_name": "Kota Metro"} and data["region_hint"] == "18.72"
    assert data["reporter"] == {"handle": "@siti_warga", "twitter_id": "4242"}
    assert data["type"] == "complaint" and data["anonymous"] is False and data["confidential"] is False
    assert data["title"] == "KOTA METRO jalan berlubang di depan pasar"
    assert data["received_at"] == parsed["created_at"]


def test_an_unknown_region_or_date_is_left_out_not_refused():
    tweet = make_tweet(text="@lapor1708 Desa Sukamaju jalan rusak parah sudah tiga bulan lamanya tanpa perbaikan",
                       created_at="yesterday")
    parsed = parse_tweet(tweet, ACCOUNT, default_matcher())
    assert parsed["region"] is None and parsed["created_at"] is None
    assert parsed["title"] == "Desa Sukamaju jalan rusak parah sudah tiga bulan lamanya…"
    assert tweet_submission(parsed)["location"] is None


@pytest.mark.parametrize("user", [
    {"screen_name": "siti_warga"},
    {"screen_name": "siti_warga", "id_str": None},
    {"screen_name": "siti_warga", "id_str": "42a"},
    {"screen_name": "siti_warga", "id_str": 4242},
])
def test_without_a_numeric_author_id_the_handle_is_the_only_contact(user):
    parsed = parse_tweet(make_tweet(user=user), ACCOUNT, default_matcher())
    assert parsed["twitter_id"] is None and author_id(make_tweet(user=user)) is None
    assert tweet_submission(parsed)["reporter"] == {"handle": "@siti_warga"}


@pytest.mark.parametrize("tweet", [
    make_tweet(user={"screen_name": "lapor1708"}),
    make_tweet(retweeted_status={"id_str": "1"}),
    make_tweet(entities={"hashtags": [], "user_mentions": [{"screen_name": "someone"}]}),
])
def test_parse_refuses_what_is_not_a_report(tweet):
    with pytest.raises(ValueError):
        parse_tweet(tweet, ACCOUNT, default_matcher())


def test_the_tweet_schema_needs_an_id_an_author_and_text_and_lets_twitters_other_fields_pass():
    loaded = TweetSchema().load(make_tweet(favorite_count=3, place=None, extended_entities={"media": []}))
    assert "favorite_count" not in loaded and loaded["user"] == {"id_str": "4242", "screen_name": "siti_warga"}

    with pytest.raises(ValidationError) as caught:
        TweetSchema().load({"id_str": "12a", "text": "", "user": {"screen_name": "no spaces"}})
    assert set(caught.value.messages) == {"id_str", "user", "text"}
    with pytest.raises(ValidationError) as caught:
        TweetSchema().load(make_tweet(user={"id_str": "4242x", "screen_name": "siti_warga"}))
    assert caught.value.messages == {"user": {"id_str": ["Invalid input."]}}
    assert TweetSchema().load(make_tweet(user={"screen_name": "siti_warga"}))["user"] == {"screen_name": "siti_warga"}
    with pytest.raises(ValidationError):
        TweetSchema().load(["not", "a", "tweet"])


# --- the reply and the webhook's answer ---------------------------------------------------------------------------

def test_the_reply_names_the_handle_and_tracking_id_and_where_to_check():
    reply = tweet_reply("@siti_warga", "10000004", "lapor.go.id")
    assert reply == ("@siti_warga Laporan Anda diterima, nomor 10000004. Cek status di lapor.go.id/lacak?id=10000004. "
                     "Kode akses dikirim lewat pesan langsung.")
    assert tweet_reply("@siti_warga", "10000004") == (
        "@siti_warga Laporan Anda diterima, nomor 10000004. Kode akses dikirim lewat pesan langsung.")


def test_a_portal_too_long_for_one_tweet_is_left_out():
    portal = "intranet-" + "x" * 300  # no domain: Twitter does not shorten it
    reply = tweet_reply("@siti_warga", "10000004", portal)
    assert reply == tweet_reply("@siti_warga", "10000004")


def test_links_count_as_short_links():
    assert tweet_length("cek lapor.go.id/lacak?id=10000004 ya") == len("cek ") + 23 + len(" ya")
    assert tweet_length("a.id/x") == 23  # shorter links still take a whole t.co link
    handle = "@" + "w" * 15
    assert tweet_length(tweet_reply(handle, "10000004", "lapor.go.id/" + "p" * 200)) <= MAX_REPLY_LENGTH


def test_the_webhook_answer_has_design_shape_for_one_report_and_items_always():
    one = {"tracking_id": "10000004", "reply": "r", "tweet_id": "1"}
    two = {"tracking_id": "10000011", "reply": "s", "tweet_id": "2"}
    assert webhook_answer([one]) == {"items": [one], "tracking_id": "10000004", "reply": "r"}
    assert webhook_answer([one, two]) == {"items": [one, two]}
    assert webhook_answer([]) == {"items": []}


# --- the webhook: each report's access code to its author -------------------------------------------------------

def make_webhook(secret="secret"):
    webhook = TwitterWebhook()
    webhook.consumer_secret, webhook.account = secret, ACCOUNT
    return webhook


def signed(*tweets):
    body = json.dumps({"for_user_id": "1708", "tweet_create_events": list(tweets)}).encode()
    return body, webhook_signature("secret", body)


def submitted(tweet):
    if tweet["id_str"] == "3":
        raise ValidationFailed("Tweet ini tidak berisi laporan.")
    return {"tracking_id": f"1000000{tweet['id_str']}", "access_code": f"CODE-{tweet['id_str']}", "reply": "r"}


def test_each_report_made_sends_its_access_code_to_the_authors_user_id_and_the_answer_has_no_code():
    sent = []
    first, refused = make_tweet(id_str="1"), make_tweet(id_str="3")
    no_id = make_tweet(id_str="2", user={"screen_name": "budi"})

    answer = make_webhook().receive(*signed(first, refused, no_id), submitted, lambda *args: sent.append(args))

    assert sent == [("10000001", "twitter", "4242", "CODE-1")]  # refused: no report; no author id: nobody to tell
    assert [item["tracking_id"] for item in answer["items"]] == ["10000001", "10000002"]
    assert "CODE" not in json.dumps(answer)


def test_notifications_away_fails_the_whole_delivery_so_twitter_delivers_it_again():
    def unavailable(*args):
        raise Unavailable("layanan notifications tidak dapat dihubungi")

    with pytest.raises(Unavailable):
        make_webhook().receive(*signed(make_tweet(id_str="1")), submitted, unavailable)


def test_a_bad_signature_submits_and_sends_nothing():
    body, _ = signed(make_tweet(id_str="1"))
    fail = lambda *args: pytest.fail("called")  # noqa: E731
    with pytest.raises(Forbidden):
        make_webhook().receive(body, webhook_signature("other", body), fail, fail)
