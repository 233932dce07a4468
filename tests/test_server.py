"""The server extension, loaded by a real jupyter_server (pytest-jupyter)."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from codeact_lab import __version__


async def test_health_answers_with_the_version(jp_fetch):
    response = await jp_fetch("codeact", "health")
    assert response.code == 200
    assert json.loads(response.body) == {"status": "ok", "version": __version__}


async def test_health_refuses_a_request_without_a_token(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("codeact", "health", headers={"Authorization": ""})
    assert err.value.code in (401, 403)


async def test_health_refuses_a_wrong_token(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("codeact", "health", headers={"Authorization": "token not-the-token"})
    assert err.value.code in (401, 403)
