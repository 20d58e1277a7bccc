"""Repositories the integration tests share: routing's seeded reference data and tracking's read model."""
import pytest

from services.routing.seed import seed, seed_demo_units
from services.routing.storage import RoutingRepository
from services.tracking.storage import TrackingRepository


@pytest.fixture
def routing_repo(open_repo):
    """Routing's database with the 38 + 514 regions, their governments, the national agencies and the
    demo unit of Kota Metro (KOTA-18.72-DPUPR)."""
    repository = open_repo(RoutingRepository, "lapor_routing")
    seed(repository)
    seed_demo_units(repository)
    return repository


@pytest.fixture
def tracking_repo(open_repo):
    return open_repo(TrackingRepository, "lapor_tracking")
