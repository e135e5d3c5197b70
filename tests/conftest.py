"""Personas (Alice-and-Bob style) and workflow helpers shared by every test package."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections

from apps.accounts.models import User
from apps.administration.services import user_create
from apps.applications import services as app_services
from apps.applications.models import Application
from apps.audit import db as audit_db
from apps.publication import db as publication_db
from apps.publication.routers import retail_alias
from apps.retailers.models import Retailer
from tests.factories import application_input, make_retailer

PASSWORD = "correct horse battery staple 42"

# Tests that share something outside their own test databases — the Redis broker and a
# real Celery worker, PostgreSQL roles and scratch databases, subprocesses on fixed ports,
# the deploy scripts — run one after another on one xdist worker (`make test` runs with
# `--dist loadgroup`); everything else is spread over the workers, each with its own
# test databases.
SHARES_THE_OUTSIDE = (
    "tests/tasks/",
    "tests/config/",
    "tests/exposure/test_worker.py",
    "tests/administration/test_database_grants.py",
    "tests/retail/test_separate_process.py",
    "tests/audit/test_public_key_verifier.py",
    "tests/core/test_generate_production_keys.py",
)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = os.path.relpath(str(item.path), _ROOT).replace(os.sep, "/")
        if path.startswith(SHARES_THE_OUTSIDE):
            item.add_marker(pytest.mark.xdist_group("shares-the-outside"))


def _ensure_roles() -> None:
    """Transactional tests flush the tables after each test, data migrations included."""
    from django.apps import apps as django_apps

    from apps.accounts.models import Role
    from apps.accounts.roles import sync_roles

    if not Role.objects.exists():
        sync_roles(django_apps)


def _database_use(request: pytest.FixtureRequest) -> tuple[bool, bool]:
    """(uses the default database, transactionally): pytest-django's own reading."""
    from pytest_django.fixtures import validate_django_db

    names = set(request.fixturenames)
    transactional = bool({"transactional_db", "live_server"} & names)
    uses_default = transactional or "db" in names
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        transaction, reset_sequences, databases, *_ = validate_django_db(marker)
        transactional = transactional or transaction or reset_sequences
        uses_default = databases is None or databases == "__all__" or "default" in databases
    return uses_default, transactional


@pytest.fixture(autouse=True)
def _audit_triggers_around_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """The audit tables refuse UPDATE, DELETE and TRUNCATE (apps.audit.db), and so would
    the flush that ends a transactional test. So a transactional test drops the triggers
    at teardown: this fixture depends on `transactional_db`, so pytest tears it down
    before that fixture flushes. Every test that uses the database first puts them back
    if they are missing (one catalog query; pytest-django runs the transactional tests
    last, so in a normal run only those ever find them missing, but with --reuse-db the
    next run starts from the state the last one left)."""
    uses_default, transactional = _database_use(request)
    if not uses_default:
        yield
        return
    request.getfixturevalue("transactional_db" if transactional else "db")
    if audit_db.missing_triggers(connection):
        audit_db.install_triggers(connection)
    yield
    if transactional:
        audit_db.drop_triggers(connection)


def _uses_retail(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return False
    from pytest_django.fixtures import validate_django_db

    databases = validate_django_db(marker)[2]
    return databases == "__all__" or (databases is not None and retail_alias() in databases)


@pytest.fixture(autouse=True)
def _retail_view_log_triggers_around_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """The same for the retail view log (apps.publication.db), in the retail database:
    a transactional test that uses it drops its triggers before the flush (TRUNCATE on
    PostgreSQL is refused even for an empty table), and every test that uses it puts
    them back first."""
    if not _uses_retail(request):
        yield
        return
    transactional = _database_use(request)[1]
    request.getfixturevalue("transactional_db" if transactional else "db")
    retail = connections[retail_alias()]
    if publication_db.missing_triggers(retail):
        publication_db.install_triggers(retail)
    yield
    if transactional:
        publication_db.drop_triggers(retail)


def replicate() -> dict[str, int]:
    """Run the replication relay to completion now. Tests in `db` mode never fire
    on_commit, so the relay that follows each commit in the embedded default never runs
    there; this is it, synchronous. Messages waiting for a back-off stay waiting."""
    from apps.replication.services import relay_until_done

    return relay_until_done()


def _retail_database_allowed() -> bool:
    """Does this test use the retail database? Django replaces the connection methods of
    every database a test case does not declare."""
    from django.db import connections
    from django.test.testcases import _DatabaseFailure

    from apps.publication.routers import retail_alias

    return not isinstance(connections[retail_alias()].cursor, _DatabaseFailure)


def _person(username: str, division: str, *roles: str, **extra: Any) -> User:
    _ensure_roles()
    return user_create(
        acting_user=None,
        username=username,
        password=PASSWORD,
        division=division,
        roles=list(roles),
        **extra,
    )


def _superuser_outside_admin(username: str, division: str, *roles: str) -> User:
    """A superuser in another division than administration: the services refuse to make
    one, `createsuperuser` or a database edit can; the checks must hold even then."""
    user = _person(username, division, *roles)
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    user.refresh_from_db()
    return user


@pytest.fixture
def clerk(db: None) -> User:
    return _person("clerk_sato", "td", "clerk")


@pytest.fixture
def clerk2(db: None) -> User:
    return _person("clerk_suzuki", "td", "clerk")


@pytest.fixture
def supervisor(db: None) -> User:
    return _person("super_takahashi", "td", "supervisor")


@pytest.fixture
def supervisor2(db: None) -> User:
    return _person("super_tanaka", "td", "supervisor")


@pytest.fixture
def construction(db: None) -> User:
    return _person("koji_ito", "td", "construction")


@pytest.fixture
def retail_user(db: None) -> User:
    return _person("kouri_watanabe", "retail", "retail")


@pytest.fixture
def auditor(db: None) -> User:
    return _person("kansa_yamamoto", "audit", "auditor")


@pytest.fixture
def administrator(db: None) -> User:
    return _person("admin_nakamura", "admin", "administrator")


@pytest.fixture
def administrator2(db: None) -> User:
    return _person("admin_kobayashi", "admin", "administrator")


@pytest.fixture
def retailer(db: None) -> Retailer:
    return make_retailer(code="A0002", name="みなみ新電力")


@pytest.fixture
def new_application(clerk: User, retailer: Retailer) -> Callable[..., Application]:
    def make(**overrides: Any) -> Application:
        return app_services.application_create(
            acting_user=clerk, data=application_input(retailer, **overrides)
        )

    return make


def advance(
    application: Application,
    to: str,
    *,
    clerk: User,
    supervisor: User,
    construction: User | None = None,
    relay: bool = True,
) -> Application:
    """Walk an application along the happy path up to state `to` through the services.
    After each step the replication relay runs, as it does after each commit in the
    embedded default (`relay=False`: it stays stopped), if the test uses the retail
    database at all."""
    relay = relay and _retail_database_allowed()
    order = ["draft", "entered", "encoded", "verified", "released", "constructed", "energized"]
    app = application
    for step in order[order.index(app.state) + 1 : order.index(to) + 1]:
        pk = app.pk
        if step == "entered":
            app = app_services.application_submit(acting_user=clerk, application_id=pk)
        elif step == "encoded":
            app = app_services.application_encode(acting_user=clerk, application_id=pk)
        elif step == "verified":
            app_services.application_record_review_opened(acting_user=supervisor, application_id=pk)
            app = app_services.application_verify(
                acting_user=supervisor, application_id=pk, expected_version=app.version
            )
        elif step == "released":
            app = app_services.application_release(acting_user=supervisor, application_id=pk)
        elif step == "constructed":
            assert construction is not None
            app = app_services.application_complete(
                acting_user=construction, application_id=pk, completed_on=_today()
            )
        elif step == "energized":
            assert construction is not None
            app = app_services.application_energize(
                acting_user=construction, application_id=pk, energized_on=_today()
            )
        if relay:
            replicate()
    return app


def _today() -> Any:
    from django.utils import timezone

    return timezone.localdate()


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def require_postgres() -> None:
    """Skip with the reason on SQLite; fail instead when services are required (CI)."""
    if on_postgres():
        return
    reason = (
        "needs PostgreSQL: run with DATABASE_URL, VAULT_DATABASE_URL and RETAIL_DATABASE_URL"
        " set (see README)"
    )
    if os.environ.get("SHADAN_REQUIRE_SERVICES") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_tool(command: str, *, package: str) -> None:
    """Skip with the reason when a system command is missing; fail instead under CI."""
    if shutil.which(command):
        return
    reason = f"needs {command} (apt-get install {package}; .ci/run installs it under CI=true)"
    if os.environ.get("SHADAN_REQUIRE_SERVICES") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
