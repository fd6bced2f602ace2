"""The self-service account's use cases: registration, logins, recovery, sessions, roles,
the operator's actions, one-time codes and the answers to SMS requests.

Between the service (``ussd_gateway``: HTTP, USSD) and the transport and core below it
(``sms``, ``state``): it decides with the core's pure rules and commits through the store's
roles; it knows nothing of HTTP.
"""

from account.codes import CodePolicy, CodeRequest, CodeService, Purpose, RequestOutcome
from account.front_door import FrontDoor
from account.operator import AccountService

__all__ = [
    "AccountService",
    "CodePolicy",
    "CodeRequest",
    "CodeService",
    "FrontDoor",
    "Purpose",
    "RequestOutcome",
]
