"""Canary values for one customer run through the whole workflow; afterwards not one of
them may be found anywhere outside the vault: not in any table of the shared database
(however folded), not in the SQL sent to it, not in the logs, not in the messages of
refusals and not in the audit trail.

The search itself is checked too (positive controls): a scan that cannot find anything
would pass for the wrong reason.
"""

from __future__ import annotations

import datetime
import json
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import User
from apps.applications import services as app_services
from apps.applications.leaks import fold
from apps.applications.models import Application
from apps.applications.retail_reads import retail_application_detail, retail_application_list
from apps.applications.reveal import application_reveal_customer
from apps.applications.services import LeakFound
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import ServiceError
from apps.publication.models import PublishedApplication
from apps.retailers.models import Retailer
from apps.retailers.services import retailer_create
from apps.vault.services import vault_read
from apps.vocabulary.normalize import to_halfwidth
from tests.conftest import replicate
from tests.factories import RetailerFactory, application_input
from tests.retail.site import LIST, detail, search, view_on_retail_site

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

NAME = "鵜飼 鶫"
KANA = "ウカイ ツグミ"
PHONE = "090-7777-3131"
NEW_PHONE = "080-6666-4242"
EMAIL = "Tsugumi.Canary@Example.invalid"

_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _phone_forms(phone: str) -> set[str]:
    digits = phone.replace("-", "")
    return {
        phone,
        digits,
        phone.translate(_FULLWIDTH),
        digits.translate(_FULLWIDTH),
        phone.replace("-", " "),
        "+81-" + phone[1:],
        "+81" + digits[1:],
    }


# Every form a leak could take, searched case-insensitively in the raw text …
FORMS: set[str] = {
    NAME,
    NAME.replace(" ", ""),
    NAME.replace(" ", "\u3000"),
    "鵜飼",
    "鶫",
    KANA,
    KANA.replace(" ", ""),
    "うかい つぐみ",
    "うかいつぐみ",
    "ｳｶｲ ﾂｸﾞﾐ",
    "ｳｶｲﾂｸﾞﾐ",
    "ウカイ",
    "ツグミ",
    "うかい",
    "つぐみ",
    EMAIL,
    EMAIL.lower(),
    EMAIL.upper(),
    "Tsugumi.Canary",
    *_phone_forms(PHONE),
    *_phone_forms(NEW_PHONE),
}
# … in the folded text (width, kana, case, spaces and hyphens folded away) …
FOLDED: set[str] = {fold(form) for form in FORMS}
# … and among the digits of each value, for phone numbers split by anything at all.
PHONE_DIGITS = {PHONE.replace("-", ""), NEW_PHONE.replace("-", "")}


# What a clerk might type into the retail-visible remarks; encoding must refuse each.
LEAKY_REMARKS = [
    f"連絡先 {PHONE}",
    "連絡先 " + PHONE.replace("-", "").translate(_FULLWIDTH),
    f"{NAME}様宅",
    "うかい つぐみ 様",
    f"メール {EMAIL.upper()}",
]


def canaries_in(text: str) -> list[str]:
    """Which canary forms `text` contains (empty when it is clean)."""
    lowered = text.casefold()
    hits = {form for form in FORMS if form.casefold() in lowered}
    folded = fold(text)
    hits |= {f"folded:{needle}" for needle in FOLDED if needle in folded}
    digits = "".join(char for char in to_halfwidth(text) if char.isdigit())
    hits |= {f"digits:{d}" for d in PHONE_DIGITS if d in digits}
    return sorted(hits)


def _as_text(value: Any) -> str:
    """A database value as searchable text. JSON is decoded as well: Django stores
    JSONField values with non-ASCII characters escaped (\\uXXXX) on SQLite."""
    if value is None:
        return ""
    if isinstance(value, memoryview | bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    if text[:1] in ("{", "[", '"'):
        try:
            decoded = json.loads(text)
        except ValueError:
            return text
        return text + "\n" + json.dumps(decoded, ensure_ascii=False, default=str)
    return text


def dump(alias: str) -> Iterator[tuple[str, str]]:
    """(table, value) for every value of every row of every table of one database."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    yield table, _as_text(value)


def leaks_in_database(alias: str) -> list[tuple[str, list[str]]]:
    return [(table, hits) for table, text in dump(alias) if (hits := canaries_in(text))]


def _without_typed_remarks(sql: str) -> str:
    """The SQL minus the leaky remarks the clerk deliberately typed. Free text is only
    scanned when it is encoded, so until then it is stored as typed: that is the one
    place the workflow itself put the canaries, and the final dump shows it corrected."""
    for remarks in LEAKY_REMARKS:
        sql = sql.replace(remarks, "")
    return sql


def _exception_texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))]
    if isinstance(exc, ValidationError):
        texts.append(repr(exc.message_dict if hasattr(exc, "error_dict") else exc.messages))
    if isinstance(exc, ServiceError):
        texts.append(str(exc.message))
    if isinstance(exc, LeakFound):
        texts.append(repr(exc.leaks))
    return texts


class Refusals:
    """Collects every refusal of the workflow; each one must happen."""

    def __init__(self) -> None:
        self.caught: list[BaseException] = []

    def expect(self, kind: type[Exception], call: Any, **kwargs: Any) -> BaseException:
        with pytest.raises(kind) as info:
            call(**kwargs)
        self.caught.append(info.value)
        return info.value


def _today() -> datetime.date:
    return timezone.localdate()


def run_workflow(
    *,
    clerk: User,
    clerk2: User,
    supervisor: User,
    supervisor2: User,
    construction: User,
    retail_user: User,
    retailer: Retailer,
    other_retailer: Retailer,
    refusals: Refusals,
) -> Application:
    svc = app_services
    data = application_input(
        retailer,
        customer_name=NAME,
        customer_name_kana=KANA,
        customer_phone=PHONE,
        customer_email=EMAIL,
        remarks=LEAKY_REMARKS[0],
    )
    app = svc.application_create(acting_user=clerk, data=data)
    app = svc.application_submit(acting_user=clerk, application_id=app.pk)

    # Encoding is refused while a retail-visible field holds the customer's data, in
    # whatever form; the refusal names the field, never the value.
    for index, remarks in enumerate(LEAKY_REMARKS):
        if index:
            app = svc.application_update(
                acting_user=clerk,
                application_id=app.pk,
                expected_version=app.version,
                changes={"remarks": remarks},
            )
        exc = refusals.expect(
            LeakFound, svc.application_encode, acting_user=clerk, application_id=app.pk
        )
        assert isinstance(exc, LeakFound)
        assert {leak.field for leak in exc.leaks} == {"remarks"}
    # Bad input is refused without echoing it.
    for changes in (
        {"customer_phone": PHONE + "9"},
        {"customer_email": EMAIL.replace("@", "@@")},
        {"customer_name_kana": KANA + "1"},
    ):
        refusals.expect(
            ValidationError,
            svc.application_update,
            acting_user=clerk,
            application_id=app.pk,
            expected_version=app.version,
            changes=changes,
        )
    app = svc.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"remarks": "新築戸建て。引込柱の位置は現地で確認。"},
    )

    # encode → review → verify; retail sees the masked projection
    app = svc.application_encode(acting_user=clerk, application_id=app.pk)
    svc.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    app = svc.application_verify(
        acting_user=supervisor, application_id=app.pk, expected_version=app.version
    )
    replicate()  # the relay that follows the commit
    retail_application_list(user=retail_user)
    # on the retail site: the views reach the trail through its log and the collector
    view_on_retail_site(retail_user, LIST, detail(app.reference or ""))

    # the phone changes after verification: a fresh encode and second check
    app = svc.application_update(
        acting_user=clerk2,
        application_id=app.pk,
        expected_version=app.version,
        changes={"customer_phone": NEW_PHONE},
    )
    assert not app.is_retail_visible
    app = svc.application_encode(acting_user=clerk2, application_id=app.pk)
    svc.application_record_review_opened(acting_user=supervisor2, application_id=app.pk)
    # returned for correction: a reason with personal data is refused
    for reason in (f"{NEW_PHONE} に確認してください", f"{KANA}さんの件", f"{NAME}様"):
        refusals.expect(
            ValidationError,
            svc.application_return,
            acting_user=supervisor2,
            application_id=app.pk,
            reason=reason,
        )
    app = svc.application_return(
        acting_user=supervisor2, application_id=app.pk, reason="連絡先の確認が必要です。"
    )
    app = svc.application_encode(acting_user=clerk, application_id=app.pk)
    svc.application_record_review_opened(acting_user=supervisor2, application_id=app.pk)
    app = svc.application_verify(
        acting_user=supervisor2, application_id=app.pk, expected_version=app.version
    )
    app = svc.application_release(acting_user=supervisor, application_id=app.pk)

    # スイッチング after release
    refusals.expect(
        ValidationError,
        svc.application_change_retailer,
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        retailer_id=other_retailer.pk,
        reason=f"{EMAIL} から申出",
    )
    app = svc.application_change_retailer(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        retailer_id=other_retailer.pk,
        reason="スイッチング",
    )
    app = svc.application_encode(acting_user=clerk, application_id=app.pk)
    svc.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    app = svc.application_verify(
        acting_user=supervisor, application_id=app.pk, expected_version=app.version
    )
    replicate()
    view_on_retail_site(retail_user, search(app.reference or ""))
    retail_application_detail(user=retail_user, reference=app.reference or "")

    # construction: completion, a reveal with a reason code, energization
    app = svc.application_complete(
        acting_user=construction, application_id=app.pk, completed_on=_today()
    )
    pii = application_reveal_customer(
        acting_user=construction, application_id=app.pk, purpose="scheduling"
    )
    assert (pii.name, pii.name_kana, pii.phone, pii.email) == (
        NAME,
        KANA,
        NEW_PHONE,
        "Tsugumi.Canary@example.invalid",
    )
    refusals.expect(
        ValidationError,
        application_reveal_customer,
        acting_user=construction,
        application_id=app.pk,
        purpose="other",
        reason_text=f"{NEW_PHONE.replace('-', '')} へ折り返し",
    )
    application_reveal_customer(
        acting_user=construction,
        application_id=app.pk,
        purpose="other",
        reason_text="停電作業の事前連絡",
    )
    app = svc.application_energize(
        acting_user=construction, application_id=app.pk, energized_on=_today()
    )

    # a second application of the same customer, cancelled
    second = svc.application_create(
        acting_user=clerk2,
        data=application_input(
            retailer,
            customer_name=NAME,
            customer_name_kana=KANA,
            customer_phone=PHONE,
            customer_email=EMAIL,
        ),
    )
    second = svc.application_submit(acting_user=clerk2, application_id=second.pk)
    refusals.expect(
        ValidationError,
        svc.application_cancel,
        acting_user=supervisor,
        application_id=second.pk,
        reason=f"{NAME.replace(' ', '')}様より取消",
    )
    svc.application_cancel(acting_user=supervisor, application_id=second.pk, reason="申込者の都合")
    replicate()
    return app


@pytest.fixture
def other_retailer(db: None) -> Retailer:
    return retailer_create(acting_user=None, code="B0003", name="ひがし新電力")


def test_canary_customer_data_never_reaches_the_shared_database(
    clerk: User,
    clerk2: User,
    supervisor: User,
    supervisor2: User,
    construction: User,
    retail_user: User,
    retailer: Retailer,
    other_retailer: Retailer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given: every log record from DEBUG up, and every statement sent to either database
    caplog.set_level(logging.DEBUG)
    refusals = Refusals()
    with (
        CaptureQueriesContext(connections["default"]) as shared_sql,
        CaptureQueriesContext(connections["vault"]) as vault_sql,
    ):
        # when
        app = run_workflow(
            clerk=clerk,
            clerk2=clerk2,
            supervisor=supervisor,
            supervisor2=supervisor2,
            construction=construction,
            retail_user=retail_user,
            retailer=retailer,
            other_retailer=other_retailer,
            refusals=refusals,
        )

    # then: the workflow really ran …
    assert app.state == "energized"
    assert app.is_retail_visible
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        AuditAction.APPLICATION_ENCODE_REFUSED,
        AuditAction.APPLICATION_RETURNED,
        AuditAction.APPLICATION_RETAILER_CHANGED,
        AuditAction.APPLICATION_CANCELLED,
        AuditAction.APPLICATION_ENERGIZED,
        AuditAction.PII_READ,
        AuditAction.RETAIL_VIEWED,
    } <= actions
    assert len(shared_sql.captured_queries) > 100
    assert len(vault_sql.captured_queries) > 0

    # … and not one canary is anywhere outside the vault's ciphertext
    shared = list(dump("default"))
    tables = {table for table, _text in shared}
    assert {"applications_application", "audit_auditevent", "accounts_user"} <= tables
    assert leaks_in_database("default") == []
    assert leaks_in_database("vault") == []  # encrypted at rest; the blind index is keyed
    # The retail database (what the retail site reads) holds the verified application, no
    # canary in any table, and nothing of an application that is not verified for its
    # current version.
    retail = list(dump("retail"))
    assert leaks_in_database("retail") == []
    published = [text for table, text in retail if table == "publication_publishedapplication"]
    assert app.reference in published
    assert set(PublishedApplication.objects.values_list("application_id", flat=True)) == set(
        Application.objects.retail_visible_state().values_list("id", flat=True)
    )
    # No table of it (published rows, accounts, inbox, view log…) names an application that
    # was never verified: the cancelled second application's reference is nowhere.
    verified_ids = AuditEvent.objects.filter(action=AuditAction.APPLICATION_VERIFIED).values_list(
        "object_id", flat=True
    )
    never_verified = [
        reference
        for reference in Application.objects.exclude(
            pk__in=[int(pk) for pk in verified_ids]
        ).values_list("reference", flat=True)
        if reference
    ]
    assert never_verified, "the workflow leaves an application that was never verified"
    assert [(table, ref) for table, text in retail for ref in never_verified if ref in text] == []

    for alias, captured in (("default", shared_sql), ("vault", vault_sql)):
        sent = [
            hits
            for query in captured.captured_queries
            if (hits := canaries_in(_without_typed_remarks(query["sql"])))
        ]
        assert sent == [], f"personal data in SQL sent to {alias!r}"

    assert len(caplog.records) > 0
    logged = [
        (record.name, hits)
        for record in caplog.records
        for text in (record.getMessage(), logging.Formatter().format(record), repr(record.args))
        if (hits := canaries_in(text))
    ]
    assert logged == []

    assert len(refusals.caught) == 14
    in_messages = [
        (type(exc).__name__, hits)
        for exc in refusals.caught
        for text in _exception_texts(exc)
        if (hits := canaries_in(text))
    ]
    assert in_messages == []

    in_audit = [
        (event.action, hits)
        for event in AuditEvent.objects.all()
        for text in (
            event.reason,
            json.dumps(event.details, ensure_ascii=False, default=str),
            json.dumps(event.changed_fields, ensure_ascii=False),
            event.object_label,
        )
        if (hits := canaries_in(text))
    ]
    assert in_audit == []

    # Retail's view of the application is clean as well.
    for output in retail_application_list(user=retail_user):
        assert canaries_in(repr(output)) == []
        assert canaries_in(json.dumps(output.as_dict(), ensure_ascii=False, default=str)) == []


def test_the_search_finds_canaries_where_they_are(
    clerk: User, retailer: Retailer, new_application: Any
) -> None:
    """Positive controls: the same search finds each canary wherever it is."""
    # the vault's decrypted record holds them, and the search finds every kind
    app = new_application(
        customer_name=NAME, customer_name_kana=KANA, customer_phone=PHONE, customer_email=EMAIL
    )
    pii = vault_read(app.customer_ref)
    for value in (pii.name, pii.name_kana, pii.phone, pii.email):
        assert canaries_in(value), "the search misses a value the vault holds"
    # folded forms are found as well
    for form in (
        "鵜飼鶫",
        "うかい　つぐみ",
        "ｳｶｲﾂｸﾞﾐ",
        "０９０７７７７３１３１",
        "tel:090.7777.3131",
        "(090) 7777 3131",
        "TSUGUMI.CANARY@EXAMPLE.INVALID",
    ):
        assert canaries_in(f"備考: {form} です"), form
    assert canaries_in("新築戸建て。引込柱の位置は現地で確認。") == []

    # the database dump finds a canary written to it, in a JSON field (escaped on SQLite)
    # and in a plain column in full-width digits; rolled back afterwards
    assert leaks_in_database("default") == []
    with transaction.atomic():
        AuditEvent(
            action=AuditAction.CONFIGURATION_CHANGED, details={"note": KANA}, reason=""
        ).save(force_insert=True)
        RetailerFactory(code="Z9999", name="連絡 " + PHONE.translate(_FULLWIDTH))
        found = dict(leaks_in_database("default"))
        assert "audit_auditevent" in found
        assert "retailers_retailer" in found
        transaction.set_rollback(True)
    assert leaks_in_database("default") == []


def test_a_work_page_reveal_reason_with_personal_data_is_refused_or_not_stored(
    clerk: User, new_application: Any
) -> None:
    """Work-page purposes once kept their free text unscanned, straight into the audit
    trail in the shared database."""
    app = new_application(
        customer_name=NAME, customer_name_kana=KANA, customer_phone=PHONE, customer_email=EMAIL
    )
    for purpose in ("entry", "edit", "encode"):
        try:
            application_reveal_customer(
                acting_user=clerk,
                application_id=app.pk,
                purpose=purpose,
                reason_text=f"{PHONE} に確認",
            )
        except ValidationError:
            continue  # refusing the text is as good as dropping it
        # the read itself happened and was recorded
        assert AuditEvent.objects.filter(
            action=AuditAction.PII_READ, details__purpose=purpose
        ).exists()
    assert leaks_in_database("default") == []
