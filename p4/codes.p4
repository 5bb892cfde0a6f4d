// The pipeline contract's numbers (DESIGN.md §1).
//
// These repeat sim/model/codes.py, the one place the numbers are defined;
// tests/p4/test_codes_agree.py parses every `const` below and fails if the
// two disagree, so change both together.

#ifndef TWINROUTER_CODES_P4_
#define TWINROUTER_CODES_P4_

// Front-panel ports are 1..NUM_PORTS, a build parameter:
// `p4c-bm2-ss -DNUM_PORTS=8 ...` builds a wider router.
#ifndef NUM_PORTS
#define NUM_PORTS 4
#endif

typedef bit<9>  port_t;          // v1model's ingress_port / egress_spec width
typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<8>  punt_reason_t;   // packet_in.reason
typedef bit<8>  drop_reason_t;   // index into ingress.drops

// The P4Runtime port number of the CPU port (simple_switch_grpc --cpu-port).
const port_t CPU_PORT = 255;
const bit<16> FIRST_FRONT_PORT = 1;
const bit<16> LAST_FRONT_PORT = NUM_PORTS;

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_ARP = 0x0806;

const bit<32> ETH_HEADER_LEN = 14;

// --- Punt reasons: packet_in.reason, and the index into ingress.punts. ---
const punt_reason_t PUNT_REASON_ARP = 1;
const punt_reason_t PUNT_REASON_LOCAL = 2;
const punt_reason_t PUNT_REASON_TTL_EXPIRED = 3;
const punt_reason_t PUNT_REASON_NO_ROUTE = 4;
const punt_reason_t PUNT_REASON_ARP_MISS = 5;

// --- Drop reasons: the index into ingress.drops. ---
const drop_reason_t DROP_REASON_BAD_PACKET_OUT_PORT = 1;
const drop_reason_t DROP_REASON_TRUNCATED = 2;
const drop_reason_t DROP_REASON_NOT_ROUTABLE_L2 = 3;
const drop_reason_t DROP_REASON_NOT_FOR_US = 4;
const drop_reason_t DROP_REASON_UNSUPPORTED_ETHERTYPE = 5;
const drop_reason_t DROP_REASON_IPV4_VERSION = 6;
const drop_reason_t DROP_REASON_IPV4_IHL = 7;
const drop_reason_t DROP_REASON_IPV4_LENGTH = 8;
const drop_reason_t DROP_REASON_IPV4_CHECKSUM = 9;
const drop_reason_t DROP_REASON_MARTIAN_SOURCE = 10;
const drop_reason_t DROP_REASON_MULTICAST_DESTINATION = 11;
const drop_reason_t DROP_REASON_NULL_ROUTE = 12;
// QUEUE_FULL is part of the contract but BMv2 cannot count it: its traffic
// manager tail-drops a full egress queue without running any P4 code, so no
// program sees the packet. The index stays reserved for the HDL target.
const drop_reason_t DROP_REASON_QUEUE_FULL = 13;

// --- Counter sizes (index 0 of the reason counters is unused). ---
const bit<32> PUNT_COUNTER_SIZE = 8;
const bit<32> DROP_COUNTER_SIZE = 16;
const bit<32> PORT_COUNTER_SIZE = 256;

#endif  // TWINROUTER_CODES_P4_
