"""Board tops for the ECP5 boards: RGMII PHYs, MACs, clocking, and synthesis."""
