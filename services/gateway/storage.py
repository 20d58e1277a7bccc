"""The gateway's repository (lapor_gateway). Officer accounts, API clients and the audit log arrive
with the accounts issue; today the gateway keeps no state of its own between requests."""
from services.common.mongo import Repository


class GatewayRepository(Repository):
    pass
