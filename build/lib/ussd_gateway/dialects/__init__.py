"""USSD dialects: each turns one aggregator's HTTP into :class:`UssdRequest` and back."""

from ussd_gateway.dialects import africastalking, hubtel, native
from ussd_gateway.dialects.model import DialectSpec, HttpAnswer, Op, UssdReply, UssdRequest

DIALECTS: dict[str, DialectSpec] = {
    spec.name: spec for spec in (native.SPEC, africastalking.SPEC, hubtel.SPEC)
}

__all__ = ["DIALECTS", "DialectSpec", "HttpAnswer", "Op", "UssdReply", "UssdRequest"]
