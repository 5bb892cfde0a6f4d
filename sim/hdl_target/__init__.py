"""The HDL pipeline as a P4Runtime target: management channel, simulated switch, server glue."""
