"""Asking for a new access code (an SMS or e-mail at LAPOR's cost): limited per client, answered alike for every
report (issue 13 item 13)."""
from services.gateway import limits, web_text

REQUESTED = "track.code_requested"  # the one answer, in Bahasa Indonesia or English


def request_new_code(tracking, rate_limits, tracking_id, client_address):
    """Count the request against the client (RateLimited once over, so one client cannot have a code sent to every
    reporter in turn), then hand it to tracking without waiting: whatever tracking finds (no such report, no
    contact, the report's own daily limit, a message that fails) and however long the message takes, the caller
    cannot tell."""
    rate_limits.check(limits.ACCESS_CODE, client_address)
    tracking.reissue_access_code.call_async(tracking_id)


def requested_notice(language):
    return {"message": web_text.text(REQUESTED, language)}
