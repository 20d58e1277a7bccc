"""`python -m chaos.retrain AMQP_URI`: ask routing to retrain, as `make run` does after start (launcher.after_start)."""
import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from devstack import launcher  # noqa: E402


def main(argv):
    trained = launcher.after_start(SimpleNamespace(amqp_uri=argv[0]), log=lambda message: print(message, flush=True))
    return 0 if trained is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
