"""A local SMTP server for tests (aiosmtpd), run as its own process: `python -m tests.support.smtp_sink PORT FILE`.

Every message it receives is appended to FILE as one JSON line {from, to, data}. It runs outside the test
process because aiosmtpd's asyncio loop and eventlet's monkey-patched threads do not mix. Prints `ready`.
"""
import json
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                  "data": envelope.content.decode("utf-8", "replace")}) + "\n")
        return "250 OK"


if __name__ == "__main__":
    controller = Controller(Sink(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()
