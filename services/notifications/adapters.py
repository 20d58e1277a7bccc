"""Delivery adapters. The local default is the log adapter: it prints each message so a person can watch."""
import logging

log = logging.getLogger("lapor.notifications")


class LogAdapter:
    name = "log"

    def send(self, channel, recipient, masked_recipient, text):
        log.info("[notifikasi %s → %s] %s", channel, masked_recipient, text)
        return {"adapter": self.name}


ADAPTERS = {"log": LogAdapter}


def make_adapter(name):
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise ValueError(f"unknown notification adapter {name!r}; known: {', '.join(ADAPTERS)}")
