"""services.common.rpc: a call that waits at most the timeout, and one sent without waiting for its reply."""
from unittest.mock import MagicMock

import pytest

from services.common.errors import Unavailable
from services.common.rpc import _TimedServiceProxy


def test_call_async_sends_without_waiting_and_hands_back_the_reply():
    proxy = MagicMock()
    timed = _TimedServiceProxy(proxy, "tracking", 5)

    reply = timed.reissue_access_code.call_async("10000004")

    proxy.reissue_access_code.call_async.assert_called_once_with("10000004")
    proxy.reissue_access_code.assert_not_called()
    assert reply is proxy.reissue_access_code.call_async.return_value


def test_call_async_on_a_broken_broker_is_unavailable():
    proxy = MagicMock()
    proxy.reissue_access_code.call_async.side_effect = ConnectionResetError("broker gone")
    with pytest.raises(Unavailable, match="tracking"):
        _TimedServiceProxy(proxy, "tracking", 5).reissue_access_code.call_async("10000004")
