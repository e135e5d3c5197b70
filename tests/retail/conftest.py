from __future__ import annotations

import pytest

from apps.publication.models import RetailAccount
from tests.conftest import advance
from tests.retail.site import RetailSiteClient, account_of


@pytest.fixture
def retail_account(retail_user) -> RetailAccount:
    return account_of(retail_user)


@pytest.fixture
def retail_client(retail_account) -> RetailSiteClient:
    client = RetailSiteClient()
    client.force_login(retail_account)
    return client


@pytest.fixture
def verified(new_application, clerk, supervisor):
    def make(**overrides):
        return advance(new_application(**overrides), "verified", clerk=clerk, supervisor=supervisor)

    return make
