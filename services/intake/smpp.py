"""`@smpp_deliver`: SMS to 1708 straight from the operator's SMSC over an SMPP transceiver bind, each run as a worker
whose reply goes back as a submit_sm before the deliver_sm is acknowledged. Each part of a long SMS is a worker of its
own, so it is acknowledged only once it is stored: nothing acknowledged lives only in this process."""
import logging
import socket
from functools import partial

import eventlet
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm
import smpplib.smpp
from eventlet.semaphore import Semaphore
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint, ProviderCollector, SharedExtension

from services.common.errors import IdempotencyConflict, LaporError, ValidationFailed
from services.common.events import now
from services.common.metrics import Metrics, MetricsApi
from services.intake.smpp_pdu import SenderCap, delivery, is_receipt, mo_part

log = logging.getLogger("lapor.intake.smpp")

DEFAULT_PORT = 2775
DEFAULT_ENQUIRE_LINK_SECONDS = 30
DEFAULT_SENDER_LIMIT = 20  # different SMS per sender per hour, as the gateway allows over HTTP
RECONNECT_FIRST_SECONDS = 1
RECONNECT_MAX_SECONDS = 30
UNBIND_WAIT_SECONDS = 1

ROK = smpplib.consts.SMPP_ESME_ROK
RETRY = smpplib.consts.SMPP_ESME_RX_T_APPN  # the SMSC keeps the SMS and delivers it again later
REFUSE = smpplib.consts.SMPP_ESME_RX_P_APPN  # the SMSC drops it: trying again cannot help
PERMANENT = (ValidationFailed, IdempotencyConflict)
LINK_ERRORS = (OSError, smpplib.exceptions.ConnectionError)
MESSAGES_METRIC = ("lapor_smpp_messages", "SMS from the SMSC by outcome", ("outcome",))


def ack_status(exc):
    """The deliver_sm_resp status once the worker is done: OK only when the report is stored."""
    if exc is None:
        return ROK
    return REFUSE if isinstance(exc, PERMANENT) else RETRY


def _sender_limit(value):
    """A whole number ≥ 0 (0: no cap); anything else stops intake at start, as the gateway's limits do."""
    if value in (None, ""):
        return DEFAULT_SENDER_LIMIT
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ValueError(f"SMPP_RECEIVER_SENDER_LIMIT must be a whole number >= 0, not {value!r}")
    return int(value)


def _outcome(status, result):
    """The metric's outcome of an answered SMS; "part": a part kept, its SMS not (yet) submitted with it."""
    if status == ROK:
        return "stored" if result else "part"
    return "retry" if status == RETRY else "refused"


def _address(value):
    return value.decode("ascii", errors="replace") if isinstance(value, bytes) else (value or "")


class _Link:
    """One bound session. Workers' replies and the reader's answers share the socket, so sends take a lock."""

    def __init__(self, client):
        self.client = client
        self.lock = Semaphore()
        self.open = True

    def send(self, command, sequence=None, **fields):
        with self.lock:
            if not self.open:  # an answer for a session that is gone: the SMSC redelivers on the next one
                raise smpplib.exceptions.ConnectionError("SMPP link closed")
            pdu = smpplib.smpp.make_pdu(command, client=self.client, **fields)
            if sequence is not None:
                pdu.sequence = sequence
            self.client.send_pdu(pdu)

    def unbind(self, wait_seconds=UNBIND_WAIT_SECONDS):
        """Say goodbye and give the reader a moment to read the SMSC's unbind_resp (which marks the client open)."""
        try:
            self.send("unbind")
        except LINK_ERRORS + (smpplib.exceptions.PDUError,):
            return
        with eventlet.Timeout(wait_seconds, False):
            while self.client.state != smpplib.consts.SMPP_CLIENT_STATE_OPEN:
                eventlet.sleep(0.05)

    def close(self):
        if not self.open:
            return
        self.open = False
        try:
            self.client.disconnect()
        except OSError:
            pass


class SmppReceiver(ProviderCollector, SharedExtension):
    """The bind, shared by the service's `@smpp_deliver` entrypoint: off unless `SMPP_RECEIVER_HOST` is set."""

    def setup(self):
        config = self.container.config
        self.host = str(config.get("SMPP_RECEIVER_HOST") or "").strip()
        self.port = int(config.get("SMPP_RECEIVER_PORT") or DEFAULT_PORT)
        self.system_id = str(config.get("SMPP_RECEIVER_SYSTEM_ID") or "")
        self.password = str(config.get("SMPP_RECEIVER_PASSWORD") or "")
        self.system_type = str(config.get("SMPP_RECEIVER_SYSTEM_TYPE") or "")
        self.source_addr = str(config.get("SMPP_RECEIVER_SOURCE_ADDR") or "1708")
        self.idle_seconds = float(config.get("SMPP_RECEIVER_ENQUIRE_LINK_SECONDS") or DEFAULT_ENQUIRE_LINK_SECONDS)
        self.sender_cap = SenderCap(_sender_limit(config.get("SMPP_RECEIVER_SENDER_LIMIT")))
        self.metrics = next((MetricsApi(ext) for ext in self.container.extensions if isinstance(ext, Metrics)), None)
        self.accepting = True
        self.stopping = False
        self.link = None
        self.thread = None

    def start(self):
        if self.host and self._providers:
            self.thread = self.container.spawn_managed_thread(self._run, identifier="smpp_receiver")

    def unregister_provider(self, provider):
        super().unregister_provider(provider)
        if not self._providers:
            self.accepting = False  # the container is stopping: what arrives now is left to the SMSC's retry

    def stop(self):
        self.wait_for_providers()
        self._shut(unbind=True)

    def kill(self):
        self._shut(unbind=False)

    def _shut(self, unbind):
        self.stopping = True
        link, self.link = self.link, None
        if link is not None:
            if unbind:
                link.unbind()
            link.close()
        if self.thread is not None:
            self.thread.kill()

    # --- the link ------------------------------------------------------------------------------------------------

    def _run(self):
        """Bind, listen, and bind again with a growing pause when the link drops or the bind is refused."""
        delay = RECONNECT_FIRST_SECONDS
        while not self.stopping:
            link = None
            try:
                link = self._bind()
                delay = RECONNECT_FIRST_SECONDS
                self._listen(link)
            except Exception as exc:  # noqa: BLE001  nothing the SMSC sends or does may stop intake: bind again
                if not self.stopping:
                    log.warning("SMPP link to %s:%s: %r; binding again in %ss", self.host, self.port, exc, delay)
            finally:
                if link is not None:
                    self._unbound(link)
            if not self.stopping:
                eventlet.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _bind(self):
        client = smpplib.client.Client(self.host, self.port, timeout=self.idle_seconds, allow_unknown_opt_params=True,
                                       logger_name="lapor.intake.smpp.wire")
        client.connect()
        try:
            client.bind_transceiver(system_id=self.system_id, password=self.password, system_type=self.system_type)
        except BaseException:
            client.disconnect()
            raise
        self.link = _Link(client)
        self._gauge(1)
        log.info("SMPP bound as transceiver to %s:%s", self.host, self.port)
        return self.link

    def _unbound(self, link):
        link.close()
        if self.link is link:
            self.link = None
        self._gauge(0)

    def _listen(self, link):
        """Read PDUs until the link fails; an idle link is probed with enquire_link, and dead if it stays silent."""
        probing = False
        while not self.stopping:
            try:
                pdu = link.client.read_pdu()
            except socket.timeout:
                if probing:
                    raise smpplib.exceptions.ConnectionError("enquire_link not answered")
                link.send("enquire_link")
                probing = True
                continue
            except smpplib.exceptions.UnknownCommandError as exc:  # read whole, so the stream is still in step
                log.warning("SMPP: %s", exc)
                continue
            probing = False
            self._dispatch(link, pdu)

    def _dispatch(self, link, pdu):
        if pdu.command == "deliver_sm":
            self._on_deliver_sm(link, pdu)
        elif pdu.command == "enquire_link":
            link.send("enquire_link_resp", sequence=pdu.sequence)
        elif pdu.command == "unbind":
            link.send("unbind_resp", sequence=pdu.sequence)
            raise smpplib.exceptions.ConnectionError("the SMSC unbound")
        elif pdu.command in ("submit_sm_resp", "generic_nack") and pdu.is_error():
            self._count("reply_refused")
            log.warning("SMPP: the SMSC refused a reply (%s, status 0x%x)", pdu.command, pdu.status)

    # --- one SMS ---------------------------------------------------------------------------------------------------

    def _on_deliver_sm(self, link, pdu):
        if is_receipt(pdu.esm_class, getattr(pdu, "receipted_message_id", None)):
            return self._ack(link, pdu, ROK, "receipt")
        if not self.accepting:
            return self._ack(link, pdu, RETRY, "retry")
        try:
            part = mo_part(pdu)
            message = delivery(part, now().isoformat())
        except ValueError as exc:
            return self._refuse(link, pdu, exc)
        same_sms = message["message_id"] if part.concat is None else (part.concat.ref, part.concat.total)
        if not self.sender_cap.allow(part.source, same_sms):
            return self._ack(link, pdu, REFUSE, "throttled")
        provider = next(iter(self._providers), None)
        if provider is None:
            return self._ack(link, pdu, RETRY, "retry")
        provider.handle_message(message, partial(self._answer, link, pdu))
        return None

    def _answer(self, link, pdu, result, status):
        """After the worker: the reply first, then the ack, so a link lost between them means a redelivery (and
        the same reply again), never a stored report whose sender heard nothing."""
        try:
            if status == ROK and result and result.get("reply"):
                self._reply(link, pdu, result["reply"])
            link.send("deliver_sm_resp", sequence=pdu.sequence, status=status)
        except LINK_ERRORS + (smpplib.exceptions.PDUError,) as exc:
            log.warning("SMPP: could not answer an SMS (the SMSC will deliver it again): %s", exc)
            return
        self._count(_outcome(status, result))

    def _reply(self, link, pdu, text):
        parts, coding, esm_class = smpplib.gsm.make_parts(text)
        for part in parts:
            link.send(
                "submit_sm",
                source_addr_ton=smpplib.consts.SMPP_TON_UNK if self.source_addr.isdigit()
                else smpplib.consts.SMPP_TON_ALNUM,
                source_addr=self.source_addr,
                dest_addr_ton=pdu.source_addr_ton, dest_addr_npi=pdu.source_addr_npi,
                destination_addr=_address(pdu.source_addr),
                short_message=part, data_coding=coding, esm_class=esm_class,
            )

    def _refuse(self, link, pdu, reason):
        log.warning("SMPP: an SMS that cannot be read is refused: %s", reason)
        self._ack(link, pdu, REFUSE, "refused")

    def _ack(self, link, pdu, status, outcome):
        link.send("deliver_sm_resp", sequence=pdu.sequence, status=status)
        self._count(outcome)

    def _count(self, outcome):
        if self.metrics is None:
            return
        self.metrics.counter(*MESSAGES_METRIC).labels(outcome).inc()

    def _gauge(self, value):
        if self.metrics is not None:
            self.metrics.gauge("lapor_smpp_bound", "1 while the SMPP receiver is bound to the SMSC").set(value)


class SmppDeliver(Entrypoint):
    """Runs the decorated method with {from, text, message_id, received_at} for each SMS the SMSC delivers, or with
    {from, received_at, part: {ref, total, seq, data_coding, payload}} for each part of a long SMS (smpp_pdu.delivery);
    the method's answer is {..., reply}, or None for a part kept without a reply. Stored → reply sent, deliver_sm
    OK; ValidationFailed → refused for good; any other error → a temporary error, so the SMSC delivers it again."""

    receiver = SmppReceiver()

    def __init__(self, **kwargs):
        kwargs.setdefault("expected_exceptions", LaporError)  # logged as a warning, not as a crash
        super().__init__(**kwargs)

    def setup(self):
        self.receiver.register_provider(self)

    def stop(self):
        self.receiver.unregister_provider(self)

    def handle_message(self, message, answer):
        try:
            self.container.spawn_worker(self, (message,), {}, handle_result=partial(self.handle_result, answer))
        except ContainerBeingKilled:
            answer(None, RETRY)

    def handle_result(self, answer, worker_ctx, result=None, exc_info=None):
        answer(result, ack_status(exc_info[1] if exc_info else None))
        return result, exc_info


smpp_deliver = SmppDeliver.decorator
