"""nginx in front of three instances: round robin, nothing sticky, the dialogues still work.

nginx runs as a subprocess with everything it writes (pid, temp paths, logs) in the test's
temporary directory and listens on a free loopback port. The upstream is plain round robin
over the three instances, plus one address where nothing listens: nginx may pass a request
on to the next server only when it could not connect (``proxy_next_upstream error timeout``
without ``non_idempotent``), so a hop is never sent twice by the proxy, and the dead server
shows that such a retry is harmless. The instances' own logs prove the spread: every hop of
these sessions is logged exactly once, by more than one instance.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from multi_cluster import (
    ASK_PASSWORD,
    ASK_PUK,
    CLOSED_NOW,
    CONFIRM_CLOSE,
    MENU_CLOSED,
    MENU_OPEN,
    NGINX,
    OPENED,
    PASSWORD_SET,
    REPEAT_PASSWORD,
    Cluster,
    audit_actions,
    metric_total,
    wrong_puk,
)
from support import DIALECTS, PASSWORDS, SECRETS, WRONG_PUKS

from simulators.handset import Handset
from simulators.process import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.asyncio(loop_scope="module")]

START_SECONDS = 10.0
STOP_SECONDS = 10.0
HOPS_PER_DIALECT = 10

CONFIG = """\
# Written by tests/e2e/multi/test_nginx.py; the production form is in
# docs/running-several-instances.md.
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;

events {{
    worker_connections 256;
}}

http {{
    log_format upstreams '$request_method $uri $status upstream=$upstream_addr '
                         'upstream_status=$upstream_status';
    access_log {root}/access.log upstreams;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;

    upstream ussd_gateway {{
        # Round robin (the default): no ip_hash, no hash, no sticky cookie.
{servers}
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 16k;

        location / {{
            proxy_pass http://ussd_gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout 1s;
            proxy_send_timeout 5s;
            proxy_read_timeout 5s;
            # Only a request that never reached a server goes to the next one: nginx does not
            # pass on a POST once sent (that would need non_idempotent, which is left out).
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    """The nginx executable; skips the module without one (fails under ``CI=true``)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        reason = "nginx is not installed (apt-get install nginx): the proxy test needs it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


class Nginx:
    """A running nginx: its URL and the files it writes."""

    def __init__(self, root: Path, port: int, process: subprocess.Popen[bytes], dead: int) -> None:
        self.root = root
        self.dead = f"127.0.0.1:{dead}"
        """The upstream address where nothing listens."""
        self.url = f"http://127.0.0.1:{port}"
        self.process = process

    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def access_log(self) -> list[str]:
        path = self.root / "access.log"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def nginx(
    gateways: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Nginx]:
    """nginx on a free loopback port, round robin over the module's three instances."""
    binary = nginx_binary()
    root = tmp_path_factory.mktemp("nginx")
    dead = free_port()  # nothing listens here
    servers = "\n".join(
        [f"        server 127.0.0.1:{i.port};" for i in gateways.instances]
        # Never marked down (max_fails=0): every 4th request meets it and is passed on.
        + [f"        server 127.0.0.1:{dead} max_fails=0;"]
    )
    port = free_port()
    (root / "nginx.conf").write_text(CONFIG.format(root=root, servers=servers, port=port))
    error_log = root / "error.log"
    with (root / "stderr.log").open("wb") as stderr:
        # Starting a server is not on any measured path; a blocking Popen is fine here.
        process = subprocess.Popen(  # noqa: ASYNC220 - our own binary and config
            [
                binary,
                "-p",
                str(root),
                "-c",
                str(root / "nginx.conf"),
                "-e",
                str(error_log),
                "-g",
                "daemon off;",
            ],
            stdout=stderr,
            stderr=stderr,
        )
    proxy = Nginx(root, port, process, dead)
    try:
        await _wait_ready(proxy)
        yield proxy
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: finish requests in hand
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_SECONDS)


async def _wait_ready(proxy: Nginx) -> None:
    deadline = asyncio.get_running_loop().time() + START_SECONDS
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            if proxy.process.poll() is not None:
                stderr = (proxy.root / "stderr.log").read_text(errors="replace")
                raise RuntimeError(
                    f"nginx exited with {proxy.process.returncode}:\n{stderr}\n{proxy.error_log()}"
                )
            try:
                async with http.get(
                    proxy.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nginx did not answer within {START_SECONDS:.0f} s:\n{proxy.error_log()}")


async def test_dialogues_through_nginx_round_robin(
    gateways: Cluster, nginx: Nginx, http: aiohttp.ClientSession
) -> None:
    """Close, reopen with PUK1 (one wrong first) and set the password in every dialect, all
    through nginx: the results are right, and the hops were answered by several instances,
    each hop by exactly one."""
    store = gateways.store
    before = [await metric_total(http, url) for url in gateways.urls]
    session_ids: list[str] = []

    def new_id() -> str:
        session_ids.append(f"nginx-{uuid.uuid4().hex}")
        return session_ids[-1]

    for n, dialect in enumerate(DIALECTS):
        sub = NGINX[n]
        phone = Handset(
            http,
            url=nginx.url,
            msisdn=sub.msisdn,
            dialect=dialect,
            secret=SECRETS[dialect],
            new_session_id=new_id,
        )
        assert (await phone.dial("*141*3*6#")).text == MENU_OPEN
        assert (await phone.send("1")).text == CONFIRM_CLOSE
        assert (await phone.send("1")).text == CLOSED_NOW
        assert (await phone.dial("*141*3*6#")).text == MENU_CLOSED
        assert (await phone.send("2")).text == ASK_PUK
        assert (await phone.send(WRONG_PUKS[4])).text == wrong_puk(4)
        assert (await phone.send(sub.puk)).text == OPENED
        assert (await phone.dial("*141*0#")).text == ASK_PASSWORD
        assert (await phone.send(PASSWORDS[1])).text == REPEAT_PASSWORD
        assert (await phone.send(PASSWORDS[1])).text == PASSWORD_SET

        final = await store.get_subscriber(sub.msisdn)
        assert final.closed_by is None and final.puk_failures == 0
        assert PasswordHasher().verify(final.password_hash, PASSWORDS[1])
        assert audit_actions(await store.audit_log(msisdn=sub.msisdn)) == [
            "access_closed",
            "puk_failed",
            "access_opened",
            "password_set",
        ]

    hops = len(DIALECTS) * HOPS_PER_DIALECT
    ours = set(session_ids)
    per_instance = Counter(
        {
            i.name: sum(1 for line in i.events("ussd_hop") if line.get("session_id") in ours)
            for i in gateways.instances
        }
    )
    # Every hop logged once in all (nginx sent none twice), by more than one instance.
    assert sum(per_instance.values()) == hops, per_instance
    assert sum(1 for count in per_instance.values() if count) > 1, per_instance
    after = [await metric_total(http, url) for url in gateways.urls]
    grown = [b - a for a, b in zip(before, after, strict=True)]
    assert sum(grown) == hops and sum(1 for g in grown if g) > 1, grown
    # No session stuck to an instance: some consecutive hops of one session moved.
    answered = [line for line in nginx.access_log() if line.startswith("POST /ussd")]
    upstreams = [line.split("upstream=")[1].split(" upstream_status=")[0] for line in answered]
    assert len(answered) == hops
    assert any(a != b for a, b in itertools.pairwise(upstreams)), upstreams
    # Hops that met the dead server first were passed on once, and applied once (above).
    passed_on = [u for u in upstreams if u.startswith(nginx.dead + ", ")]
    assert passed_on and all(u.count(",") == 1 for u in passed_on), upstreams
