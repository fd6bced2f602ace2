"""SMS transport: texts by encoding and segment, MO formats and commands, the outbox worker."""

from sms.commands import Action, Reply, SmsCommands, load_commands
from sms.encoding import Encoding, Measure, fits_ussd, is_gsm7, measure, ussd_limit
from sms.errors import CommandDefinitionError, MoParseError, SmsError
from sms.mo import MoMessage, MoSource, parse_mo
from sms.outbox import OutboxWorker
from sms.segments import Segments, TooLong, check_fits, count_segments, split_segments
from sms.senders import build_sender

__all__ = [
    "Action",
    "CommandDefinitionError",
    "Encoding",
    "Measure",
    "MoMessage",
    "MoParseError",
    "MoSource",
    "OutboxWorker",
    "Reply",
    "Segments",
    "SmsCommands",
    "SmsError",
    "TooLong",
    "build_sender",
    "check_fits",
    "count_segments",
    "fits_ussd",
    "is_gsm7",
    "load_commands",
    "measure",
    "parse_mo",
    "split_segments",
    "ussd_limit",
]
