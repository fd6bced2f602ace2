"""The operator's back-ends, called from menus: HTTP, a circuit breaker, counters.

``caller.py`` makes a menu's calls (``menus/calls.py`` says what a call is) against the
``[backends.NAME]`` of the configuration; ``breaker.py`` is each back-end's circuit
breaker; ``counters.py`` what the calls report to the metrics.
"""
