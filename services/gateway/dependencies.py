"""What the gateway's own dependency providers share: the signing secret and the service's one MongoStore."""
from services.common.mongo import MongoStore


def secret_key(config):
    """The server secret for signatures and keyed hashes; refusing to start without one."""
    key = config.get("SECRET_KEY") or ""
    if not key:
        raise RuntimeError("LAPOR_SECRET_KEY must be set (make run generates one under var/)")
    return key


def service_store(container, needed_by):
    """The service's MongoStore, so every dependency shares its one client rather than opening another."""
    stores = [dependency for dependency in container.dependencies if isinstance(dependency, MongoStore)]
    if len(stores) != 1:
        raise RuntimeError(f"{needed_by} needs the service to have exactly one MongoStore")
    return stores[0]
