"""Delivery adapters, one per way out: log (the local default), SMTP e-mail, SMS over an HTTP gateway or SMPP,
Twitter/X direct messages, signed webhooks to agency systems, and the agency console (the outbox itself)."""
import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
from collections import namedtuple
from email.message import EmailMessage
from email.utils import make_msgid

import requests
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
from nameko.extensions import DependencyProvider

from services.common.dead_letters import mask_text

log = logging.getLogger("lapor.notifications")

# What an adapter is given: the message's key and text, and where it goes (the recipient only in memory).
# `kept_text` is the text as the outbox keeps it (an access code masked): the only text that may be shown or logged.
Delivery = namedtuple("Delivery", "message_id tracking_id channel recipient masked text subject payload secret "
                                  "kept_text", defaults=(None,))

CHANNELS = ("sms", "email", "twitter", "webhook", "console")
# The channels that reach someone outside LAPOR (the console is the outbox itself).
SENDING_CHANNELS = tuple(channel for channel in CHANNELS if channel != "console")
# LAPOR_ENV of `make run` and the tests: only there may a channel fall to the log adapter without being named.
LOCAL_ENVIRONMENT = "local"
DEFAULT_TIMEOUT_SECONDS = 10
DEFAULT_TWITTER_API_URL = "https://api.twitter.com"
SIGNATURE_HEADER = "X-Lapor-Signature"
DELIVERY_HEADER = "X-Lapor-Delivery"


class PermanentFailure(Exception):
    """Trying again cannot help (no secret configured, the gateway refused the number): dead at once."""


class LogAdapter:
    """Prints each message so a person can watch: the masked recipient and the text as kept, with anything secret
    (access codes, tokens, receipt links) and any contact in it taken out (DESIGN §2, §5)."""

    name = "log"

    def __init__(self, config=None):
        pass

    def send(self, delivery):
        text = redact_secrets(delivery.kept_text if delivery.kept_text is not None else delivery.text)
        log.info("[notifikasi %s → %s] %s", delivery.channel, delivery.masked, text)
        return {"adapter": self.name}


class ConsoleAdapter:
    """An agency with no e-mail or webhook reads its messages in the officer console, from the outbox: nothing is
    sent, and the log names only the message."""

    name = "console"

    def send(self, delivery):
        log.info("[notifikasi console → %s] %s", delivery.masked, delivery.message_id)
        return {"adapter": self.name}


# Secrets a text may hold, whatever a template or an admin's wording puts there. Access codes are shown as
# XXXX-XXXX in Crockford base32 (DESIGN §5): upper case as LAPOR writes them, or any case with a digit in it (so
# Indonesian reduplications such as "sama-sama" stay readable).
_ACCESS_CODE = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}"
                          r"|(?=[0-9A-Za-z-]*\d)(?i:[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}))(?![0-9A-Za-z])")
_SECRET_PARAMETER = re.compile(r"(?i)\b(tanda|token|access_token|kode|code|key|api_key|signature|sig)=[^&\s#]+")
_BEARER = re.compile(r"(?i)\bbearer\s+[^\s,;]+")
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*")
_SEALED = re.compile(r"\bgAAAAA[\w=-]+")  # a Fernet token: a sealed receipt or cookie value
HIDDEN = "***"


def redact_secrets(text):
    """`text` fit for a log line: access codes, tokens, sealed values, secret URL parameters, e-mail addresses and
    phone numbers taken out; tracking IDs and plain links kept."""
    if not isinstance(text, str):
        return text
    text = _SECRET_PARAMETER.sub(lambda match: f"{match.group(1)}={HIDDEN}", text)
    text = _BEARER.sub(f"Bearer {HIDDEN}", text)
    text = _SEALED.sub(HIDDEN, _JWT.sub(HIDDEN, text))
    return mask_text(_ACCESS_CODE.sub("****-****", text))


class SmtpAdapter:
    name = "smtp"

    def __init__(self, config):
        self.host = config.get("SMTP_HOST") or "127.0.0.1"
        self.port = int(config.get("SMTP_PORT") or 25)
        self.user = config.get("SMTP_USER") or ""
        self.password = config.get("SMTP_PASSWORD") or ""
        self.sender = config.get("SMTP_FROM") or "LAPOR! <noreply@lapor.go.id>"
        self.starttls = _flag(config.get("SMTP_STARTTLS"))
        self.timeout = float(config.get("NOTIFY_SEND_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)

    def send(self, delivery):
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = delivery.recipient
        message["Subject"] = delivery.subject
        message["Message-ID"] = make_msgid(domain="lapor.go.id")
        message[DELIVERY_HEADER] = delivery.message_id
        message.set_content(delivery.text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            refused = smtp.send_message(message)
        if refused:
            raise PermanentFailure("recipient refused")
        return {"adapter": self.name}


class HttpSmsAdapter:
    """An operator's SMS gateway: POST {to, text, reference} as JSON with a bearer token."""

    name = "http"

    def __init__(self, config):
        self.url = config.get("SMS_GATEWAY_URL") or ""
        self.token = config.get("SMS_GATEWAY_TOKEN") or ""
        self.timeout = float(config.get("NOTIFY_SEND_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)
        if not self.url:
            raise ValueError("the http SMS adapter needs LAPOR_SMS_GATEWAY_URL")

    def send(self, delivery):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = requests.post(self.url, json={"to": delivery.recipient, "text": delivery.text,
                                                 "reference": delivery.message_id},
                                 headers=headers, timeout=self.timeout)
        _raise_for_status(response)
        return {"adapter": self.name}


class TwitterDmAdapter:
    """Direct messages from the LAPOR account (X API v2 "Send a new message to a user"): POST {text} as JSON to
    the recipient's one-to-one conversation, with the account's OAuth 2.0 user token (scope dm.write)."""

    name = "twitter"

    def __init__(self, config):
        self.api_url = (config.get("TWITTER_API_URL") or DEFAULT_TWITTER_API_URL).rstrip("/")
        self.token = config.get("TWITTER_DM_TOKEN") or ""
        self.timeout = float(config.get("NOTIFY_SEND_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)
        if not self.token:
            raise ValueError("the twitter adapter needs LAPOR_TWITTER_DM_TOKEN")

    def send(self, delivery):
        # The id goes into the URL path: anything but digits could point the request elsewhere.
        if not (delivery.recipient.isascii() and delivery.recipient.isdigit()):
            raise PermanentFailure("not a Twitter user id")
        response = requests.post(f"{self.api_url}/2/dm_conversations/with/{delivery.recipient}/messages",
                                 json={"text": delivery.text}, headers={"Authorization": f"Bearer {self.token}"},
                                 timeout=self.timeout)
        _raise_for_status(response)
        return {"adapter": self.name}


class SmppAdapter:
    """SMPP 3.4 as a transmitter: bind, submit each part (long texts are split with UDH), unbind."""

    name = "smpp"

    def __init__(self, config):
        self.host = config.get("SMPP_HOST") or "127.0.0.1"
        self.port = int(config.get("SMPP_PORT") or 2775)
        self.system_id = config.get("SMPP_SYSTEM_ID") or ""
        self.password = config.get("SMPP_PASSWORD") or ""
        self.source_addr = str(config.get("SMPP_SOURCE_ADDR") or "1708")
        self.timeout = float(config.get("NOTIFY_SEND_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)

    def send(self, delivery):
        parts, coding, esm_class = smpplib.gsm.make_parts(delivery.text)
        client = smpplib.client.Client(self.host, self.port, timeout=self.timeout, allow_unknown_opt_params=True)
        client.set_message_sent_handler(lambda pdu, **kwargs: None)
        client.connect()
        try:
            client.bind_transmitter(system_id=self.system_id, password=self.password)
            for part in parts:
                client.send_message(
                    source_addr_ton=smpplib.consts.SMPP_TON_ALNUM if not self.source_addr.isdigit()
                    else smpplib.consts.SMPP_TON_UNK,
                    source_addr=self.source_addr,
                    dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                    dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                    destination_addr=delivery.recipient.lstrip("+"),
                    short_message=part, data_coding=coding, esm_class=esm_class,
                )
                client.read_once()  # the submit_sm_resp; an error status raises PDUError
            _unbind_quietly(client)
        finally:
            client.disconnect()
        return {"adapter": self.name}


def _unbind_quietly(client):
    """Every part was accepted: an SMSC that hangs up instead of answering the unbind changes nothing."""
    try:
        client.unbind()
    except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
        log.debug("SMPP unbind not answered: %s", exc)


class WebhookAdapter:
    """POST the message as JSON to an agency's system, signed: `X-Lapor-Signature: sha256=<hex HMAC of the body>`."""

    name = "webhook"

    def __init__(self, config):
        self.timeout = float(config.get("NOTIFY_SEND_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)

    def send(self, delivery):
        if not delivery.secret:
            raise PermanentFailure("no webhook secret configured for this agency")
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(delivery.secret, body),
                   DELIVERY_HEADER: delivery.message_id}
        response = requests.post(delivery.recipient, data=body, headers=headers, timeout=self.timeout,
                                 allow_redirects=False)
        _raise_for_status(response)
        return {"adapter": self.name}


def sign(secret, body):
    """The signature header's value; an agency checks it with hmac.compare_digest over the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _raise_for_status(response):
    # 4xx (but a timeout or a throttle) will not change on a retry; 5xx may.
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise PermanentFailure(f"HTTP {response.status_code}")
    response.raise_for_status()


def _flag(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


ADAPTERS = {"log": LogAdapter, "smtp": SmtpAdapter, "http": HttpSmsAdapter, "smpp": SmppAdapter,
            "twitter": TwitterDmAdapter, "webhook": WebhookAdapter}
# Which adapter may carry which channel (log carries anything).
CARRIES = {"smtp": {"email"}, "http": {"sms"}, "smpp": {"sms"}, "twitter": {"twitter"}, "webhook": {"webhook"}}


def parse_routes(text):
    """`email=smtp,sms=http` → {channel: adapter name}; ValueError naming what is wrong."""
    routes = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        channel, _, adapter = (part.strip() for part in item.partition("="))
        if channel not in CHANNELS or channel == "console":
            raise ValueError(f"unknown notification channel {channel!r} in LAPOR_NOTIFY_ADAPTERS")
        if adapter not in ADAPTERS:
            raise ValueError(f"unknown notification adapter {adapter!r}; known: {', '.join(ADAPTERS)}")
        if adapter != "log" and channel not in CARRIES[adapter]:
            raise ValueError(f"adapter {adapter!r} cannot carry channel {channel!r}")
        routes[channel] = adapter
    return routes


def parse_secrets(text):
    """`ref=secret,ref2=secret2` → {ref: secret} (a secret may itself contain `=`)."""
    secrets = {}
    for item in (text or "").split(","):
        ref, _, secret = item.strip().partition("=")
        if ref and secret:
            secrets[ref] = secret
    return secrets


def check_log_adapter(routes, environment):
    """Outside a local run (LAPOR_ENV=local) a channel goes to the log adapter only where it is asked for by name:
    a message printed to a log is a message not delivered, and a log is read by more people than its reporter."""
    unnamed = [channel for channel in SENDING_CHANNELS if channel not in routes]
    if unnamed and environment != LOCAL_ENVIRONMENT:
        raise ValueError(
            f"LAPOR_NOTIFY_ADAPTERS names no adapter for {', '.join(unnamed)}; outside a local run "
            f"(LAPOR_ENV={LOCAL_ENVIRONMENT}) name one for every channel, e.g. "
            f"{','.join(f'{channel}=log' for channel in unnamed)} to print them to the log on purpose")


class Adapters(DependencyProvider):
    """The adapter for each channel, built once from config; a bad config stops the service at start."""

    def setup(self):
        config = self.container.config
        routes = parse_routes(config.get("NOTIFY_ADAPTERS"))
        check_log_adapter(routes, config.get("ENVIRONMENT"))
        self.by_channel = {channel: ADAPTERS[routes.get(channel, "log")](config) for channel in CHANNELS}
        self.by_channel["console"] = ConsoleAdapter()
        self.webhook_secrets = parse_secrets(config.get("NOTIFY_WEBHOOK_SECRETS"))

    def adapter_for(self, channel):
        return self.by_channel.get(channel) or LogAdapter()

    def webhook_secret(self, ref):
        return self.webhook_secrets.get(ref) if ref else None

    def get_dependency(self, worker_ctx):
        return self
