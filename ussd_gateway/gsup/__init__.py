"""The gateway as an external USSD entity (EUSE) of OsmoHLR: USSD straight from an Osmocom
core over GSUP.

``ipa.py`` (the framing and its CCM), ``messages.py`` (GSUP), ``septets.py`` and
``facility.py`` (the GSM 04.80 Facility and its USSD-String), ``translate.py`` (messages ⇄
the engine's hops, pure), ``subscribers.py`` (an IMSI's MSISDN from OsmoHLR's CTRL),
``connector.py`` (the link, its sessions, the engine).
"""
