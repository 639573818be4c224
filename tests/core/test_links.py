"""core.links: the signed token of a mailed link, made and read in one place (issue #12)."""

from __future__ import annotations

from datetime import timedelta

from django.core import signing

from core.links import link_token, link_values


def test_a_token_gives_back_its_values_under_its_own_salt_only():
    token = link_token([7, "a@example.com"], salt="one")
    assert link_values(token, salt="one", size=2) == [7, "a@example.com"]
    assert link_values(token, salt="another", size=2) is None
    assert link_values(token[:-2] + "xx", salt="one", size=2) is None  # forged
    assert link_values("not a token", salt="one", size=2) is None


def test_a_token_of_another_shape_is_refused():
    assert link_values(link_token([7, "a@example.com"], salt="one"), salt="one", size=3) is None
    assert link_values(signing.dumps({"pk": 7}, salt="one"), salt="one", size=1) is None


def test_a_token_older_than_its_age_is_refused(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr("django.core.signing.time.time", lambda: now[0])
    token = link_token([7], salt="one")
    now[0] += 86_400 - 60
    assert link_values(token, salt="one", size=1, max_age=timedelta(days=1)) == [7]
    now[0] += 120
    assert link_values(token, salt="one", size=1, max_age=timedelta(days=1)) is None
    assert link_values(token, salt="one", size=1) == [7]  # no age: the follow link's kind
