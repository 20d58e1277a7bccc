"""A local SMSC for tests (smpp34's server), run as its own process: `python -m tests.support.smsc PORT FILE`.

Every submit_sm it accepts is appended to FILE as one JSON line; a destination starting with 62800 is refused
(ESME_RINVDSTADR) so a test can see a refusal. It prints `ready` once it listens.
"""
import asyncio
import json
import sys

import smpp34

REFUSED_PREFIX = "62800"


async def serve(port, path):
    server = smpp34.Server("127.0.0.1", port, system_id="lapor-test-smsc")
    await server.start()
    print("ready", flush=True)
    count = 0
    while True:
        item = await server.next()
        if not isinstance(item, smpp34.SubmitSmEvent):
            continue
        if item.destination_addr.startswith(REFUSED_PREFIX):
            item.reject(smpp34.ESME_RINVDSTADR)
            continue
        count += 1
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({
                "source_addr": item.source_addr, "destination_addr": item.destination_addr,
                "data_coding": item.data_coding, "esm_class": item.esm_class,
                "short_message": item.short_message.hex(),
            }) + "\n")
        item.accept(f"m{count}")


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))
