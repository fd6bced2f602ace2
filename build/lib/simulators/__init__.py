"""Simulators that drive the gateway from outside, over HTTP only (never importing it).

Import from the modules (``simulators.handset.run_script``, ``simulators.dialects``):
re-exporting them here would make ``python -m simulators.handset`` import itself twice.
"""
