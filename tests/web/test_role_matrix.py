"""Every URL of the project, requested with GET as every role, against an explicit table.

The table is written by hand from the issue and DESIGN.md (who may open which page), not
computed from the decorators it checks. Conventions:

* a page of the role: 200; a POST-only endpoint requested with GET by its role: 405;
* another T&D, audit or administration role: 403;
* a retail user on anything not theirs: 404 (they must not learn what exists); retail
  people read on the retail site (tests/retail), and the T&D sign-in refuses them, but a
  session they might still hold here opens nothing;
* anonymous: 302 to the sign-in page with ?next=.

Path parameters are filled with a real application in the state the page needs, so a
200 means the page works, not merely that the role passed the gate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.accounts.models import User
from apps.applications.models import Application
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

# The URL modules of the product's pages (admin/ and i18n are Django's own).
PAGE_URLCONFS = {
    "apps.web.urls",
    "apps.web.applications.urls",
    "apps.web.applications.urls_review",
    "apps.web.applications.urls_construction",
    "apps.web.auditors.trail.urls",
    "apps.web.auditors.reviews.urls",
    "apps.web.auditors.exposure.urls",
    "apps.web.inbox.urls",
    "apps.web.administration.urls",
}
TD_URLCONFS = {
    "apps.web.applications.urls",
    "apps.web.applications.urls_review",
    "apps.web.applications.urls_construction",
}

ROLES = ("anonymous", "clerk", "supervisor", "construction", "retail", "auditor", "administrator")
PERSONA_FIXTURE = {"retail": "retail_user"}

LOGIN = "→login"  # 302 to the sign-in page, ?next= the requested URL
HOME = "→home"  # 302 to the home page (already signed in)

# fmt: off
#                           anonymous clerk supervisor construction retail auditor admin
EXPECTED: dict[str, tuple[int | str, ...]] = {
    # everyone signed in
    "home":                  (LOGIN, 200,  200,  200,  200,  200,  200),
    "login":                 (200,   HOME, HOME, HOME, HOME, HOME, HOME),
    "logout":                (LOGIN, 405,  405,  405,  405,  405,  405),
    "password_change":       (LOGIN, 200,  200,  200,  200,  200,  200),
    "password_change_done":  (LOGIN, 200,  200,  200,  200,  200,  200),
    # clerk (受付担当); the supervisor opens the list and the application page too
    "clerk-list":            (LOGIN, 200,  200,  403,  404,  403,  403),
    "clerk-search":          (LOGIN, 405,  405,  403,  404,  403,  403),
    "clerk-returned":        (LOGIN, 200,  403,  403,  404,  403,  403),
    "clerk-create":          (LOGIN, 200,  403,  403,  404,  403,  403),
    "application-detail":    (LOGIN, 200,  200,  403,  404,  403,  403),
    "clerk-edit":            (LOGIN, 200,  403,  403,  404,  403,  403),
    "clerk-submit":          (LOGIN, 405,  403,  403,  404,  403,  403),
    "clerk-discard":         (LOGIN, 200,  403,  403,  404,  403,  403),  # asks to confirm
    "clerk-encode":          (LOGIN, 200,  403,  403,  404,  403,  403),
    "clerk-change-retailer": (LOGIN, 200,  403,  403,  404,  403,  403),
    # supervisor (上長)
    "review-queue":          (LOGIN, 403,  200,  403,  404,  403,  403),
    "review-page":           (LOGIN, 403,  200,  403,  404,  403,  403),
    "review-verify":         (LOGIN, 403,  405,  403,  404,  403,  403),
    "review-return":         (LOGIN, 403,  405,  403,  404,  403,  403),
    "review-release":        (LOGIN, 403,  405,  403,  404,  403,  403),
    "review-cancel":         (LOGIN, 403,  200,  403,  404,  403,  403),  # asks the reason
    # construction (工事担当)
    "construction-list":     (LOGIN, 403,  403,  200,  404,  403,  403),
    "construction-detail":   (LOGIN, 403,  403,  200,  404,  403,  403),
    "construction-reveal":   (LOGIN, 403,  403,  405,  404,  403,  403),
    "construction-complete": (LOGIN, 403,  403,  405,  404,  403,  403),
    "construction-energize": (LOGIN, 403,  403,  405,  404,  403,  403),
    # auditor (監査)
    "audit-search":          (LOGIN, 403,  403,  403,  404,  200,  403),
    "audit-export":          (LOGIN, 403,  403,  403,  404,  200,  403),
    "audit-application":     (LOGIN, 403,  403,  403,  404,  200,  403),
    "audit-user":            (LOGIN, 403,  403,  403,  404,  200,  403),
    "audit-chain":           (LOGIN, 403,  403,  403,  404,  200,  403),
    "access-review-queue":   (LOGIN, 403,  403,  403,  404,  200,  403),
    "access-review-reviewed": (LOGIN, 403, 403,  403,  404,  200,  403),
    "access-review-shares":  (LOGIN, 403,  403,  403,  404,  200,  403),
    "access-review-item":    (LOGIN, 403,  403,  403,  404,  200,  403),
    # investigation (exposure) report: auditors only, like the rest of the trail
    "exposure-home":         (LOGIN, 403,  403,  403,  404,  200,  403),
    "exposure-run":          (LOGIN, 403,  403,  403,  404,  200,  403),
    "exposure-status":       (LOGIN, 403,  403,  403,  404,  200,  403),
    "exposure-csv":          (LOGIN, 403,  403,  403,  404,  200,  403),
    "exposure-json":         (LOGIN, 403,  403,  403,  404,  200,  403),
    # everyone's own inbox; marking read is POST only
    "inbox":                 (LOGIN, 200,  200,  200,  200,  200,  200),
    "inbox-read":            (LOGIN, 405,  405,  405,  405,  405,  405),
    "inbox-read-all":        (LOGIN, 405,  405,  405,  405,  405,  405),
    # administrators (管理者): password resets need two of them
    "admin-password-resets":        (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-password-reset-propose": (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-password-reset":         (LOGIN, 403, 403, 403, 404, 403, 200),
    # administrators: users, transfers (人事異動), retailers and the affiliation change
    "admin-users":                  (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-user-create":            (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-user":                   (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-user-deactivate":        (LOGIN, 403, 403, 403, 404, 403, 405),
    "admin-user-transfer":          (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-retailers":              (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-retailer":               (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-affiliations":           (LOGIN, 403, 403, 403, 404, 403, 200),
    "admin-affiliation":            (LOGIN, 403, 403, 403, 404, 403, 200),
}
# fmt: on

# The state the application behind each parameterised URL must be in for its page to work.
STATE_FOR = {
    "application-detail": "entered",
    "clerk-edit": "entered",
    "clerk-submit": "draft",
    "clerk-discard": "draft",
    "clerk-encode": "entered",
    "clerk-change-retailer": "verified",
    "review-page": "encoded",
    "review-verify": "encoded",
    "review-return": "encoded",
    "review-release": "verified",
    "review-cancel": "entered",
    "construction-detail": "released",
    "construction-reveal": "released",
    "construction-complete": "released",
    "construction-energize": "constructed",
    "audit-application": "verified",
    "audit-user": "draft",  # any: the page takes a user, not an application
    "access-review-item": "draft",  # any: the page takes a sampled access (review item)
    # any: these pages take a finished report run, not an application
    "exposure-run": "draft",
    "exposure-status": "draft",
    "exposure-csv": "draft",
    "exposure-json": "draft",
    "inbox-read": "draft",  # any: the pk is an inbox entry's, and GET is refused first
    "admin-password-reset": "draft",  # any: the page takes a password reset request
    # any: these pages take a user, a retailer or an affiliation proposal
    "admin-user": "draft",
    "admin-user-deactivate": "draft",
    "admin-user-transfer": "draft",
    "admin-retailer": "draft",
    "admin-affiliation": "draft",
}


def _walk(
    patterns: list[URLPattern | URLResolver], urlconf: str | None = None
) -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            module = entry.urlconf_name
            name = module if isinstance(module, str) else getattr(module, "__name__", "")
            yield from _walk(entry.url_patterns, name)
        elif urlconf is not None:
            yield urlconf, entry


def project_urls(urlconfs: set[str] = PAGE_URLCONFS) -> dict[str, URLPattern]:
    """Every named URL of the product's page modules, discovered from the resolver."""
    return {
        p.name: p for conf, p in _walk(get_resolver().url_patterns) if conf in urlconfs and p.name
    }


def url_for(name: str, application: Application | None) -> str:
    converters = project_urls()[name].pattern.converters
    kwargs: dict[str, Any] = {}
    if "pk" in converters:
        assert application is not None
        kwargs["pk"] = application.pk
    if "user_id" in converters:
        kwargs["user_id"] = User.objects.order_by("pk").values_list("pk", flat=True).first()
    if "run_id" in converters:
        kwargs["run_id"] = _finished_run().pk
    if "reference" in converters:
        assert application is not None
        kwargs["reference"] = application.reference
    if "item_id" in converters:
        kwargs["item_id"] = _sampled_item()
    if "request_id" in converters:
        kwargs["request_id"] = _pending_password_reset()
    if "retailer_id" in converters:
        assert application is not None
        kwargs["retailer_id"] = application.retailer_id
    if "proposal_id" in converters:
        assert application is not None
        kwargs["proposal_id"] = _pending_affiliation_proposal(application.retailer_id)
    return reverse(name, kwargs=kwargs)


def _pending_affiliation_proposal(retailer_id: int) -> int:
    """A proposal to classify the application's retailer as affiliated, by an
    administrator of its own (the persona administrator may decide it)."""
    from apps.retailers.services import retailer_propose_affiliation

    proposer = _matrix_administrator()
    return retailer_propose_affiliation(
        acting_user=proposer, retailer_id=retailer_id, make_affiliated=True, reason="matrix"
    ).pk


def _matrix_administrator() -> User:
    """An administrator of the table's own, made once however many URLs need one."""
    from tests.conftest import _person

    found = User.objects.filter(username="admin_matrix").first()
    return found or _person("admin_matrix", "admin", "administrator")


def _pending_password_reset() -> int:
    """A reset of the first user's password, proposed by an administrator of its own."""
    from apps.administration.password_reset import user_propose_password_reset

    proposer = _matrix_administrator()
    target = User.objects.order_by("pk").first()
    assert target is not None
    return user_propose_password_reset(acting_user=proposer, user_id=target.pk, reason="matrix").pk


def _sampled_item() -> int:
    """A review item: a personal-data read two days ago by the first user, drawn."""
    import datetime as dt

    from django.utils import timezone

    from apps.access_review.models import ReviewItem
    from apps.access_review.services import access_sample
    from apps.audit.models import AuditAction, AuditEvent

    day = timezone.localdate() - dt.timedelta(days=2)
    event = AuditEvent.objects.create(
        occurred_at=timezone.now() - dt.timedelta(days=2),
        actor=User.objects.order_by("pk").first(),
        action=AuditAction.PII_READ,
    )
    access_sample(day=day, size=10)
    return ReviewItem.objects.get(event=event).pk


def _finished_run() -> Any:
    from django.utils import timezone

    from apps.exposure.models import ExposureRun
    from apps.exposure.services import exposure_execute

    today = timezone.localdate()
    run = ExposureRun.objects.create(
        requested_by=User.objects.order_by("pk")[0],
        period_from=today,
        period_to=today,
        source="trail",
    )
    return exposure_execute(run_id=run.pk)


@pytest.fixture
def application_in(
    new_application, clerk, supervisor, construction
) -> Callable[[str], Application]:
    def make(state: str) -> Application:
        return advance(
            new_application(), state, clerk=clerk, supervisor=supervisor, construction=construction
        )

    return make


@pytest.fixture
def signed_in(request, clerk, supervisor, construction, retail_user, auditor, administrator):
    def client_for(role: str) -> Client:
        client = Client()
        if role != "anonymous":
            client.force_login(request.getfixturevalue(PERSONA_FIXTURE.get(role, role)))
        return client

    return client_for


def check(response, expected: int | str, url: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 302, response.status_code
        assert response["Location"] == f"{reverse('login')}?next={url}"
    elif expected == HOME:
        assert response.status_code == 302, response.status_code
        assert response["Location"] == reverse("home")
    else:
        assert response.status_code == expected


def test_the_table_lists_every_url_of_the_project():
    assert set(project_urls()) == set(EXPECTED)
    assert set(STATE_FOR) == {name for name, p in project_urls().items() if p.pattern.converters}


@pytest.mark.parametrize(
    ("name", "role", "expected"),
    [
        pytest.param(name, role, statuses[i], id=f"{name}-{role}")
        for name, statuses in EXPECTED.items()
        for i, role in enumerate(ROLES)
    ],
)
def test_every_role_gets_exactly_the_expected_status(
    name, role, expected, signed_in, application_in
):
    state = STATE_FOR.get(name)
    url = url_for(name, application_in(state) if state else None)

    response = signed_in(role).get(url)

    check(response, expected, url)


def test_a_retail_user_gets_404_not_403_on_every_td_url(
    signed_in, application_in, clerk, supervisor, construction
):
    client = signed_in("retail")
    verified = application_in("verified")  # visible to retail: even that opens nothing on T&D
    refused = []
    for name in project_urls(TD_URLCONFS):
        url = url_for(name, verified)
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            if status != 404:
                refused.append(f"{method.upper()} {name}: {status}")

    assert refused == []
    assert len(project_urls(TD_URLCONFS)) == 21


def test_a_retail_user_gets_the_same_404_for_a_td_page_as_for_nothing_at_all(signed_in):
    client = signed_in("retail")

    real = client.get(reverse("review-queue"))
    nothing = client.get("/review-nothing-here/")

    assert real.status_code == nothing.status_code == 404
    assert real.content.decode().split("<main>")[1] == nothing.content.decode().split("<main>")[1]
