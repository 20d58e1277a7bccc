"""The Twitter/X webhook at the edge: its secret and account from config, the signature check, the answer."""
import logging

from nameko.extensions import DependencyProvider

from services.common.errors import Forbidden, IdempotencyConflict, Unavailable, ValidationFailed
from services.common.field_errors import translate_message
from services.gateway.http import parse_json
from services.intake import twitter

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twitter-Webhooks-Signature"
_LIMIT = f"1–{twitter.CRC_TOKEN_MAX_LENGTH}"
CRC_TOKEN_REFUSED = {
    "id": f"Token CRC harus {_LIMIT} karakter {twitter.CRC_TOKEN_ALPHABET} dan bukan JSON.",
    "en": f"The CRC token must be {_LIMIT} characters of {twitter.CRC_TOKEN_ALPHABET} and not JSON.",
}


def webhook_answer(receipts):
    """{items: [{tracking_id, reply, tweet_id}]}, plus DESIGN §4's {tracking_id, reply} when there is one report."""
    answer = {"items": receipts}
    if len(receipts) == 1:
        answer.update(tracking_id=receipts[0]["tracking_id"], reply=receipts[0]["reply"])
    return answer


def send_code_to_author(tweet, receipt, send_receipt_code):
    """The access code by direct message to the tweet's author, addressed by numeric user id."""
    author_id = twitter.author_id(tweet)
    if author_id is None:  # intake took the tweet without one: there is nobody to send it to
        log.warning("tweet %s has no author id: its access code cannot be sent", tweet.get("id_str"))
        return
    send_receipt_code(receipt["tracking_id"], "twitter", author_id, receipt["access_code"])


class TwitterWebhook(DependencyProvider):
    """Config `TWITTER_CONSUMER_SECRET` signs every delivery; without it the channel is off (503)."""

    def setup(self):
        config = self.container.config
        self.consumer_secret = config.get("TWITTER_CONSUMER_SECRET") or ""
        self.account = twitter.normalize_account(config.get("TWITTER_ACCOUNT"))

    def get_dependency(self, worker_ctx):
        return self

    def crc(self, crc_token):
        """The challenge-response check Twitter makes when the webhook is registered, and hourly after."""
        secret = self._secret()
        if not crc_token:
            raise ValidationFailed("crc_token wajib diisi.", fields={"crc_token": [translate_message(
                "Missing data for required field.")]})
        if not twitter.is_crc_token(crc_token):  # the answer would sign it as a delivery: never an oracle
            raise ValidationFailed("crc_token tidak valid.", fields={"crc_token": [CRC_TOKEN_REFUSED]})
        return twitter.crc_response(secret, crc_token)

    def receive(self, body, signature, submit_tweet, send_receipt_code):
        """Each mention of the account in a signed payload through `submit_tweet`, its access code to the author
        through `send_receipt_code` (by direct message); the answer, without codes.

        A mention intake refuses (nothing left once the hashtags are gone) is skipped, so the others still count.
        Unavailable from either call answers the whole delivery 503, so Twitter delivers it again:
        intake answers a tweet it already has with the same report and code, and notifications sends a report's
        receipt code once however often it is asked.
        """
        if not twitter.signature_matches(self._secret(), body, signature):
            raise Forbidden("Tanda tangan webhook Twitter tidak valid.")
        receipts = []
        for tweet in twitter.mention_events(parse_json(body), self.account):
            try:
                receipt = submit_tweet(tweet)
            except (ValidationFailed, IdempotencyConflict) as exc:
                log.warning("tweet %s not taken as a report: %s %s", tweet.get("id_str"), exc.code, exc.fields)
                continue
            send_code_to_author(tweet, receipt, send_receipt_code)
            # The access code stays out: the reply is posted publicly.
            receipts.append({"tracking_id": receipt["tracking_id"], "reply": receipt["reply"],
                             "tweet_id": tweet.get("id_str")})
        return webhook_answer(receipts)

    def _secret(self):
        if not self.consumer_secret:
            raise Unavailable("Kanal Twitter belum dikonfigurasi (LAPOR_TWITTER_CONSUMER_SECRET kosong).")
        return self.consumer_secret
