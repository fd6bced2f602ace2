"""``ussd-handset web``: a handset in the browser for testers, an HTTP client of the gateway.

The server holds the phones (their sessions, the dialect secrets, what was typed) and
speaks to the gateway, the SMSC simulator and the mailbox over HTTP only; the page is
plain HTML, CSS and JavaScript from ``static/``, fetched from this server and nowhere else.
``app.py`` is the HTTP face, ``phones.py`` a phone, ``timeline.py`` what went over the wire,
``recording.py`` and ``replay.py`` the scripts, ``peers.py`` the SMS inbox and the mailbox.
"""
