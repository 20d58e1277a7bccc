"""A handset on the test SMSC (tests/support/smsc.py): an ESME bound as `phone`, in this process, that sends SMS to
1708 and keeps every SMS the SMSC passes on to it."""
import socket

import eventlet
import smpplib.client
import smpplib.consts
import smpplib.smpp

from services.intake.smpp_pdu import decode_text


class Phone:
    def __init__(self, port, number="6281234567890"):
        self.number = number
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=1, allow_unknown_opt_params=True)
        self.inbox = []  # texts the SMSC delivered to this phone
        self.statuses = []  # command_status of each submit_sm_resp
        self._reader = None

    def start(self):
        self.client.connect()
        self.client.bind_transceiver(system_id="phone", password="phone")
        self._reader = eventlet.spawn(self._read)
        return self

    def send(self, short_message, to="1708", service_type="", esm_class=0, data_coding=0):
        """One submit_sm from this phone; `short_message` is the octets as they go on the wire."""
        self.client.send_message(
            service_type=service_type,
            source_addr_ton=smpplib.consts.SMPP_TON_INTL, source_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            source_addr=self.number, dest_addr_ton=smpplib.consts.SMPP_TON_UNK, destination_addr=to,
            short_message=short_message, esm_class=esm_class, data_coding=data_coding,
        )

    def _read(self):
        while True:
            try:
                pdu = self.client.read_pdu()
            except socket.timeout:
                continue
            if pdu.command == "deliver_sm":
                self.inbox.append(decode_text(pdu.short_message, pdu.data_coding))
                answer = smpplib.smpp.make_pdu("deliver_sm_resp", client=self.client)
                answer.sequence = pdu.sequence
                self.client.send_pdu(answer)
            elif pdu.command == "submit_sm_resp":
                self.statuses.append(pdu.status)

    def stop(self):
        if self._reader is not None:
            self._reader.kill()
        self.client.disconnect()
