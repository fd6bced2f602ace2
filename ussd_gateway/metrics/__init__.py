"""What the service tells about itself: its Prometheus metrics (one page for every worker of
``serve --workers N``) and its readiness.

- ``service.py`` — the counters of the SMS, codes, mail and HTTP events, implementing the
  counter ports of ``sms`` and ``account`` (which know nothing of Prometheus);
- ``links.py`` — the last-known state of the SMSC and the SMTP relay, shared by workers;
- ``readiness.py`` — the checks ``/readyz`` answers with, and the outbox backlog they read;
- ``exposition.py`` — the ``/metrics`` page: the counters, the values read at scrape time,
  the process's own;
- ``shared.py`` — prometheus-client's multiprocess mode for ``serve --workers N``.

The hop engine's own metrics stay with it (``hop/metrics.py``).
"""
