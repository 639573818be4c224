from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from api.services import api_token_create


@pytest.fixture
def token(reseller: Any) -> str:
    return api_token_create(user=reseller, name="shop")[1]


@pytest.fixture
def other_token(other_reseller: Any) -> str:
    return api_token_create(user=other_reseller, name="other shop")[1]


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
