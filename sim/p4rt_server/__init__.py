"""A P4Runtime server for twinrouter's own targets (the HDL pipeline, the reference model).

The server owns P4Runtime semantics — arbitration, entity validation,
canonical byte strings, INSERT/MODIFY/DELETE rules, per-update errors —
and hands each accepted change to a :class:`DataPlane`, which only has to
hold entries, count packets and move frames on its CPU port.
"""
