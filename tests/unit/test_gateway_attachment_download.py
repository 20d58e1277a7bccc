"""Issue 13 item 12: a download was joined whole in the gateway (a 24 MiB file held about 40 MiB); it now streams
one 4 MiB part at a time, the first asked for before the answer starts so its errors are still error answers."""
import base64

import pytest

from services.common.errors import NotFound
from services.gateway.attachments import streamed_parts


class Intake:
    """intake.attachment_part as the gateway's RPC proxy answers it, with the calls it was asked."""

    def __init__(self, parts):
        self.parts = parts
        self.asked = []

    def attachment_part(self, tracking_id, attachment_id, index):
        self.asked.append((tracking_id, attachment_id, index))
        if index >= len(self.parts):
            raise NotFound("Lampiran tidak ditemukan.")
        return {"content_b64": base64.b64encode(self.parts[index]).decode("ascii")}


def test_the_parts_are_asked_for_one_at_a_time_as_the_body_is_sent():
    intake = Intake([b"a" * 10, b"b" * 10, b"c" * 3])
    body = streamed_parts(intake, "10000004", "att-1", 3)
    assert intake.asked == [("10000004", "att-1", 0)]  # only the first, before the answer starts

    assert next(body) == b"a" * 10
    assert len(intake.asked) == 1
    assert next(body) == b"b" * 10
    assert [index for _, _, index in intake.asked] == [0, 1]
    assert list(body) == [b"c" * 3]
    assert [index for _, _, index in intake.asked] == [0, 1, 2]


def test_a_file_intake_cannot_find_is_an_error_before_any_byte():
    with pytest.raises(NotFound):
        streamed_parts(Intake([]), "10000004", "att-1", 1)
