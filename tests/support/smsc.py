"""A local SMSC for tests (smpp34's server), run as its own process: `python -m tests.support.smsc PORT FILE`.

Every submit_sm it accepts is appended to FILE as one JSON line; a destination starting with 62800 is refused
(ESME_RINVDSTADR) so a test can see a refusal. It prints `ready` once it listens.

It also routes, as an operator's SMSC does (smpp34's server routes nothing itself: it hands over each bind and
each submit_sm, and `Esme.deliver_sm` pushes to a bound session). A handset is an ESME bound with a system_id
starting `phone`. Its submit_sm to the short code 1708 (an SMS from the phone) goes to the receiver, the latest
other bound ESME that can receive, as a deliver_sm, tried again every half second until answered OK or with a
permanent error (ESME_RX_P_APPN), as an SMSC's retries do; a service_type of `DUP` delivers it a second time after
that, as when a deliver_sm_resp was lost. A submit_sm to any other number is passed on to the bound phone. Each
deliver_sm and its answer is a `"pdu": "deliver_sm"` line in FILE; submit_sm lines carry `"pdu": "submit_sm"`.
"""
import asyncio
import json
import sys

import smpp34

REFUSED_PREFIX = "62800"
SHORT_CODE = "1708"
PHONE_PREFIX = "phone"
RETRY_SECONDS = 0.5
MAX_ATTEMPTS = 120
ESME_RX_P_APPN = 0x65


class Smsc:
    def __init__(self, port, path):
        self.port = port
        self.path = path
        self.sessions = {}  # session_id → Esme, in bind order
        self.count = 0
        self.tasks = set()

    def record(self, line):
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    def bound(self, is_phone):
        esmes = [esme for esme in self.sessions.values()
                 if esme.can_receive and esme.system_id.startswith(PHONE_PREFIX) == is_phone]
        return esmes[-1] if esmes else None

    async def serve(self):
        server = smpp34.Server("127.0.0.1", self.port, system_id="lapor-test-smsc")
        await server.start()
        print("ready", flush=True)
        while True:
            item = await server.next()
            if isinstance(item, smpp34.Esme):
                self.sessions[item.session_id] = item
            elif isinstance(item, smpp34.Unbound):
                self.sessions.pop(item.session_id, None)
            elif isinstance(item, smpp34.SubmitSmEvent):
                self.submitted(item)

    def submitted(self, item):
        if item.destination_addr.startswith(REFUSED_PREFIX):
            item.reject(smpp34.ESME_RINVDSTADR)
            return
        self.count += 1
        sender = self.sessions.get(item.session_id)
        self.record({
            "pdu": "submit_sm", "system_id": sender.system_id if sender else None,
            "source_addr": item.source_addr, "destination_addr": item.destination_addr,
            "data_coding": item.data_coding, "esm_class": item.esm_class,
            "short_message": item.short_message.hex(),
        })
        item.accept(f"m{self.count}")
        from_phone = sender is not None and sender.system_id.startswith(PHONE_PREFIX)
        if from_phone and item.destination_addr == SHORT_CODE:
            self.spawn(self.deliver(item, to_phone=False, copies=2 if item.service_type == "DUP" else 1))
        elif not from_phone:
            self.spawn(self.deliver(item, to_phone=True, copies=1))

    def spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver(self, item, to_phone, copies):
        for copy in range(copies):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                status = await self.deliver_once(item, to_phone, copy, attempt)
                if status in (0, ESME_RX_P_APPN):
                    break
                await asyncio.sleep(RETRY_SECONDS)

    async def deliver_once(self, item, to_phone, copy, attempt):
        esme = self.bound(is_phone=to_phone)
        if esme is None:
            return None
        try:
            response = await esme.deliver_sm(
                item.destination_addr, item.short_message, source_addr=item.source_addr,
                source_addr_ton=item.source_addr_ton, source_addr_npi=item.source_addr_npi,
                dest_addr_ton=item.dest_addr_ton, dest_addr_npi=item.dest_addr_npi,
                esm_class=item.esm_class, data_coding=item.data_coding, tlvs=item.tlvs,
            )
            status = response.command_status
        except Exception as exc:  # noqa: BLE001  the session went away: try again, as an SMSC does
            status, error = None, repr(exc)
        else:
            error = None
        self.record({
            "pdu": "deliver_sm", "system_id": esme.system_id, "source_addr": item.source_addr,
            "destination_addr": item.destination_addr, "data_coding": item.data_coding,
            "esm_class": item.esm_class, "short_message": item.short_message.hex(),
            "copy": copy, "attempt": attempt, "command_status": status, "error": error,
        })
        return status


if __name__ == "__main__":
    asyncio.run(Smsc(int(sys.argv[1]), sys.argv[2]).serve())
