"""The hop engine: one USSD hop from request to committed reply."""
