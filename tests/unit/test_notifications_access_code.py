"""Access codes in notifications, reissued or the first one sent to a Twitter reporter: the text sent carries the
code, the text kept never does, and a kept message is never sent again (it could only carry the mask)."""
import pytest
from nameko.testing.services import worker_factory

from services.common.errors import ValidationFailed
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
         "reporter_ref": "rep_1", "text": "…****-****…", "recipient_masked": "********890"},
        None,
    ]
    service.config = {}
    service.storage.claim_unpublished_failure.return_value = None

    service.retry_failed()

    message_id, _, _ = service.storage.mark_failed.call_args.args
    assert message_id == "m1" and service.storage.mark_failed.call_args.kwargs["dead"] is True
    service.intake.contact.assert_not_called()
    service.storage.mark_sent.assert_not_called()


def code_service(added=True):
    """The service with fakes: `added` is what the outbox answers to a new message's key."""
    service = worker_factory(NotificationsService)
    service.config = {}
    service.storage.template_override.return_value = None
    service.storage.add_message.return_value = added
    service.storage.get_message.side_effect = lambda _: dict(service.storage.add_message.call_args.args[0],
                                                             attempts=0)
    service.adapters.adapter_for.return_value.send.return_value = {"adapter": "twitter"}
    return service


def sent_deliveries(service):
    return [call.args[0] for call in service.adapters.adapter_for.return_value.send.call_args_list]


def test_the_first_code_goes_to_the_given_twitter_user_once_kept_masked():
    service = code_service()

    assert service.send_receipt_code("10000004", "twitter", "4242", "ABCD-EFGH") is True

    [message] = [call.args[0] for call in service.storage.add_message.call_args_list]
    assert message["_id"] == "10000004:access_code_receipt:twitter" and message["secret"] is True
    assert message["template"] == "access_code_receipt" and message["recipient_masked"] == "********2"
    assert MASKED_ACCESS_CODE in message["text"] and "ABCD-EFGH" not in str(message)
    [delivery] = sent_deliveries(service)
    assert (delivery.channel, delivery.recipient) == ("twitter", "4242")
    assert delivery.text == message["text"].replace(MASKED_ACCESS_CODE, "ABCD-EFGH")
    assert delivery.text.startswith("LAPOR!: Kode akses laporan 10000004: ABCD-EFGH.")  # Indonesian first
    service.storage.mark_sent.assert_called_once_with(message["_id"], "twitter")
    service.intake.contact.assert_not_called()  # the author's id came with the mention


def test_a_first_code_already_written_is_not_sent_again():
    service = code_service(added=False)
    assert service.send_receipt_code("10000004", "twitter", "4242", "ABCD-EFGH") is False
    assert sent_deliveries(service) == []


def test_a_first_code_that_cannot_be_sent_is_refused_by_field():
    service = code_service()
    with pytest.raises(ValidationFailed) as refused:
        service.send_receipt_code("10000004", "sms", "", "ABCD-EFGH")
    assert set(refused.value.fields) == {"channel", "recipient"}
    service.storage.add_message.assert_not_called()


def test_a_reissued_code_goes_to_every_contact_on_file_including_the_twitter_user():
    service = code_service()
    service.intake.contact.return_value = {"handle": "@siti", "twitter_id": "4242", "phone": "+6281234567890"}

    assert service.send_access_code("10000004", "rep_1", "twitter", "ABCD-EFGH") is True

    assert [(d.channel, d.recipient) for d in sent_deliveries(service)] == [("twitter", "4242"),
                                                                            ("sms", "+6281234567890")]
    messages = [call.args[0] for call in service.storage.add_message.call_args_list]
    assert all(m["template"] == "access_code_reissued" and m["reporter_ref"] == "rep_1" for m in messages)
    assert "Kode akses baru" in sent_deliveries(service)[0].text
