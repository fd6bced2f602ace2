"""Health and metrics: ``/healthz`` (liveness, for load balancers), ``/readyz`` (readiness,
check by check) and ``/metrics`` (Prometheus).

- ``GET /healthz`` — 200 ``{"status": "ok"}`` when the database answers a ping, else 503
  ``unavailable`` (the error table's answer to a store outage, with ``Retry-After``). The
  balancers' check: an instance that cannot reach the database cannot answer a hop.
- ``GET /readyz`` — 200 when every check of ``ussd_gateway/metrics/readiness.py`` passes
  (store, menus, outbox backlog, SMSC, SMTP relay), else 503; the body is the report
  either way: ``{"status": "ready" | "not_ready", "checks": {…}}``, counts, times and class
  names only (no URL, no secret).
- ``GET /metrics`` — the exposition (``ussd_gateway/metrics/exposition.py``): every worker's
  counters with ``serve --workers N``. With ``[metrics] secret`` set, only for a caller
  presenting it in the ``Authorization`` header (never ``?token=``); without, open.
"""

from __future__ import annotations

from aiohttp import web

from ussd_gateway.http.appkeys import EXPOSITION, READINESS, SETTINGS, STORE
from ussd_gateway.http.auth import require
from ussd_gateway.metrics.exposition import CONTENT_TYPE


async def healthz(request: web.Request) -> web.Response:
    """Liveness and storage reachability."""
    await request.app[STORE].ping()
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Every readiness check, 200 when all pass and 503 when one does not."""
    report = await request.app[READINESS].report()
    return web.json_response(
        report.as_json(),
        status=200 if report.ready else 503,
        headers={"Cache-Control": "no-store"},
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition; with ``[metrics] secret`` set, for its Bearer only."""
    expected = request.app[SETTINGS].metrics_secret
    if expected is not None:
        require(request, expected, "missing or wrong metrics credentials")
    body = await request.app[EXPOSITION].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def add_health_routes(app: web.Application) -> None:
    """Register ``/healthz``, ``/readyz`` and ``/metrics``."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
