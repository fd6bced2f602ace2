"""USSD dialects: each turns one aggregator's HTTP into :class:`UssdRequest` and back."""

from ussd_gateway.dialects import africastalking, hubtel, native
from ussd_gateway.dialects.model import DialectSpec, HttpAnswer, Op, UssdReply, UssdRequest

DIALECTS: dict[str, DialectSpec] = {
    spec.name: spec for spec in (native.SPEC, africastalking.SPEC, hubtel.SPEC)
}
"""Each dialect's hop route, by dialect name."""

ROUTES: tuple[DialectSpec, ...] = (*DIALECTS.values(), africastalking.EVENTS_SPEC)
"""Every route a dialect serves (hops, and Africa's Talking's end-of-session events)."""

__all__ = ["DIALECTS", "ROUTES", "DialectSpec", "HttpAnswer", "Op", "UssdReply", "UssdRequest"]
