"""Drive any P4Runtime target running the router's P4Info with frames over veths, and check it.

The pieces that do not depend on the target: the P4Runtime client
(:mod:`.client`), the veth wiring of front-panel ports (:mod:`.wiring`),
sending one frame and observing everything the switch does with it
(:mod:`.observe`), and running vectors against the reference model
(:mod:`.corpus`). BMv2 (:mod:`sim.bmv2`) and the HDL switch (:mod:`.hdl`)
plug into them.
"""
