"""Every notification template in both languages, rendered with realistic values; template checking."""
import pytest

from services.intake.sms import gsm7_length
from services.notifications import domain, templates

PORTAL = "https://lapor.go.id/"
LONG_AGENCY = "Dinas Pekerjaan Umum dan Penataan Ruang Kota Metro"
LONG_NOTE = ("Jalan Pala sudah ditambal oleh tim DPUPR pada 20 November 2026, mohon dicek kembali dan "
             "sampaikan bila masih ada lubang di sekitar pasar Iringmulyo.")


def realistic(name, **overrides):
    data = {"tracking_id": "10000004", "agency_code": "KOTA-18.72", "agency_name": "Pemerintah Kota Metro",
            "reason": "criminal", "note": "Jalan sudah ditambal.", "stage": "response",
            "due_at": "2026-11-27T09:00:00+00:00"}
    data.update(overrides)
    values = templates.values_for(name, data, PORTAL, "id")
    values.setdefault("access_code", "ABCD-EFGH")
    return data, values


def rendered(name, language, limit=None, **overrides):
    data, _ = realistic(name, **overrides)
    values = templates.values_for(name, data, PORTAL, language)
    if "access_code" in templates.DEFAULTS[name][1]:
        values["access_code"] = "ABCD-EFGH"
    return templates.render(templates.default_text(name, language), values, limit)


EVERY = [(name, language) for name in templates.names() for language in templates.LANGUAGES]
REPORTER = [(name, language) for name, language in EVERY
            if templates.audience_of(name) == "reporter" and name != domain.ACCESS_CODE_TEMPLATE]


@pytest.mark.parametrize("name, language", EVERY)
def test_every_template_renders_completely_with_realistic_values(name, language):
    text = rendered(name, language)
    assert "{" not in text and "}" not in text and "None" not in text
    assert "10000004" in text and text.startswith("LAPOR!")
    for placeholder in templates.DEFAULTS[name][1]:
        assert placeholder not in ("deadline",) or "27/11/2026 16" in text


@pytest.mark.parametrize("name, language", EVERY)
def test_every_template_renders_with_nothing_but_the_tracking_id(name, language):
    values = templates.values_for(name, {"tracking_id": "10000004"}, PORTAL, language)
    values.setdefault("access_code", "ABCD-EFGH")
    text = templates.render(templates.default_text(name, language), values)
    assert "{" not in text and "None" not in text and "  " not in text and " ." not in text


@pytest.mark.parametrize("name, language", REPORTER)
@pytest.mark.parametrize("agency_name, note", [("Pemerintah Kota Metro", "Jalan sudah ditambal."),
                                               (LONG_AGENCY, LONG_NOTE)])
def test_reporter_templates_fit_one_gsm7_sms(name, language, agency_name, note):
    text = rendered(name, language, limit=templates.SMS_LENGTH, agency_name=agency_name, note=note)
    length = gsm7_length(text)
    assert length is not None, f"{name}/{language} is not GSM-7: {text}"
    assert length <= templates.SMS_LENGTH, f"{name}/{language} is {length} septets: {text}"
    assert "10000004" in text


def test_an_sms_shortens_the_note_but_keeps_the_link():
    text = rendered("report_followed_up", "id", limit=templates.SMS_LENGTH, note=LONG_NOTE)
    assert text.endswith("https://lapor.go.id/lacak?id=10000004") and "..." in text
    assert LONG_NOTE[:30] in text
    email = rendered("report_followed_up", "id", note=LONG_NOTE)
    assert LONG_NOTE in email


def test_languages_differ_for_every_template():
    for name in templates.names():
        assert templates.default_text(name, "id") != templates.default_text(name, "en")


def test_every_planned_template_exists_for_its_audience():
    for name in domain.REPORTER_TEMPLATES.values():
        assert templates.audience_of(name) == "reporter"
    for name in list(domain.AGENCY_TEMPLATES.values()) + list(domain.DEADLINE_TEMPLATES.values()):
        assert templates.audience_of(name) == "agency"


def test_agency_templates_have_no_placeholder_for_the_reporter():
    for name in templates.names():
        if templates.audience_of(name) == "agency":
            assert not {"reporter", "name", "phone", "email", "reporter_name"} & set(templates.placeholders_of(name))


@pytest.mark.parametrize("reason", sorted(templates.REASONS))
def test_a_rejection_gives_the_reason_in_plain_words(reason):
    for language in templates.LANGUAGES:
        text = rendered("report_rejected", language, reason=reason, note=None)
        assert templates.REASONS[reason][templates.LANGUAGES.index(language)] in text
        assert "_" not in text and "-." not in text


def test_the_deadline_is_shown_in_jakarta_time_or_as_the_promised_span_when_unknown():
    assert templates.format_deadline("2026-11-27T09:00:00+00:00", "id") == "27/11/2026 16.00 WIB"
    assert templates.format_deadline("2026-11-27T09:00:00+00:00", "en") == "27/11/2026 16:00 WIB"
    assert templates.format_deadline(None, "id") == "5 hari kerja"
    assert "5 working days" in rendered("report_disposed", "en", due_at=None)


@pytest.mark.parametrize("text, named", [
    ("Laporan {tracking_id} oleh {reporter_name}", "{reporter_name}"),
    ("Laporan {tracking_id.__class__}", "{tracking_id.__class__}"),
    ("Laporan {tracking_id[0]}", "{tracking_id[0]}"),
    ("Laporan {tracking_id:>99999}", "{tracking_id:>99999}"),
    ("Laporan {tracking_id!r}", "{tracking_id!r}"),
    ("Laporan {}", "{}"),
])
def test_an_unknown_or_unsafe_placeholder_is_refused_by_name(text, named):
    with pytest.raises(templates.TemplateError) as refused:
        templates.check("report_received", "id", text)
    assert named in refused.value.problems["text"]["id"] and named in refused.value.problems["text"]["en"]


@pytest.mark.parametrize("text", ["Laporan {tracking_id", "Laporan tracking_id}", "", "   ", "x" * 1001])
def test_broken_blank_or_overlong_texts_are_refused(text):
    with pytest.raises(templates.TemplateError):
        templates.check("report_received", "id", text)


@pytest.mark.parametrize("name", [domain.ACCESS_CODE_TEMPLATE, domain.RECEIPT_CODE_TEMPLATE])
def test_the_access_code_templates_must_keep_the_code(name):
    with pytest.raises(templates.TemplateError) as refused:
        templates.check(name, "en", "Your code for {tracking_id} is ready.")
    assert "{access_code}" in refused.value.problems["text"]["en"]
    templates.check(name, "en", "Code for {tracking_id}: {access_code}")


def test_the_first_code_is_not_called_a_new_one():
    for language in templates.LANGUAGES:
        text = rendered(domain.RECEIPT_CODE_TEMPLATE, language)
        assert "ABCD-EFGH" in text and "baru" not in text.lower() and "new" not in text.lower()


def test_a_good_template_with_literal_braces_passes_and_renders():
    templates.check("report_disposed", "en", "{{LAPOR}} {tracking_id} -> {agency_name} by {deadline}")
    _, values = realistic("report_disposed")
    assert templates.render("{{LAPOR}} {tracking_id}", values) == "{LAPOR} 10000004"


def test_an_unknown_language_is_refused():
    with pytest.raises(templates.TemplateError):
        templates.check("report_received", "jv", "{tracking_id}")


def test_the_subject_carries_the_tracking_id():
    assert templates.subject("10000004", "id") == "LAPOR!: Laporan 10000004"
    assert templates.subject("10000004", "en") == "LAPOR!: Report 10000004"
