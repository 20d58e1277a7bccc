"""A reissued access code in notifications: the text sent carries it, the text kept never does, and a kept
message is never sent again (it could only carry the mask)."""
from nameko.testing.services import worker_factory

from services.notifications import templates
from services.notifications.domain import MASKED_ACCESS_CODE, access_code_message_id, access_code_texts
from services.notifications.service import NotificationsService

DEFAULT_TEXTS = {language: templates.default_text("access_code_reissued", language) for language in templates.LANGUAGES}


def test_the_sent_text_carries_the_code_in_both_languages_indonesian_first():
    sent, kept = access_code_texts("10000004", "ABCD-EFGH", DEFAULT_TEXTS)
    indonesian, english = sent.split(" / ")
    assert indonesian.startswith("LAPOR!: Kode akses baru untuk laporan 10000004: ABCD-EFGH.")
    assert english.startswith("LAPOR!: New access code for report 10000004: ABCD-EFGH.")
    assert kept == sent.replace("ABCD-EFGH", MASKED_ACCESS_CODE)
    assert "ABCD" not in kept and "{" not in kept


def test_every_request_is_its_own_message():
    assert access_code_message_id("10000004", "sms") != access_code_message_id("10000004", "sms")
    assert access_code_message_id("10000004", "sms").startswith("10000004:access_code_reissued:")


def test_a_code_message_left_for_the_retry_is_dead_not_sent_with_the_mask():
    service = worker_factory(NotificationsService)
    service.storage.claim_retry.side_effect = [
        {"_id": "m1", "tracking_id": "10000004", "channel": "sms", "attempts": 0, "secret": True,
         "reporter_ref": "rep_1", "text": "…****-****…", "recipient_masked": "0812****7890"},
        None,
    ]
    service.config = {}
    service.storage.claim_unpublished_failure.return_value = None

    service.retry_failed()

    message_id, _, _ = service.storage.mark_failed.call_args.args
    assert message_id == "m1" and service.storage.mark_failed.call_args.kwargs["dead"] is True
    service.intake.contact.assert_not_called()
    service.storage.mark_sent.assert_not_called()
