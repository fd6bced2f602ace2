"""SMS: measuring texts by encoding (codes, MO and MT come with the SMS issue)."""

from sms.encoding import Encoding, Measure, fits_ussd, is_gsm7, measure, ussd_limit

__all__ = ["Encoding", "Measure", "fits_ussd", "is_gsm7", "measure", "ussd_limit"]
