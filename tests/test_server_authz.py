"""Starting an episode runs code in a kernel: it needs the right to execute in kernels
(jupyter_server's ``kernels`` resource), not only ``write`` on ``codeact``."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

from .test_server_episodes import (  # noqa: F401 (fixtures)
    codeact_db,
    get,
    kernel_id,
    notebook,
    post,
    start,
)


class ReadWriteButNoKernelExecution(Authorizer):
    """A deployment's policy: this user may use codeact, but not execute in kernels."""

    def is_authorized(self, handler, user, action, resource) -> bool:
        return not (resource == "kernels" and action == "execute")


@pytest.fixture
def jp_server_config(scripted, codeact_db):
    return {
        "ServerApp": {
            "jpserver_extensions": {"codeact_lab": True},
            "authorizer_class": ReadWriteButNoKernelExecution,
        },
        "CodeActExtension": {"db_path": codeact_db},
        "CodeAct": {"base_url": scripted.base_url, "model": "scripted"},
    }


async def test_starting_continuing_or_approving_needs_kernel_execute(
    jp_fetch, scripted, notebook, kernel_id
):
    assert (await get(jp_fetch, "config"))["model"] == "scripted"  # codeact itself is allowed
    with pytest.raises(HTTPClientError) as err:
        await start(jp_fetch, notebook, kernel_id)
    assert err.value.code == 403
    for route in ("messages", "approve"):
        with pytest.raises(HTTPClientError) as err:
            await post(jp_fetch, "episodes", "a" * 32, route, body={"text": "t"})
        assert err.value.code == 403, route
    assert scripted.requests == []  # no model was asked, no code ran
    assert (await get(jp_fetch, "episodes"))["episodes"] == []
