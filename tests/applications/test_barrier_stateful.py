"""The barrier under random workflows (hypothesis stateful testing).

A model of the rules runs beside the services: for every random step it predicts
whether the step must succeed or be refused, and after every step it checks that

(a) retail sees exactly the applications whose masking is verified for the current
    version *and* whose retail-group object permission is held, and only while the
    viewer is in the retail division with the retail role;
(b) nothing retail receives contains any customer's personal data, however folded;
(c) the periodic consistency check finds no disagreement between the two locks;
(d) the retail database (all retail reads) holds at no point a row of a version that was
    never verified (every published row's hash is one a supervisor verified for that
    application and version); and once the replication relay has caught up (per
    example, either after every change, as the embedded default's eager relay does, or
    only at random points, a rule of its own, as a stopped and restarted worker), it
    equals the truth: one row per application verified for its current version and
    granted, holding that version's projection as the model predicts it (the retailer's
    current name included), its hash and its progress; one retail account per active
    retail person with the retail role, and no retail session of anyone else (a transfer
    out of retail ends them).

Until the relay catches up, retail sees the published table as it is (the lag of the
one-way publication); the views are checked against it, and it against the model once
caught up. The fault-injection rules let the relay catch up first, so the consistency
check has nothing in flight.

Renaming a retailer and changing its affiliation withdraw the publication of its
applications and send them back through encode → verify. Fault-injection rules open one
lock, or change the published table, behind the services' back to prove the consistency
check reports and, where it may, repairs it.

Database isolation: a state machine runs all its examples inside one test method, and
hypothesis' per-example hooks (``setup_example``) are only called for methods, so
``hypothesis.extra.django.TestCase`` cannot roll back between examples here. Each
machine instead opens a savepoint on every database in ``__init__`` and rolls it back
in ``teardown``; the surrounding ``django.test.TestCase`` rolls back the rest.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.test import TestCase as DjangoTestCase
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from apps.accounts.models import (
    ROLE_DIVISION,
    DivisionCode,
    DivisionMembership,
    Role,
    RoleCode,
    User,
)
from apps.accounts.roles import ROLE_PERMISSIONS
from apps.administration.services import user_create, user_grant_role, user_transfer
from apps.applications import services as app_services
from apps.applications.barrier import Disagreement, Mismatch, PublicationMismatch, barrier_check
from apps.applications.leaks import fold
from apps.applications.models import (
    Application,
    ApplicationContribution,
    ApplicationGroupObjectPermission,
    ReviewOpening,
    Waiting,
)
from apps.applications.retail_reads import (
    retail_application_count,
    retail_application_detail,
    retail_application_list,
    retail_application_page,
)
from apps.applications.services import LeakFound
from apps.applications.visibility import VIEW_PERM, retail_group
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import FourEyesViolation, NotFound, ServiceError
from apps.publication.models import PublishedApplication, RetailAccount, RetailSession
from apps.replication.models import ReplicationMessage
from apps.retailers.models import Retailer
from apps.retailers.services import (
    retailer_create,
    retailer_decide_affiliation,
    retailer_propose_affiliation,
    retailer_rename,
)
from apps.vault.services import vault_read
from apps.vocabulary.projection import RetailApplication, project, projection_hash
from tests.conftest import PASSWORD, replicate
from tests.factories import application_input

ALIASES = ("default", "vault", "retail")
TD, RETAIL = str(DivisionCode.TD), str(DivisionCode.RETAIL)
AWAITING_ENCODING_STATES = {"entered", "released", "constructed", "energized"}
DIVISIONS = [str(code) for code in DivisionCode]
TD_ROLES = [str(RoleCode.CLERK), str(RoleCode.SUPERVISOR), str(RoleCode.CONSTRUCTION)]
HOME_ROLES = {
    TD: TD_ROLES,
    RETAIL: [str(RoleCode.RETAIL)],
    str(DivisionCode.AUDIT): [str(RoleCode.AUDITOR)],
    str(DivisionCode.ADMIN): [str(RoleCode.ADMINISTRATOR)],
}
POST_RELEASE = ("released", "constructed", "energized")
EDITABLE = ("draft", "entered", "encoded", "verified", "released", "constructed")

PERM_ADD = "applications.add_application"
PERM_CHANGE = "applications.change_application"
PERM_SUBMIT = "applications.submit_application"
PERM_ENCODE = "applications.encode_application"
PERM_VERIFY = "applications.verify_application"
PERM_RETURN = "applications.return_application"
PERM_RELEASE = "applications.release_application"
PERM_CANCEL = "applications.cancel_application"
PERM_CONSTRUCTION = "applications.record_construction"

# (username, division, roles, superuser, may be transferred)
PERSONAS: list[tuple[str, str, tuple[str, ...], bool, bool]] = [
    ("clerk_sato", TD, ("clerk",), False, True),
    ("clerk_suzuki", TD, ("clerk",), False, True),
    ("super_takahashi", TD, ("supervisor",), False, True),
    ("super_tanaka", TD, ("supervisor",), False, True),
    ("koji_ito", TD, ("construction",), False, True),
    ("root_kimura", TD, (), True, True),
    ("kouri_watanabe", RETAIL, ("retail",), False, True),
    ("kouri_yamada", RETAIL, ("retail",), False, True),
    # Never transferred: the fault-injection rules need one retail viewer at all times.
    ("kouri_kansoku", RETAIL, ("retail",), False, False),
    ("kansa_yamamoto", "audit", ("auditor",), False, True),
    ("admin_nakamura", "admin", ("administrator",), False, False),
    ("admin_kobayashi", "admin", ("administrator",), False, False),
]
ADMIN, ADMIN2, PROBE = "admin_nakamura", "admin_kobayashi", "kouri_kansoku"

SAFE_REMARKS = ["", "現地確認済み。", "引込柱の位置は現地で確認。", "工事日程は別途調整。"]
VALUE_POOLS = {
    "municipality": ["那覇市", "浦添市", "宜野湾市", "沖縄市"],
    "contractor_name": ["試験電設株式会社", "南風原電設", "琉球設備工業"],
    "contract_capacity_kw": ["6.0", "8.0", "10.0", "12.5"],
    "street_address": ["試験町1丁目1番地", "試験町2丁目5番地", "試験町3丁目8番地"],
    "postal_code": ["900-0001", "900-0002", "901-2101"],
    "contractor_registration": ["沖縄県知事登録 第01234号", "沖縄県知事登録 第05678号"],
}
RETAIL_VISIBLE_KINDS = [
    "municipality",
    "contractor_name",
    "remarks",
    "contract_capacity_kw",
    "requested_start_date",
    "supply_point_id",
]
T_AND_D_ONLY_KINDS = ["street_address", "postal_code", "contractor_registration"]
CUSTOMER_ATTRS = {
    "customer_name": "name",
    "customer_name_kana": "kana",
    "customer_phone": "phone",
    "customer_email": "email",
}
CUSTOMER_KINDS = list(CUSTOMER_ATTRS)
CLEAN_REASON = "記載内容に確認事項があります。"

_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_KANJI = "〇一二三四五六七八九"
_KANA = "ゼイニサシゴロナハク"


@dataclass(frozen=True)
class Customer:
    name: str
    kana: str
    phone: str
    email: str

    @classmethod
    def numbered(cls, n: int) -> Customer:
        digits = f"{n:03d}"
        return cls(
            name=f"検証 {''.join(_KANJI[int(d)] for d in digits)}子",
            kana=f"ケンショウ {''.join(_KANA[int(d)] for d in digits)}コ",
            phone=f"090-{4000 + n:04d}-{(n * 37) % 10000:04d}",
            email=f"kensho.{n}@example.invalid",
        )


@dataclass
class Person:
    pk: int
    username: str
    home: str
    division: str
    roles: set[str]
    superuser: bool
    transferable: bool

    def may(self, perm: str) -> bool:
        """What `require(..., division=TD)` must decide, predicted independently."""
        if self.division != TD:
            return False
        return self.superuser or any(perm in ROLE_PERMISSIONS[role] for role in self.roles)

    @property
    def sees_retail(self) -> bool:
        return self.division == RETAIL and "retail" in self.roles


@dataclass
class Model:
    pk: int
    reference: str
    retailer_id: int
    customer: Customer
    fields: dict[str, str]
    state: str = "draft"
    masking: str = "unmasked"
    version: int = 1
    contributors: set[int] = field(default_factory=set)
    reviews: set[tuple[int, int]] = field(default_factory=set)
    remarks_leak: bool = False
    verifier: int | None = None  # who verified it, while it stays verified

    @property
    def retail_visible(self) -> bool:
        # Every change unmasks, so "verified" always means "verified for this version".
        return self.masking == "verified"


def _needles(customer: Any) -> set[str]:
    """Folded forms of one customer's data as the checks look for them."""
    name, kana, phone, email = (
        (customer.name, customer.kana, customer.phone, customer.email)
        if isinstance(customer, Customer)
        else (customer.name, customer.name_kana, customer.phone, customer.email)
    )
    needles = {fold(name), fold(kana), fold(phone), fold(email)}
    for part in [*name.split(), *kana.split()]:
        if len(fold(part)) >= 2:
            needles.add(fold(part))
    return {needle for needle in needles if needle}


def _digits(text: str) -> str:
    return "".join(char for char in fold(text) if char.isdigit())


def assert_no_pii(output: RetailApplication, needles: set[str], phones: set[str]) -> None:
    """(b): neither the whole projection nor any of its values holds personal data."""
    texts = [repr(output), str(output.as_dict()), *(str(v) for v in output.as_dict().values())]
    for text in texts:
        folded = fold(text)
        leaked = sorted(needle for needle in needles if needle in folded)
        assert not leaked, f"retail output of {output.reference} contains personal data"
    for value in output.as_dict().values():
        digits = _digits(str(value))
        assert not any(phone in digits for phone in phones), (
            f"retail output of {output.reference} contains a customer's phone digits"
        )


class BarrierMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._atomics = [transaction.atomic(using=alias) for alias in ALIASES]
        for block in self._atomics:
            block.__enter__()
        try:
            self._set_up()
        except BaseException:
            self.teardown()
            raise

    def _set_up(self) -> None:
        self.serial = itertools.count(1)
        self.people: dict[str, Person] = {}
        for username, division, roles, superuser, transferable in PERSONAS:
            user = user_create(
                acting_user=None,
                username=username,
                password=PASSWORD,
                division=division,
                roles=list(roles),
            )
            if superuser:  # the services make superusers in administration only
                User.objects.filter(pk=user.pk).update(is_superuser=True)
            self.people[username] = Person(
                pk=user.pk,
                username=username,
                home=division,
                division=division,
                roles=set(roles),
                superuser=superuser,
                transferable=transferable,
            )
        admin, admin2 = self.user(ADMIN), self.user(ADMIN2)
        own = retailer_create(acting_user=admin, code="A0001", name="おきなわ電力小売")
        proposal = retailer_propose_affiliation(
            acting_user=admin, retailer_id=own.pk, make_affiliated=True, reason="自社小売部門"
        )
        retailer_decide_affiliation(acting_user=admin2, proposal_id=proposal.pk, approve=True)
        retailer_create(acting_user=admin, code="B0002", name="みなみ新電力")
        retailer_create(acting_user=admin, code="C0003", name="ひがし新電力")
        self.retailers = list(Retailer.objects.order_by("code"))
        assert [r.is_affiliated for r in self.retailers] == [True, False, False]
        self.retailer_names = {r.pk: r.name for r in self.retailers}
        self.affiliated = {r.pk: r.is_affiliated for r in self.retailers}
        self.people_by_pk = {p.pk: p for p in self.people.values()}
        self.apps: dict[int, Model] = {}
        self.customers: list[Customer] = []
        # The relay after every successful call (the embedded default's eager relay), or
        # only when the relay_runs_now rule fires (a stopped worker); drawn per example.
        self.eager = False
        # (application, version, hash) of every verification: what may ever be published.
        self.verified_versions: set[tuple[int, int, str]] = set()
        self._pii_cache: dict[Any, Any] = {}
        # keyed by id(); the object is kept in the value so the id stays unique
        self._needle_cache: dict[int, tuple[Any, set[str]]] = {}

    def teardown(self) -> None:
        for alias, block in reversed(list(zip(ALIASES, self._atomics, strict=True))):
            transaction.set_rollback(True, using=alias)
            block.__exit__(None, None, None)

    # --- helpers ------------------------------------------------------------------

    def user(self, username: str) -> User:
        # A fresh instance per action, as a request would load it: Django caches
        # permissions on the instance and a transfer must not hide behind that cache.
        return User.objects.get(pk=self.people[username].pk)

    def actor(self, data: st.DataObject, perm: str) -> Person:
        qualified = sorted(p.username for p in self.people.values() if p.may(perm))
        if qualified and data.draw(st.integers(0, 4), label="qualified actor?") > 0:
            return self.people[data.draw(st.sampled_from(qualified), label="actor")]
        return self.people[data.draw(st.sampled_from(sorted(self.people)), label="actor")]

    def draw_app(self, data: st.DataObject) -> Model:
        return self.apps[data.draw(st.sampled_from(sorted(self.apps)), label="application")]

    def new_customer(self) -> Customer:
        customer = Customer.numbered(next(self.serial))
        self.customers.append(customer)
        return customer

    def snapshot(self) -> tuple[Any, ...]:
        through = User.groups.through
        return (
            list(Application.objects.order_by("pk").values()),
            sorted(
                ApplicationGroupObjectPermission.objects.values_list(
                    "group_id", "permission_id", "content_object_id"
                )
            ),
            list(PublishedApplication.objects.order_by("pk").values()),
            ReplicationMessage.objects.count(),
            ApplicationContribution.objects.count(),
            ReviewOpening.objects.count(),
            list(DivisionMembership.objects.order_by("pk").values()),
            sorted(through.objects.values_list("user_id", "group_id")),
        )

    def attempt(
        self,
        what: str,
        expect_ok: bool,
        call: Callable[[], Any],
        *,
        refusal: type[Exception] | None = None,
    ) -> bool:
        """Run one service call; it must succeed exactly when the model says so, and a
        refusal must leave everything as it was."""
        before = self.snapshot()
        try:
            call()
        except (ServiceError, ValidationError) as exc:
            event(f"{what}: refused")
            assert not expect_ok, f"{what} was refused although the rules allow it: {exc!r}"
            if refusal is not None:
                assert isinstance(exc, refusal), f"{what} refused with {exc!r}, not {refusal}"
            assert self.snapshot() == before, f"the refused {what} changed something"
            return False
        assert expect_ok, f"{what} succeeded although the rules forbid it"
        event(f"{what}: done")
        if self.eager:
            replicate()
        return True

    def invalidate(self, app: Model, person: Person) -> None:
        app.version += 1
        app.contributors.add(person.pk)
        if app.masking != "unmasked":
            app.masking = "unmasked"
            if app.state in ("encoded", "verified"):
                app.state = "entered"

    def retail_viewers(self) -> list[Person]:
        return [p for p in self.people.values() if p.sees_retail]

    def assert_hidden_from_retail(self, app: Model) -> None:
        viewers = self.retail_viewers()
        assert PROBE in {p.username for p in viewers}  # the check is never vacuous
        for person in viewers:
            user = self.user(person.username)
            shown = [r.reference for r in retail_application_list(user=user)]
            assert app.reference not in shown, f"{person.username} sees {app.reference}"
            try:
                retail_application_detail(user=user, reference=app.reference)
            except NotFound:
                pass
            else:
                raise AssertionError(f"{person.username} opens {app.reference}")

    # --- the workflow ---------------------------------------------------------------

    def do_create(self, person: Person, retailer: Retailer) -> None:
        customer = self.new_customer()
        n = next(self.serial)
        data = application_input(
            retailer,
            supply_point_id=f"10{n:020d}",
            customer_name=customer.name,
            customer_name_kana=customer.kana,
            customer_phone=customer.phone,
            customer_email=customer.email,
        )
        created: list[Application] = []
        ok = self.attempt(
            "create",
            person.may(PERM_ADD),
            lambda: created.append(
                app_services.application_create(acting_user=self.user(person.username), data=data)
            ),
        )
        if ok:
            application = created[0]
            assert application.reference
            self.apps[application.pk] = Model(
                pk=application.pk,
                reference=application.reference,
                retailer_id=retailer.pk,
                customer=customer,
                fields={name: str(data[name]) for name in [*VALUE_POOLS, *RETAIL_VISIBLE_KINDS]},
                contributors={person.pk},
            )

    def do_edit(self, person: Person, app: Model, kind: str, value: str) -> None:
        ok = self.attempt(
            f"edit of {kind}",
            person.may(PERM_CHANGE) and app.state in EDITABLE,
            lambda: app_services.application_update(
                acting_user=self.user(person.username),
                application_id=app.pk,
                expected_version=app.version,
                changes={kind: value},
            ),
        )
        if not ok:
            return
        if kind in CUSTOMER_KINDS:
            app.customer = Customer(**{**asdict(app.customer), CUSTOMER_ATTRS[kind]: value})
            self.customers.append(app.customer)
        else:
            app.fields[kind] = value
            if kind == "remarks":
                app.remarks_leak = value not in SAFE_REMARKS
        self.invalidate(app, person)

    def do_submit(self, person: Person, app: Model) -> None:
        if self.attempt(
            "submit",
            person.may(PERM_SUBMIT) and app.state == "draft",
            lambda: app_services.application_submit(
                acting_user=self.user(person.username), application_id=app.pk
            ),
        ):
            app.state = "entered"
            app.contributors.add(person.pk)

    def do_encode(self, person: Person, app: Model) -> None:
        allowed = (
            person.may(PERM_ENCODE)
            and app.masking == "unmasked"
            and app.state in ("entered", *POST_RELEASE)
        )
        refused_before = AuditEvent.objects.filter(
            action=AuditAction.APPLICATION_ENCODE_REFUSED
        ).count()
        ok = self.attempt(
            "encode",
            allowed and not app.remarks_leak,
            lambda: app_services.application_encode(
                acting_user=self.user(person.username), application_id=app.pk
            ),
            refusal=LeakFound if allowed else None,
        )
        refused_now = AuditEvent.objects.filter(
            action=AuditAction.APPLICATION_ENCODE_REFUSED
        ).count()
        # A leak refusal is evidence and is kept; other refusals leave no event.
        assert refused_now == refused_before + (1 if allowed and app.remarks_leak else 0)
        if ok:
            app.masking = "encoded"
            if app.state == "entered":
                app.state = "encoded"
            app.contributors.add(person.pk)
            # verify counts only a review opened since this encoding (opened_at >=
            # encoded_at): a re-encode of the same version after a retailer change
            # invalidated it (no new version) needs the review page opened again.
            app.reviews = {(version, pk) for version, pk in app.reviews if version != app.version}

    def do_open_review(self, person: Person, app: Model) -> None:
        if self.attempt(
            "open review",
            person.may(PERM_VERIFY) and app.masking == "encoded",
            lambda: app_services.application_record_review_opened(
                acting_user=self.user(person.username), application_id=app.pk
            ),
        ):
            app.reviews.add((app.version, person.pk))

    def do_verify(self, person: Person, app: Model) -> None:
        eligible = person.may(PERM_VERIFY) and app.masking == "encoded"
        own_work = person.pk in app.contributors
        # The same person verifying the same version again (a retried POST whose answer
        # was lost) gets the result, not a refusal; nothing changes.
        again = person.may(PERM_VERIFY) and app.masking == "verified" and app.verifier == person.pk
        ok = self.attempt(
            "verify",
            again or (eligible and not own_work and (app.version, person.pk) in app.reviews),
            lambda: app_services.application_verify(
                acting_user=self.user(person.username),
                application_id=app.pk,
                expected_version=app.version,
            ),
            refusal=FourEyesViolation if eligible and own_work else None,
        )
        if ok:
            app.masking = "verified"
            app.verifier = person.pk
            if app.state == "encoded":
                app.state = "verified"
            application = Application.objects.get(pk=app.pk)
            self.verified_versions.add(
                (app.pk, application.version, str(application.projection_hash))
            )

    def do_return(self, person: Person, app: Model, reason: str) -> None:
        if self.attempt(
            "return",
            person.may(PERM_RETURN) and app.masking == "encoded" and reason == CLEAN_REASON,
            lambda: app_services.application_return(
                acting_user=self.user(person.username), application_id=app.pk, reason=reason
            ),
        ):
            app.masking = "unmasked"
            if app.state == "encoded":
                app.state = "entered"

    def do_release(self, person: Person, app: Model) -> None:
        if self.attempt(
            "release",
            person.may(PERM_RELEASE) and app.state == "verified" and app.masking == "verified",
            lambda: app_services.application_release(
                acting_user=self.user(person.username), application_id=app.pk
            ),
        ):
            app.state = "released"

    def do_change_retailer(self, person: Person, app: Model, retailer: Retailer) -> None:
        if self.attempt(
            "change of retailer",
            person.may(PERM_CHANGE) and app.state != "cancelled" and retailer.pk != app.retailer_id,
            lambda: app_services.application_change_retailer(
                acting_user=self.user(person.username),
                application_id=app.pk,
                expected_version=app.version,
                retailer_id=retailer.pk,
                reason="スイッチング",
            ),
        ):
            app.retailer_id = retailer.pk
            self.invalidate(app, person)

    def do_cancel(self, person: Person, app: Model, reason: str) -> None:
        if self.attempt(
            "cancel",
            person.may(PERM_CANCEL)
            and app.state not in ("cancelled", "energized")
            and reason == CLEAN_REASON,
            lambda: app_services.application_cancel(
                acting_user=self.user(person.username), application_id=app.pk, reason=reason
            ),
        ):
            # Retail has no business with a cancelled application: visibility goes too.
            app.state, app.masking = "cancelled", "unmasked"

    def do_construction(self, person: Person, app: Model) -> None:
        today = timezone.localdate()
        if app.state == "constructed":
            if self.attempt(
                "energize",
                person.may(PERM_CONSTRUCTION),
                lambda: app_services.application_energize(
                    acting_user=self.user(person.username),
                    application_id=app.pk,
                    energized_on=today,
                ),
            ):
                app.state = "energized"
            return
        if self.attempt(
            "complete",
            person.may(PERM_CONSTRUCTION) and app.state == "released",
            lambda: app_services.application_complete(
                acting_user=self.user(person.username), application_id=app.pk, completed_on=today
            ),
        ):
            app.state = "constructed"

    def do_transfer(self, person: Person, to: str, role: str | None) -> None:
        user_transfer(acting_user=self.user(ADMIN), user_id=person.pk, to_division=to)
        # A transfer never carries superuser status, not even into administration.
        person.division, person.roles, person.superuser = to, set(), False
        if role is not None:
            user_grant_role(acting_user=self.user(ADMIN), user_id=person.pk, role=role)
            person.roles.add(role)
        if self.eager:
            replicate()

    # --- rules --------------------------------------------------------------------

    @initialize(eager=st.booleans())
    def relay_mode(self, eager: bool) -> None:
        self.eager = eager
        event(f"relay {'eager' if eager else 'at random points'}")

    @initialize()
    def first_application(self) -> None:
        # Most rules need an application; without one hypothesis wastes examples.
        self.do_create(self.people["clerk_sato"], self.retailers[1])

    @rule(data=st.data())
    def create(self, data: st.DataObject) -> None:
        person = self.actor(data, PERM_ADD)
        self.do_create(person, data.draw(st.sampled_from(self.retailers), label="retailer"))

    def new_value(self, data: st.DataObject, app: Model, kind: str) -> str | None:
        """A valid new value for one field, or None when the draw is no change."""
        if kind in CUSTOMER_KINDS:
            return str(getattr(Customer.numbered(next(self.serial)), CUSTOMER_ATTRS[kind]))
        if kind == "remarks":
            leaky = [
                f"連絡先 {app.customer.phone.translate(_FULLWIDTH)}",
                f"メール {app.customer.email.upper()}",
                "代表 03-1234-5678 まで",
                "問合せ info@example.invalid",
            ]
            value = data.draw(st.sampled_from(SAFE_REMARKS + leaky), label="remarks")
        elif kind == "requested_start_date":
            days = data.draw(st.integers(31, 400), label="days ahead")
            value = (timezone.localdate() + datetime.timedelta(days=days)).isoformat()
        elif kind == "supply_point_id":
            value = f"10{next(self.serial) + 500_000:020d}"
        else:
            value = data.draw(st.sampled_from(VALUE_POOLS[kind]), label="value")
        # The same value again is no change, and the service rightly does nothing.
        return None if app.fields.get(kind) == value else value

    @precondition(lambda self: self.apps)
    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        app = self.draw_app(data)
        person = self.actor(data, PERM_CHANGE)
        kind = data.draw(
            st.sampled_from(CUSTOMER_KINDS + RETAIL_VISIBLE_KINDS + T_AND_D_ONLY_KINDS),
            label="field",
        )
        if (value := self.new_value(data, app, kind)) is not None:
            self.do_edit(person, app, kind, value)

    @precondition(lambda self: self.apps)
    @rule(data=st.data())
    def change_retailer(self, data: st.DataObject) -> None:
        app = self.draw_app(data)
        person = self.actor(data, PERM_CHANGE)
        self.do_change_retailer(
            person, app, data.draw(st.sampled_from(self.retailers), label="retailer")
        )

    @precondition(lambda self: self.apps)
    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        self.do_submit(self.actor(data, PERM_SUBMIT), self.draw_app(data))

    @precondition(lambda self: self.apps)
    @rule(data=st.data())
    def encode(self, data: st.DataObject) -> None:
        self.do_encode(self.actor(data, PERM_ENCODE), self.draw_app(data))

    @precondition(lambda self: self.apps)
    @rule(data=st.data())
    def open_review(self, data: st.DataObject) -> None:
        self.do_open_review(self.actor(data, PERM_VERIFY), self.draw_app(data))

    @precondition(lambda self: self.apps)
    @rule(data=st.data(), open_first=st.booleans())
    def verify(self, data: st.DataObject, open_first: bool) -> None:
        app = self.draw_app(data)
        person = self.actor(data, PERM_VERIFY)
        if open_first:
            self.do_open_review(person, app)
        self.do_verify(person, app)

    @precondition(
        lambda self: any(
            a.masking == "encoded"
            and any(self.people_by_pk[pk].division == TD for pk in a.contributors)
            for a in self.apps.values()
        )
    )
    @rule(data=st.data())
    def verify_own_work(self, data: st.DataObject) -> None:
        """Someone who shaped this version becomes a supervisor too (or is a superuser)
        and tries to verify it: the four-eyes rule must refuse."""
        candidates = sorted(
            (a.pk, pk)
            for a in self.apps.values()
            if a.masking == "encoded"
            for pk in a.contributors
            if self.people_by_pk[pk].division == TD
        )
        app_pk, person_pk = data.draw(st.sampled_from(candidates), label="application, person")
        self.try_own_verification(self.apps[app_pk], self.people_by_pk[person_pk])

    def try_own_verification(self, app: Model, person: Person) -> None:
        if not person.may(PERM_VERIFY):
            user_grant_role(acting_user=self.user(ADMIN), user_id=person.pk, role="supervisor")
            person.roles.add("supervisor")
        self.do_open_review(person, app)
        self.do_verify(person, app)
        assert app.masking == "encoded"
        event("four-eyes: own work refused")

    @precondition(lambda self: self.apps)
    @rule(data=st.data(), clean=st.booleans())
    def return_for_correction(self, data: st.DataObject, clean: bool) -> None:
        app = self.draw_app(data)
        reason = CLEAN_REASON if clean else f"{app.customer.phone} に電話して確認"
        self.do_return(self.actor(data, PERM_RETURN), app, reason)

    @precondition(lambda self: self.apps)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self.do_release(self.actor(data, PERM_RELEASE), self.draw_app(data))

    @precondition(lambda self: self.apps)
    @rule(data=st.data(), clean=st.booleans())
    def cancel(self, data: st.DataObject, clean: bool) -> None:
        app = self.draw_app(data)
        reason = CLEAN_REASON if clean else f"{app.customer.name}様から取消の連絡"
        self.do_cancel(self.actor(data, PERM_CANCEL), app, reason)

    @precondition(lambda self: self.apps)
    @rule(data=st.data())
    def complete_or_energize(self, data: st.DataObject) -> None:
        self.do_construction(self.actor(data, PERM_CONSTRUCTION), self.draw_app(data))

    @precondition(lambda self: self.apps)
    @rule(data=st.data())
    def fast_forward(self, data: st.DataObject) -> None:
        """Walk one application towards a goal with suitable people, so that random
        runs reach the verified and post-release states often."""
        app = self.draw_app(data)
        goal = data.draw(
            st.sampled_from(
                ["verified", "released", "energized", "cancelled", "edited", "switched", "tampered"]
            ),
            label="goal",
        )

        def pick(perm: str, *, exclude: frozenset[int] | set[int] = frozenset()) -> Person | None:
            names = sorted(
                p.username for p in self.people.values() if p.may(perm) and p.pk not in exclude
            )
            return self.people[data.draw(st.sampled_from(names))] if names else None

        for _ in range(10):
            person: Person | None
            if app.state in ("cancelled", "energized"):
                return
            if app.state == "draft":
                if (person := pick(PERM_SUBMIT)) is None:
                    return
                self.do_submit(person, app)
            elif app.masking == "unmasked":
                if app.remarks_leak:
                    if (person := pick(PERM_CHANGE)) is None:
                        return
                    self.do_edit(person, app, "remarks", "現地確認済み。")
                    continue
                if (person := pick(PERM_ENCODE)) is None:
                    return
                self.do_encode(person, app)
            elif app.masking == "encoded":
                own = sorted(pk for pk in app.contributors if self.people_by_pk[pk].division == TD)
                own_first = data.draw(st.booleans(), label="try own verification first?")
                if own and own_first:
                    self.try_own_verification(
                        app, self.people_by_pk[data.draw(st.sampled_from(own), label="own")]
                    )
                if (person := pick(PERM_VERIFY, exclude=app.contributors)) is None:
                    return
                self.do_open_review(person, app)
                self.do_verify(person, app)
            elif goal in ("cancelled", "edited", "switched"):
                # Masking is verified here: whatever happens next must withdraw it.
                release_first = data.draw(st.booleans(), label="release first?")
                if app.state == "verified" and release_first and (person := pick(PERM_RELEASE)):
                    self.do_release(person, app)
                if goal == "cancelled" and (person := pick(PERM_CANCEL)) is not None:
                    self.do_cancel(person, app, CLEAN_REASON)
                elif goal != "cancelled" and (person := pick(PERM_CHANGE)) is not None:
                    if goal == "switched":
                        others = [r for r in self.retailers if r.pk != app.retailer_id]
                        self.do_change_retailer(person, app, data.draw(st.sampled_from(others)))
                    else:
                        kind = data.draw(st.sampled_from(CUSTOMER_KINDS + RETAIL_VISIBLE_KINDS))
                        if (value := self.new_value(data, app, kind)) is not None:
                            self.do_edit(person, app, kind, value)
                return
            elif goal == "tampered":
                self.tamper_with_permission(app)
                return
            elif goal == "verified":
                return
            elif app.state == "verified":
                if (person := pick(PERM_RELEASE)) is None:
                    return
                self.do_release(person, app)
            elif goal == "energized" and app.state in ("released", "constructed"):
                if (person := pick(PERM_CONSTRUCTION)) is None:
                    return
                self.do_construction(person, app)
            else:
                return

    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        """人事異動 to another division, sometimes with a role there."""
        movable = sorted(p.username for p in self.people.values() if p.transferable)
        person = self.people[data.draw(st.sampled_from(movable), label="person")]
        to = data.draw(st.sampled_from([d for d in DIVISIONS if d != person.division]), label="to")
        role = data.draw(st.none() | st.sampled_from(HOME_ROLES[to]), label="role")
        self.do_transfer(person, to, role)

    @precondition(lambda self: any(p.division != p.home for p in self.people.values()))
    @rule(data=st.data())
    def transfer_back(self, data: st.DataObject) -> None:
        away = sorted(p.username for p in self.people.values() if p.division != p.home)
        person = self.people[data.draw(st.sampled_from(away), label="person")]
        self.do_transfer(
            person, person.home, data.draw(st.sampled_from(HOME_ROLES[person.home]), label="role")
        )

    @rule()
    def relay_runs_now(self) -> None:
        """The replication worker comes back (or beat fires) and catches up."""
        counts = replicate()
        event(f"relay applied {'some' if counts['applied'] else 'nothing'}")
        assert counts["failed"] == 0

    @precondition(lambda self: any(p.transferable and p.sees_retail for p in self.people.values()))
    @rule(data=st.data())
    def transfer_a_retail_user_out(self, data: st.DataObject) -> None:
        """A signed-in retail person is transferred to T&D: the next relay removes their
        account and ends their retail sessions (checked once caught up)."""
        movable = sorted(
            p.username for p in self.people.values() if p.transferable and p.sees_retail
        )
        person = self.people[data.draw(st.sampled_from(movable), label="person")]
        RetailSession.objects.create(
            session_key=f"s{next(self.serial)}",
            session_data="",
            expire_date=timezone.now() + datetime.timedelta(hours=1),
            account_id=person.pk,
        )
        self.do_transfer(person, TD, data.draw(st.none() | st.sampled_from(TD_ROLES)))
        event("retail user transferred out")

    @rule(data=st.data())
    def grant_role(self, data: st.DataObject) -> None:
        movable = sorted(p.username for p in self.people.values() if p.transferable)
        person = self.people[data.draw(st.sampled_from(movable), label="person")]
        role = data.draw(st.sampled_from(sorted(ROLE_DIVISION)), label="role")
        if self.attempt(
            "grant of a role",
            ROLE_DIVISION[role] == person.division,
            lambda: user_grant_role(acting_user=self.user(ADMIN), user_id=person.pk, role=role),
        ):
            person.roles.add(str(role))

    # --- fault injection: one lock opened behind the services' back -----------------

    @precondition(lambda self: any(not a.retail_visible for a in self.apps.values()))
    @rule(data=st.data())
    def permission_without_verified_masking(self, data: st.DataObject) -> None:
        replicate()
        pk = data.draw(
            st.sampled_from(sorted(a.pk for a in self.apps.values() if not a.retail_visible))
        )
        app = self.apps[pk]
        assign_perm(VIEW_PERM, retail_group(), Application.objects.get(pk=pk))
        self.assert_hidden_from_retail(app)
        expected = [Disagreement(pk, permission_held=True, masking_verified=False)]
        assert barrier_check(repair=False) == expected
        assert barrier_check(repair=True) == expected
        assert barrier_check(repair=False) == []

    @precondition(lambda self: any(a.retail_visible for a in self.apps.values()))
    @rule(data=st.data())
    def verified_masking_without_permission(self, data: st.DataObject) -> None:
        pk = data.draw(
            st.sampled_from(sorted(a.pk for a in self.apps.values() if a.retail_visible))
        )
        self.tamper_with_permission(self.apps[pk])

    def tamper_with_permission(self, app: Model) -> None:
        replicate()
        pk, application, group = app.pk, Application.objects.get(pk=app.pk), retail_group()
        remove_perm(VIEW_PERM, group, application)
        # Behind the services' back the published row stays until the check runs.
        lock = Disagreement(pk, permission_held=False, masking_verified=True)
        expected = [lock, PublicationMismatch(pk, Mismatch.NOT_VISIBLE)]
        assert barrier_check(repair=False) == expected
        # Granting is a human decision: the repair must not grant, but it withdraws the
        # publication of what lost its grant.
        assert barrier_check(repair=True) == expected
        self.assert_hidden_from_retail(app)
        assert barrier_check(repair=False) == [lock]
        # A model-wide permission must not stand in for the object permission.
        model_wide = Permission.objects.get(
            content_type__app_label="applications", codename=VIEW_PERM
        )
        group.permissions.add(model_wide)
        assert barrier_check(repair=True) == [lock]
        self.assert_hidden_from_retail(app)
        group.permissions.remove(model_wide)
        # The grant back (as verification would have left it): the repair republishes.
        assign_perm(VIEW_PERM, group, application)
        assert barrier_check(repair=True) == [PublicationMismatch(pk, Mismatch.UNPUBLISHED)]

    @precondition(lambda self: any(a.retail_visible for a in self.apps.values()))
    @rule(data=st.data())
    def tamper_with_published_row(self, data: st.DataObject) -> None:
        replicate()
        pk = data.draw(
            st.sampled_from(sorted(a.pk for a in self.apps.values() if a.retail_visible))
        )
        PublishedApplication.objects.filter(application_id=pk).update(remarks="書き換え")
        expected = [PublicationMismatch(pk, Mismatch.DIFFERS)]
        assert barrier_check(repair=False) == expected
        assert barrier_check(repair=True) == expected
        assert barrier_check(repair=False) == []

    @precondition(lambda self: any(not a.retail_visible for a in self.apps.values()))
    @rule(data=st.data())
    def forge_a_publication(self, data: st.DataObject) -> None:
        replicate()
        pk = data.draw(
            st.sampled_from(sorted(a.pk for a in self.apps.values() if not a.retail_visible))
        )
        projection = project(Application.objects.select_related("retailer").get(pk=pk))
        PublishedApplication.objects.create(
            application_id=pk,
            version=self.apps[pk].version,
            projection_hash=projection_hash(projection),
            verified_at=timezone.now(),
            **projection.as_dict(),
        )
        expected = [PublicationMismatch(pk, Mismatch.NOT_VISIBLE)]
        assert barrier_check(repair=False) == expected
        assert barrier_check(repair=True) == expected
        self.assert_hidden_from_retail(self.apps[pk])

    # --- a retailer's name and affiliation ------------------------------------------

    def withdraw_for_retailer(self, retailer_id: int) -> None:
        """What the supervisors checked about the retailer no longer holds."""
        for app in self.apps.values():
            if app.retailer_id == retailer_id and app.masking != "unmasked":
                app.masking = "unmasked"
                if app.state in ("encoded", "verified"):
                    app.state = "entered"

    @rule(data=st.data())
    def rename_retailer(self, data: st.DataObject) -> None:
        retailer = data.draw(st.sampled_from(self.retailers), label="retailer")
        name = f"{retailer.code} 改称{next(self.serial)}電力"
        retailer_rename(acting_user=self.user(ADMIN), retailer_id=retailer.pk, name=name)
        self.retailer_names[retailer.pk] = name
        self.withdraw_for_retailer(retailer.pk)
        event("retailer renamed")
        if self.eager:
            replicate()

    @rule(data=st.data(), approve=st.booleans())
    def change_affiliation(self, data: st.DataObject, approve: bool) -> None:
        retailer = data.draw(st.sampled_from(self.retailers), label="retailer")
        proposal = retailer_propose_affiliation(
            acting_user=self.user(ADMIN),
            retailer_id=retailer.pk,
            make_affiliated=not self.affiliated[retailer.pk],
            reason="組織再編",
        )
        retailer_decide_affiliation(
            acting_user=self.user(ADMIN2), proposal_id=proposal.pk, approve=approve
        )
        if approve:
            self.affiliated[retailer.pk] = not self.affiliated[retailer.pk]
            self.withdraw_for_retailer(retailer.pk)
        if self.eager:
            replicate()

    # --- invariants -----------------------------------------------------------------

    @invariant()
    def model_matches_database(self) -> None:
        rows = {
            row["pk"]: row
            for row in Application.objects.values(
                "pk", "state", "masking_state", "version", "retailer_id"
            )
        }
        assert set(rows) == set(self.apps)
        for app in self.apps.values():
            row = rows[app.pk]
            expected = (app.state, app.masking, app.version, app.retailer_id)
            actual = (row["state"], row["masking_state"], row["version"], row["retailer_id"])
            assert actual == expected, f"{app.reference}: expected {expected}, found {actual}"
        now = timezone.now()
        divisions = dict(
            DivisionMembership.objects.filter(valid_from__lte=now)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
            .values_list("user_id", "division_id")
        )
        roles: dict[int, set[str]] = {}
        for user_id, code in Role.objects.values_list("group__user", "code"):
            roles.setdefault(user_id, set()).add(code)
        superusers = set(User.objects.filter(is_superuser=True).values_list("pk", flat=True))
        for person in self.people.values():
            actual_person = (divisions.get(person.pk), roles.get(person.pk, set()))
            assert actual_person == (person.division, person.roles), person.username
            assert (person.pk in superusers) == person.superuser, person.username

    @invariant()
    def the_queue_column_is_what_the_model_predicts(self) -> None:
        # The stored `waiting_for` (a generated column the T&D queues and their partial
        # indexes read) against the model: every change unmasks, so "encoded" in the
        # model always means "encoded for the current version".
        waiting = dict(Application.objects.values_list("pk", "waiting_for"))
        for app in self.apps.values():
            if app.masking == "encoded":
                expected = Waiting.CHECK
            elif app.masking == "unmasked" and app.state in AWAITING_ENCODING_STATES:
                expected = Waiting.ENCODING
            else:
                expected = Waiting.NOTHING
            assert waiting[app.pk] == expected, (app.reference, app.state, app.masking)

    @invariant()
    def retail_sees_exactly_the_verified_and_permitted(self) -> None:
        # (a) both locks, read from the database, agree with the model
        permitted = set(
            ApplicationGroupObjectPermission.objects.filter(
                group=retail_group(), permission__codename=VIEW_PERM
            ).values_list("content_object_id", flat=True)
        )
        verified = {a.pk for a in Application.objects.all() if a.is_retail_visible}
        modelled = {a.pk for a in self.apps.values() if a.retail_visible}
        assert verified & permitted == modelled
        # Retail reads the retail database: behind the truth while the relay lags, equal
        # to it once caught up (published_table_equals_the_truth).
        published = set(PublishedApplication.objects.values_list("application_id", flat=True))
        for app in self.apps.values():
            event(f"reached state {app.state}/{app.masking}")
        if modelled and any(p.sees_retail for p in self.people.values()):
            event("retail viewer with something to see")
        visible_refs = {self.apps[pk].reference for pk in published}

        # Every customer value the run ever used, and what the vault holds now.
        # values_list, not only(): a deferred FSM field recurses in django-fsm's mixin.
        for ref in Application.objects.values_list("customer_ref", flat=True):
            if ref not in self._pii_cache:
                self._pii_cache[ref] = vault_read(ref)
        for customer in [*self.customers, *self._pii_cache.values()]:
            if id(customer) not in self._needle_cache:
                self._needle_cache[id(customer)] = (customer, _needles(customer))
        needles = set().union(*(n for _c, n in self._needle_cache.values()))
        phones = {_digits(c.phone) for c, _n in self._needle_cache.values()}

        users = User.objects.in_bulk([p.pk for p in self.people.values()])
        for person in self.people.values():
            user = users[person.pk]
            shown = retail_application_list(user=user)
            refs = [r.reference for r in shown]
            expected = visible_refs if person.sees_retail else set()
            assert len(refs) == len(set(refs)), f"{person.username}: duplicates in the list"
            assert set(refs) == expected, (
                f"{person.username} ({person.division}, {sorted(person.roles)}) "
                f"sees {sorted(refs)}, expected {sorted(expected)}"
            )
            if person.username == PROBE:
                assert retail_application_count(user=user) == len(expected)
                page = retail_application_page(user=user, per_page=100)
                assert {r.reference for r in page.object_list} == expected, person.username
                shown.extend(page.object_list)
            # Detail: every reference for the probe; for everyone else some a retail
            # viewer could open (those are the ones that would leak).
            references = (
                [a.reference for a in self.apps.values()]
                if person.username == PROBE
                else sorted(visible_refs)[:2]
            )
            for reference in sorted(references):
                try:
                    detail = retail_application_detail(user=user, reference=reference)
                except NotFound:
                    assert reference not in expected, f"{person.username} cannot open {reference}"
                else:
                    assert reference in expected, f"{person.username} opens {reference}"
                    shown.append(detail)
            # (b) nothing retail receives holds personal data
            for output in shown:
                assert_no_pii(output, needles, phones)

    @invariant()
    def retail_database_never_holds_an_unverified_version(self) -> None:
        # (d), at every step, however far behind the relay is
        for row in PublishedApplication.objects.all():
            assert (row.application_id, row.version, row.projection_hash) in (
                self.verified_versions
            ), f"published {row.application_id} v{row.version}: never verified"
            assert projection_hash(row.projection()) == row.projection_hash

    @invariant()
    def published_table_equals_the_truth(self) -> None:
        # (d), once the relay has caught up
        if ReplicationMessage.objects.filter(applied_at__isnull=True).exists():
            event("relay behind")
            return
        event("relay caught up")
        retail_people = {p.pk for p in self.people.values() if p.sees_retail}
        assert set(RetailAccount.objects.values_list("pk", flat=True)) == retail_people
        assert set(RetailSession.objects.values_list("account_id", flat=True)) <= retail_people, (
            "a retail session of someone who left retail"
        )
        rows = {row.application_id: row for row in PublishedApplication.objects.all()}
        modelled = {a.pk for a in self.apps.values() if a.retail_visible}
        assert set(rows) == modelled, f"published {sorted(rows)}, expected {sorted(modelled)}"
        truth = Application.objects.select_related("retailer").in_bulk(list(rows))
        for pk, row in rows.items():
            app, application = self.apps[pk], truth[pk]
            assert application.is_retail_visible, f"{app.reference}: an unverified version"
            assert row.version == application.version == app.version
            shown = row.projection()
            assert row.projection_hash == application.projection_hash == projection_hash(shown)
            assert shown == project(application), f"{app.reference}: not the truth"
            assert shown.state == app.state
            assert shown.retailer_name == self.retailer_names[app.retailer_id]
            for kind in RETAIL_VISIBLE_KINDS:
                assert str(getattr(shown, kind)) == app.fields[kind], (app.reference, kind)

    @invariant()
    def consistency_check_finds_nothing(self) -> None:
        assert barrier_check(repair=False) == []


class TestBarrierStateful(BarrierMachine.TestCase, DjangoTestCase):  # type: ignore[misc,valid-type]
    databases = {"default", "vault", "retail"}
    # hypothesis reads `settings` from the machine's TestCase (shadowing Django's helper).
    settings = settings(  # type: ignore[assignment]
        max_examples=25,
        stateful_step_count=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
