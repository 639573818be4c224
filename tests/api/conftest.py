from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from api.services import api_token_create
from tests.factories import org_of


@pytest.fixture
def token(reseller: Any) -> str:
    return api_token_create(organisation=org_of(reseller), user=reseller, name="shop")[1]


@pytest.fixture
def other_token(other_reseller: Any) -> str:
    return api_token_create(organisation=org_of(other_reseller), user=other_reseller, name="other shop")[1]


@pytest.fixture
def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def other_api(other_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_token}")
    return client
