"""The counters of what the service does besides hops: SMS sends and delivery reports, MO,
one-time codes, e-mail, HTTP requests, menus' back-end calls.

:class:`ServiceMetrics` implements the counter ports of ``sms`` (:class:`sms.counters.
SendCounters`), ``account`` (:class:`account.counters.CodeCounters`,
:class:`~account.counters.MailCounters`) and the back-end calls
(:class:`ussd_gateway.backends.counters.BackendCounters`), so none imports Prometheus, and feeds the
links' last-known states (``links.py``) from the same events. One registry per application,
no globals; with ``serve --workers N`` the values are file-backed (``shared.py``).
Every label is a small fixed set: a sender, a result, a purpose, a route's pattern (never
its path: ``/api/v1/subscribers/{msisdn}``, not a number), a status class.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from ussd_gateway.metrics.links import SMSC, SMTP, Links

_SMSC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds for one hand-over to the SMSC (a send is cut off at half the 30 s lease)."""
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
DELIVERIES = frozenset({"delivered", "undelivered", "queued", "smsc_accepted", "rejected"})
"""Delivery report statuses kept as labels; any other is counted as ``other``."""
UNMATCHED = "unmatched"
"""The route label of a request no route took (404, 405)."""


class ServiceMetrics:
    """Counters of the service's events, and the links they tell about."""

    def __init__(self, links: Links, registry: CollectorRegistry | None = None) -> None:
        self.links = links
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.sms_sends = Counter(
            "ussd_sms_sends",
            "Outbox messages handled, by sender and result (accepted, retry, rejected, "
            "gave_up, expired, too_long, unreadable)",
            ["sender", "result"],
            registry=r,
        )
        self.sms_retries = Counter(
            "ussd_sms_retries",
            "Messages handed to the SMS sender again after a failed attempt",
            ["sender"],
            registry=r,
        )
        self.sms_send_seconds = Histogram(
            "ussd_sms_send_seconds",
            "Time the SMS sender took to take (or refuse) one message",
            ["sender"],
            buckets=_SMSC_BUCKETS,
            registry=r,
        )
        self.delivery_reports = Counter(
            "ussd_sms_delivery_reports",
            "Delivery reports received, by provider and delivery status",
            ["source", "delivery"],
            registry=r,
        )
        self.mo = Counter(
            "ussd_sms_mo",
            "Subscribers' SMS (MO) answered, by format and outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.code_requests = Counter(
            "ussd_code_requests",
            "One-time code requests, by purpose and outcome (queued, reply, limited, "
            "refused, unknown)",
            ["purpose", "outcome"],
            registry=r,
        )
        self.code_checks = Counter(
            "ussd_code_checks",
            "One-time code checks, by purpose and outcome (verified, wrong, no_code, locked)",
            ["purpose", "outcome"],
            registry=r,
        )
        self.mail_attempts = Counter(
            "ussd_mail_attempts",
            "Letters handed to the SMTP relay, by kind and result (delivered, failed)",
            ["kind", "result"],
            registry=r,
        )
        self.mail_dropped = Counter(
            "ussd_mail_given_up",
            "Letters dropped after their last retry, by kind",
            ["kind"],
            registry=r,
        )
        self.gsup_links = Counter(
            "ussd_gsup_link_events",
            "The EUSE connector's GSUP link to OsmoHLR: connected, failed (no connection "
            "made), lost (a link dropped)",
            ["event"],
            registry=r,
        )
        self.gsup_messages = Counter(
            "ussd_gsup_messages",
            "GSUP supplementary-service messages, by direction (in, out) and kind (begin, "
            "continue, end, error, undecodable, unknown_imsi, ignored)",
            ["direction", "kind"],
            registry=r,
        )
        self.http_requests = Counter(
            "ussd_http_requests",
            "HTTP requests answered, by route pattern, method and status class (2xx, 4xx, …)",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "ussd_http_request_seconds",
            "Time to answer an HTTP request, by route pattern",
            ["route"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.backend_calls = Counter(
            "ussd_backend_calls",
            "Menus' back-end calls, by back-end and outcome (ok, refused, failed, timeout, "
            "circuit_open)",
            ["backend", "outcome"],
            registry=r,
        )
        self.backend_seconds = Histogram(
            "ussd_backend_call_seconds",
            "Time one back-end call took (a call is cut off at the hop's budget)",
            ["backend"],
            buckets=_SMSC_BUCKETS,
            registry=r,
        )
        self.backend_circuit = Counter(
            "ussd_backend_circuit_changes",
            "A back-end's circuit breaker opening or closing again",
            ["backend", "to"],
            registry=r,
        )

    # sms.counters.SendCounters

    def send_attempted(
        self, sender: str, *, accepted: bool, attempt: int, seconds: float, detail: str
    ) -> None:
        """One hand-over to the sender; the SMSC's link state follows it."""
        self.sms_send_seconds.labels(sender).observe(seconds)
        if attempt > 1:
            self.sms_retries.labels(sender).inc()
        self.links.record(SMSC, ok=accepted, detail="" if accepted else detail)

    def send_finished(self, sender: str, outcome: str) -> None:
        """One message's turn came to ``outcome``."""
        self.sms_sends.labels(sender, outcome).inc()

    # account.counters.CodeCounters

    def code_requested(self, purpose: str, outcome: str) -> None:
        """A code request's outcome."""
        self.code_requests.labels(purpose, outcome).inc()

    def code_checked(self, purpose: str, outcome: str) -> None:
        """A code check's outcome."""
        self.code_checks.labels(purpose, outcome).inc()

    # account.counters.MailCounters

    def mail_attempted(self, kind: str, *, delivered: bool, error: str) -> None:
        """One hand-over to the relay; the relay's link state follows it."""
        self.mail_attempts.labels(kind, "delivered" if delivered else "failed").inc()
        self.links.record(SMTP, ok=delivered, detail=error)

    def mail_given_up(self, kind: str) -> None:
        """A letter dropped."""
        self.mail_dropped.labels(kind).inc()

    # backends.counters.BackendCounters

    def call_made(self, backend: str, outcome: str, seconds: float) -> None:
        """One back-end call of a menu."""
        self.backend_calls.labels(backend, outcome).inc()
        self.backend_seconds.labels(backend).observe(seconds)

    def circuit(self, backend: str, is_open: bool) -> None:
        """A back-end's breaker changed."""
        self.backend_circuit.labels(backend, "open" if is_open else "closed").inc()

    # the HTTP routes

    def gsup_link(self, event: str) -> None:
        """The EUSE connector's link to OsmoHLR: connected, failed or lost
        (``gsup/connector.py``'s ``LinkCounters``)."""
        self.gsup_links.labels(event).inc()

    def gsup_message(self, direction: str, kind: str) -> None:
        """One GSUP message in or out, by its session state or what became of it."""
        self.gsup_messages.labels(direction, kind).inc()

    def delivery_reported(self, source: str, delivery: str) -> None:
        """A delivery report (``source``: ``kannel`` or ``jasmin``)."""
        self.delivery_reports.labels(source, delivery if delivery in DELIVERIES else "other").inc()

    def mo_answered(self, source: str, outcome: str) -> None:
        """An MO answered (``outcome``: the answer's, or malformed, unavailable, forbidden)."""
        self.mo.labels(source, outcome).inc()

    def http_answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request answered."""
        self.http_requests.labels(route, method, f"{status // 100}xx").inc()
        self.http_seconds.labels(route).observe(seconds)


class _NotCounted:
    """Stands for the counters in an application that has none (a test's routes alone)."""

    def delivery_reported(self, source: str, delivery: str) -> None:
        """Nothing."""

    def mo_answered(self, source: str, outcome: str) -> None:
        """Nothing."""


NOT_COUNTED = _NotCounted()
