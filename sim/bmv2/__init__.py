"""BMv2 (``simple_switch_grpc``) running ``p4/router.p4``: process, wiring, harness.

The P4Runtime client, veth wiring and observation are target-independent and
live in :mod:`sim.p4rt_harness`; their names are exported here too.
"""

from sim.p4rt_harness.client import RouterClient
from sim.p4rt_harness.observe import Observation, counters_delta, delivery_problem

from .harness import Bmv2Router, injection_problem
from .switch import Bmv2Switch, switch_binary

__all__ = [
    "Bmv2Router",
    "Bmv2Switch",
    "Observation",
    "RouterClient",
    "counters_delta",
    "delivery_problem",
    "injection_problem",
    "switch_binary",
]
