"""The web receipt in a real browser (issue 13 item 7): shown once, to the browser that submitted, never from a
URL; another browser opening the same address, or the same one reloading, sees no code."""
from playwright.sync_api import expect

from tests.e2e.test_web import browser, site, submit_report  # noqa: F401 - the browser and the stack's site


def test_the_receipt_is_shown_once_to_the_submitting_browser_only(browser, site):  # noqa: F811
    own = browser.new_context(base_url=site, locale="id-ID")
    stranger = browser.new_context(base_url=site, locale="id-ID")
    try:
        page = own.new_page()
        tracking_id, code = submit_report(page, "Pungli surat keterangan", "Petugas kelurahan meminta uang untuk "
                                          "surat keterangan domisili.", confidential=True)
        assert tracking_id.isdigit() and len(code) == 9
        assert page.url.endswith("/lapor/terkirim") and "tanda" not in page.url

        other = stranger.new_page()
        response = other.goto(page.url)
        assert response.status == 410
        expect(other.locator("#access-code")).to_have_count(0)
        assert code not in other.content() and tracking_id not in other.content()

        response = page.reload()
        assert response.status == 410 and code not in page.content()
    finally:
        own.close()
        stranger.close()
