"""Twitter/X mentions of the LAPOR account as pure functions: webhook signature and CRC, which tweets are reports,
the body, the submission and the public reply."""
import base64
import hashlib
import hmac
import html
import json
import re
from datetime import datetime
from urllib.parse import urlsplit

from services.intake.sms import channel_submission, clean_text, make_title

DEFAULT_ACCOUNT = "lapor1708"
SIGNATURE_PREFIX = "sha256="
MAX_REPLY_LENGTH = 280
SHORTENED_LINK_LENGTH = 23  # every link in a tweet counts as a t.co link of this length
CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # "Wed Oct 10 20:19:24 +0000 2018"
# X's CRC tokens are short and base64/url-safe (its own example is a UUID, 36 characters); 128 leaves room. X signs
# the CRC answer and every delivery with the same HMAC, so a token outside this alphabet (which has no `{`, `[` or
# `"`) or one that is JSON (`123`, `true`, `null`) is never answered: no answer can sign a body we would read.
CRC_TOKEN_MAX_LENGTH = 128
CRC_TOKEN_ALPHABET = "A–Z, a–z, 0–9, _ - = + /"
_CRC_TOKEN = re.compile(rf"[A-Za-z0-9_\-=+/]{{1,{CRC_TOKEN_MAX_LENGTH}}}")

# Twitter's own rule: a hashtag is not glued to a word or to an HTML entity ("&#123;"), and is not all digits.
_ANY_HASHTAG = r"\w*[^\W\d]\w*"
_REPLY_WITH_PORTAL = ("{handle} Laporan Anda diterima, nomor {tracking_id}. Cek status di {link}. "
                      "Kode akses dikirim lewat pesan langsung.")
_REPLY_WITHOUT_PORTAL = "{handle} Laporan Anda diterima, nomor {tracking_id}. Kode akses dikirim lewat pesan langsung."


def normalize_account(account):
    """The account's screen name as compared: no "@", lower case; the default when unset."""
    return (account or DEFAULT_ACCOUNT).strip().lstrip("@").lower() or DEFAULT_ACCOUNT


def webhook_signature(secret, payload):
    """`sha256=` + base64 of HMAC-SHA256(secret, payload): the webhook header's value and the CRC token's."""
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return SIGNATURE_PREFIX + base64.b64encode(digest).decode()


def signature_matches(secret, body, header):
    """True when `header` (X-Twitter-Webhooks-Signature) signs the raw `body` with `secret`.

    Never for a body that is itself a CRC token we would answer: that signature is anyone's for the asking."""
    if not secret or not isinstance(header, str) or is_crc_token(body):
        return False
    return hmac.compare_digest(webhook_signature(secret, body).encode(), header.strip().encode("utf-8", "replace"))


def is_crc_token(value):
    """True for a token X could send and we answer: 1–128 characters of CRC_TOKEN_ALPHABET, and not JSON."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return False
    if not isinstance(value, str) or not _CRC_TOKEN.fullmatch(value):
        return False
    try:
        json.loads(value)
    except ValueError:
        return True
    return False


def crc_response(secret, crc_token):
    """The answer to Twitter's challenge-response check (`GET ...?crc_token=`); ValueError for a token that is not
    one (is_crc_token), so this is never a way to have any other text signed."""
    if not is_crc_token(crc_token):
        raise ValueError(f"not a CRC token: 1–{CRC_TOKEN_MAX_LENGTH} characters of {CRC_TOKEN_ALPHABET}, not JSON")
    return {"response_token": webhook_signature(secret, crc_token.encode())}


def tweet_text(tweet):
    """The whole text: a tweet over 140 characters carries it in `extended_tweet.full_text`."""
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and isinstance(extended.get("full_text"), str):
        return extended["full_text"]
    text = tweet.get("full_text") or tweet.get("text")
    return text if isinstance(text, str) else ""


def _entities(tweet):
    extended = tweet.get("extended_tweet")
    if isinstance(extended, dict) and isinstance(extended.get("entities"), dict):
        return extended["entities"]
    entities = tweet.get("entities")
    return entities if isinstance(entities, dict) else {}


def _entity_texts(tweet, kind, key):
    """The `key` of each entity of `kind`, or None when the tweet carries no such list (use the regex then)."""
    found = _entities(tweet).get(kind)
    if not isinstance(found, list):
        return None
    return [entity[key] for entity in found if isinstance(entity, dict) and isinstance(entity.get(key), str)]


def _mention_pattern(screen_name):
    return re.compile(rf"(?<![\w@＠])[@＠]{re.escape(screen_name)}(?!\w)", re.IGNORECASE)


def mentions_account(tweet, account):
    """True when the tweet mentions the account: by its entities, or by its text when it has none."""
    account = normalize_account(account)
    mentioned = _entity_texts(tweet, "user_mentions", "screen_name")
    if mentioned is not None:
        return any(name.lower() == account for name in mentioned)
    return bool(_mention_pattern(account).search(tweet_text(tweet)))


def is_report_mention(tweet, account):
    """A mention that becomes a report: not the account's own tweet, not a retweet, and naming the account."""
    if not isinstance(tweet, dict) or tweet.get("retweeted_status") is not None:
        return False
    user = tweet.get("user")
    screen_name = user.get("screen_name") if isinstance(user, dict) else None
    if not isinstance(screen_name, str) or screen_name.lower() == normalize_account(account):
        return False
    return mentions_account(tweet, account)


def mention_events(payload, account):
    """The tweet_create_events of an Account Activity payload that are reports; anything else is ignored."""
    if not isinstance(payload, dict) or not isinstance(payload.get("tweet_create_events"), list):
        return []
    return [tweet for tweet in payload["tweet_create_events"] if is_report_mention(tweet, account)]


def strip_tweet(tweet, account):
    """The body: the text without the account mention and hashtags, unescaped, whitespace collapsed.

    ValueError when nothing (or too much) is left. Other accounts' mentions and links stay: they may be the point."""
    text = _mention_pattern(normalize_account(account)).sub(" ", tweet_text(tweet))
    hashtags = _entity_texts(tweet, "hashtags", "text")
    names = "|".join(re.escape(tag) for tag in hashtags) if hashtags is not None else _ANY_HASHTAG
    if names:
        text = re.sub(rf"(?<![\w&])[#＃](?:{names})(?!\w)", " ", text, flags=re.IGNORECASE)
    # Twitter sends &, < and > as HTML entities; unescaped after stripping, so "&#123;" is never read as a hashtag.
    return clean_text(html.unescape(text))


def parse_tweet(tweet, account, matcher):
    """{tweet_id, handle, twitter_id, body, title, region, created_at} for a mention of the account; ValueError
    otherwise. `twitter_id` (the author's numeric id, which direct messages go to) is None when absent or not digits."""
    if not is_report_mention(tweet, account):
        raise ValueError("not a mention of the LAPOR account (or its own tweet, or a retweet)")
    body = strip_tweet(tweet, account)
    match = matcher.match(body)
    # The whole text stays the body: unlike SMS 1708 there is no "<REGION> <isi>" format, so a region named at
    # the start is usually part of the sentence ("Jakarta banjir lagi...").
    region = {"code": match.code, "name": match.name, "level": match.level} if match else None
    return {
        "tweet_id": tweet["id_str"],
        "handle": f"@{tweet['user']['screen_name']}",
        "twitter_id": author_id(tweet),
        "body": body,
        "title": make_title(body),
        "region": region,
        "created_at": parse_created_at(tweet.get("created_at")),
    }


def author_id(tweet):
    """The author's numeric user id (`user.id_str`), or None when the tweet lacks one or it is not all digits."""
    user = tweet.get("user")
    user_id = user.get("id_str") if isinstance(user, dict) else None
    return user_id if isinstance(user_id, str) and re.fullmatch(r"[0-9]{1,20}", user_id) else None


def parse_created_at(value):
    """Twitter's `created_at` as an aware datetime, or None when absent or unreadable."""
    try:
        return datetime.strptime(value, CREATED_AT_FORMAT)
    except (TypeError, ValueError):
        return None


def tweet_submission(parsed):
    """The data intake stores for a mention: a public complaint whose only contact is the author's handle and
    numeric id (notifications sends direct messages to the id)."""
    contact = {"handle": parsed["handle"]}
    if parsed.get("twitter_id"):
        contact["twitter_id"] = parsed["twitter_id"]
    return channel_submission(parsed, contact, parsed["created_at"])


def tweet_length(text):
    """Characters the reply takes on Twitter: links count as t.co links."""
    length = len(text)
    for word in text.split():
        if "/" in word and "." in urlsplit(f"//{word}").netloc:
            length += SHORTENED_LINK_LENGTH - len(word)
    return length


def tweet_reply(handle, tracking_id, status_hint=None):
    """The public reply to the mention: the tracking ID and where to check it, never the access code."""
    values = {"handle": handle, "tracking_id": tracking_id}
    if status_hint:
        reply = _REPLY_WITH_PORTAL.format(link=f"{status_hint}/lacak?id={tracking_id}", **values)
        if tweet_length(reply) <= MAX_REPLY_LENGTH:
            return reply
    return _REPLY_WITHOUT_PORTAL.format(**values)
