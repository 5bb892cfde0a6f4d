"""Conformance client: p4runtime-shell, a P4Runtime client nobody here wrote.

Runs in .venv-p4rt-shell (p4runtime-shell pins protobuf < 3.21), so it must
not import anything from this project. Usage:

    p4runtime_shell_client.py GRPC_ADDR P4INFO DEVICE_CONFIG

It pushes the pipeline, then in every table inserts an entry, reads it back,
modifies it where the action has parameters, deletes it and checks it is
gone; then reads every counter. Prints one line per check; exits 1 on the
first failure.
"""

import os
import sys
import traceback

import p4runtime_sh.shell as sh

ENTRIES = {
    # table: (match, action, params, modified params)
    "ingress.router_mac": (
        {"port": "1"},
        "ingress.set_router_mac",
        {"mac": "02:00:00:00:00:01"},
        {"mac": "02:00:00:00:00:11"},
    ),
    "egress.port_mac": (
        {"port": "2"},
        "egress.set_src_mac",
        {"mac": "02:00:00:00:00:02"},
        {"mac": "02:00:00:00:00:12"},
    ),
    "ingress.local_ip": ({"dst_addr": "10.0.1.1"}, "ingress.deliver_local", {}, None),
    "ingress.ipv4_lpm": (
        {"dst_addr": "10.2.0.0/16"},
        "ingress.set_nexthop",
        {"nhop_ip": "10.0.1.2", "port": "1"},
        {"nhop_ip": "10.0.1.3", "port": "2"},
    ),
    "ingress.arp": (
        {"nhop_ip": "10.0.1.2"},
        "ingress.set_dmac",
        {"mac": "02:00:00:00:aa:01"},
        {"mac": "02:00:00:00:aa:02"},
    ),
}
COUNTERS = ["ingress.rx_port", "egress.tx_port", "ingress.drops", "ingress.punts"]


def check(condition: bool, what: str) -> None:
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        # os._exit: the shell's stream thread would otherwise keep the process alive.
        os._exit(1)


def make(table: str, match: dict, action: str, params: dict):
    entry = sh.TableEntry(table)(action=action)
    for field, value in match.items():
        entry.match[field] = value
    for name, value in params.items():
        entry.action[name] = value
    return entry


def read_all(table: str) -> list:
    return list(sh.TableEntry(table).read())


def main() -> int:
    addr, p4info, device_config = sys.argv[1:4]
    sh.setup(device_id=1, grpc_addr=addr, election_id=(0, 1), config=sh.FwdPipeConfig(p4info, device_config))
    for table, (match, action, params, modified) in ENTRIES.items():
        entry = make(table, match, action, params)
        entry.insert()
        got = read_all(table)
        check(len(got) == 1, f"{table}: insert then read returns one entry")
        check(got[0].action.action_name == action, f"{table}: read back action {action}")
        for name in params:
            check(
                got[0].action[name] == make(table, match, action, params).action[name],
                f"{table}: param {name} reads back as written",
            )
        if modified:
            make(table, match, action, modified).modify()
            after = read_all(table)[0]
            for name in modified:
                check(
                    after.action[name] == make(table, match, action, modified).action[name],
                    f"{table}: modify changed {name}",
                )
        entry.delete()
        check(read_all(table) == [], f"{table}: delete leaves the table empty")
    for counter in COUNTERS:
        cells = list(sh.CounterEntry(counter).read())
        check(
            len(cells) > 0 and all(c.data.packet_count >= 0 for c in cells),
            f"{counter}: {len(cells)} cells read",
        )
    sh.teardown()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(1)
