"""Run one LAPOR service: `python -m services.serve intake` (config services/intake/config.yaml).

The same as `nameko run --config services/<name>/config.yaml services.<name>.service:<Class>`, minus
eventlet's deprecation banner in every process's output, and with `LAPOR_<SECRET>_FILE` read into
`LAPOR_<SECRET>` first (services/common/secret_files.py).
"""
import sys
import warnings
from pathlib import Path

SERVICE_CLASSES = {
    "intake": "IntakeService",
    "routing": "RoutingService",
    "tracking": "TrackingService",
    "notifications": "NotificationsService",
    "sla": "SlaService",
    "gateway": "GatewayService",
}


def nameko_arguments(service):
    config = Path(__file__).resolve().parent / service / "config.yaml"
    return ["nameko", "run", "--config", str(config), f"services.{service}.service:{SERVICE_CLASSES[service]}"]


def main(argv):
    if len(argv) != 1 or argv[0] not in SERVICE_CLASSES:
        print(f"usage: python -m services.serve {{{'|'.join(SERVICE_CLASSES)}}}", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    from services.common.secret_files import SecretFileError, resolve_secret_files
    try:
        resolve_secret_files()  # LAPOR_<SECRET>_FILE, before nameko reads the config from the environment
    except SecretFileError as exc:
        print(f"{argv[0]}: {exc}", file=sys.stderr)
        return 2
    from nameko.cli.main import main as nameko_main

    sys.argv = nameko_arguments(argv[0])
    return nameko_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
