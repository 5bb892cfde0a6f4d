"""BMv2 (``simple_switch_grpc``) running ``p4/router.p4``: process, wiring, P4Runtime client, harness."""

from .client import RouterClient
from .harness import Bmv2Router, Observation, counters_delta, delivery_problem, injection_problem
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
