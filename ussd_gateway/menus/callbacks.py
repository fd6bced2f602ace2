"""The guard and action names a menu's machine may use.

The menu model (``ussd_gateway/menus/model.py``) implements exactly these; the menu
checker rejects any other name, so a typo in YAML is a load-time error with a line
number instead of a transition that silently never fires.
"""

GUARDS: frozenset[str] = frozenset(
    {
        "access_is_open",
        "subscriber_closed_access",
        "organisation_closed_access",
        "operator_closed_access",
        "opening_is_locked",
        "puk_was_accepted",
        "this_puk_locked_opening",
        "password_was_proposed",
        "password_was_set",
        "attempts_are_exhausted",
        "call_succeeded",
        "call_refused",
        "call_failed",
    }
)
"""Questions about the subscriber and the session, asked by ``cond``/``unless``."""

ACTIONS: frozenset[str] = frozenset(
    {
        "close_access",
        "verify_puk",
        "propose_password",
        "confirm_password",
    }
)
"""Changes requested by ``on``/``before``/``after``/``enter``/``exit``."""
