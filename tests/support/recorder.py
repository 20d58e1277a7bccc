"""A throwaway service that records the events it hears, for asserting what went on the bus."""
from nameko.events import event_handler


def make_recorder(*subscriptions):
    """A service class subscribed to each (source, event_type); heard events land in `cls.heard`."""
    heard = []
    attributes = {"name": "recorder", "heard": heard}
    for index, (source, event_type) in enumerate(subscriptions):
        def handler(self, payload, _event_type=event_type):
            heard.append((_event_type, payload))

        handler.__name__ = f"on_{event_type}_{index}"
        attributes[handler.__name__] = event_handler(source, event_type)(handler)
    return type("Recorder", (), attributes)
