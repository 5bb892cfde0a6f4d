// twinrouter: an IPv4 router for the v1model architecture (BMv2
// simple_switch_grpc).
//
// This program implements the pipeline contract of DESIGN.md §1, the same
// contract the HDL pipeline and the reference model (sim/model/pipeline.py)
// implement bit for bit; the shared vector corpus checks all three. It is also
// the source of truth for the P4Runtime names: the controller and the HDL
// target's P4Runtime server are written against the P4Info it compiles to
// (p4/build/router.p4info.txtpb).
//
// Ports: front-panel ports 1..NUM_PORTS, CPU port 255 (packet-in/-out).
//
//  ingress                                                           egress
//  +------------+   +----------+   +----------+   +----------+   +----------+
//  | router_mac |-->| local_ip |-->| ipv4_lpm |-->|   arp    |-->| port_mac |
//  | (admit L2) |   |          |   | next hop |   | dst MAC, |   | src MAC  |
//  +------------+   +----------+   | and port |   | TTL - 1  |   +----------+
//        |               |         +----------+   +----------+
//        v               v            |      |          |
//   unicast, not     hit: punt     drop:   miss:      miss:
//   ours: drop       LOCAL         NULL_   punt       punt
//   NOT_FOR_US                     ROUTE   NO_ROUTE   ARP_MISS
//
// The sanity checks between the tables (truncation, EtherType, ARP, IPv4
// version/IHL/length/checksum, martian source, multicast, TTL) are the
// numbered steps in ingress's apply block, in the contract's order.
//
// Every frame is counted on arrival (ingress.rx_port) and, if it leaves, on
// departure (egress.tx_port, CPU port included); every drop and punt is
// counted by reason (ingress.drops, ingress.punts). Byte counts are the length
// of the frame as received (packet_out header included), which is what BMv2
// counts at every point of the pipeline.
//
// Decisions where DESIGN.md is silent (the reference model implements the
// same; see docs/pipeline.md):
// - The IPv4 checksum is valid iff the one's complement sum over the header,
//   checksum and options included, is 0xFFFF (RFC 1071; both 0x0000 and
//   0xFFFF accepted in the field, as Linux does).
// - An ARP frame that is not Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6,
//   plen 4) drops as UNSUPPORTED_ETHERTYPE; ARP to an IPv4-multicast MAC
//   drops as NOT_ROUTABLE_L2.
// - A packet_out shorter than its 2-byte header drops as TRUNCATED; valid
//   packet_out ports are 1..NUM_PORTS.
// - IHL < 5 needs only the 20 fixed bytes present (then IPV4_IHL); IHL >= 5
//   needs 4 * IHL bytes (else TRUNCATED), whatever the version field says.
// - QUEUE_FULL cannot be counted here: BMv2's traffic manager tail-drops a
//   full egress queue without running any P4 code (see p4/codes.p4).

#include <core.p4>
#include <v1model.p4>

#include "codes.p4"
#include "headers.p4"
#include "checksum.p4"
#include "parser.p4"

const mac_addr_t BROADCAST_MAC = 0xFFFFFFFFFFFF;
// 01:00:5e:00:00:00/25, the block RFC 1112 maps IPv4 multicast into.
const mac_addr_t IPV4_MULTICAST_MAC = 0x01005E000000;
const mac_addr_t IPV4_MULTICAST_MAC_MASK = 0xFFFFFF800000;

const ipv4_addr_t LIMITED_BROADCAST = 0xFFFFFFFF;
// 224.0.0.0/24: link-local multicast (OSPF uses 224.0.0.5 and 224.0.0.6).
const ipv4_addr_t LINK_LOCAL_MULTICAST = 0xE0000000;
const ipv4_addr_t LINK_LOCAL_MULTICAST_MASK = 0xFFFFFF00;
// 224.0.0.0/4: all multicast.
const ipv4_addr_t MULTICAST = 0xE0000000;
const ipv4_addr_t MULTICAST_MASK = 0xF0000000;

// Sources a router must never accept (RFC 1812 §5.3.7): 0.0.0.0/8,
// 127.0.0.0/8, 224.0.0.0/4 and the limited broadcast address.
bool is_martian_source(in ipv4_addr_t src) {
  return src[31:24] == 0
      || src[31:24] == 127
      || (src & MULTICAST_MASK) == MULTICAST
      || src == LIMITED_BROADCAST;
}

control ingress(inout headers_t hdr,
                inout metadata_t meta,
                inout standard_metadata_t standard_metadata) {
  // Every frame that arrives, indexed by ingress port (CPU port included).
  counter(PORT_COUNTER_SIZE, CounterType.packets_and_bytes) rx_port;
  // Every dropped frame, indexed by drop reason (DROP_REASON_*).
  counter(DROP_COUNTER_SIZE, CounterType.packets_and_bytes) drops;
  // Every punted frame, indexed by punt reason (PUNT_REASON_*).
  counter(PUNT_COUNTER_SIZE, CounterType.packets_and_bytes) punts;

  ipv4_checksum_verify() ipv4_checksum;

  // Discards the frame, counting it under `reason`.
  @hidden
  action drop_for(drop_reason_t reason) {
    drops.count((bit<32>)reason);
    mark_to_drop(standard_metadata);
  }

  // Sends the received frame, unchanged, to the controller behind a
  // packet_in header carrying `reason` and the ingress port.
  @hidden
  action punt(punt_reason_t reason) {
    punts.count((bit<32>)reason);
    standard_metadata.egress_spec = CPU_PORT;
    hdr.packet_in.setValid();
    hdr.packet_in.ingress_port = (bit<16>)standard_metadata.ingress_port;
    hdr.packet_in.reason = reason;
  }

  // --- router_mac ----------------------------------------------------------

  // Records the router's MAC address on the ingress port.
  action set_router_mac(mac_addr_t mac) {
    meta.router_mac = mac;
  }

  // The router's own MAC address on each front-panel port: a unicast frame is
  // routed only if it is addressed to it. The controller programs one entry
  // per configured port, from the same per-port MAC as egress.port_mac. A
  // port without an entry accepts no unicast frame (only broadcast and
  // IPv4-multicast frames, which are never routed).
  table router_mac {
    key = {
      standard_metadata.ingress_port : exact @name("port");
    }
    actions = {
      set_router_mac;
      @defaultonly NoAction;
    }
    const default_action = NoAction;
    size = 256;
  }

  // --- local_ip ------------------------------------------------------------

  // Delivers the packet to the router itself: punt with reason LOCAL.
  action deliver_local() {
    punt(PUNT_REASON_LOCAL);
  }

  // The router's own IPv4 addresses (one entry per interface address).
  // Packets to them are punted to the controller, even with TTL 1. The
  // limited broadcast 255.255.255.255 and link-local multicast 224.0.0.0/24
  // are delivered locally without an entry.
  table local_ip {
    key = {
      hdr.ipv4.dst_addr : exact @name("dst_addr");
    }
    actions = {
      deliver_local;
      @defaultonly NoAction;
    }
    const default_action = NoAction;
    size = 64;
  }

  // --- ipv4_lpm ------------------------------------------------------------

  // Forwards via the gateway `nhop_ip`, reachable on `port`. The gateway's
  // MAC comes from the arp table.
  action set_nexthop(ipv4_addr_t nhop_ip, port_t port) {
    meta.nhop_valid = true;
    meta.nhop_ip = nhop_ip;
    standard_metadata.egress_spec = port;
  }

  // Forwards on `port` to the destination itself (a connected subnet): the
  // destination is the next hop to resolve in the arp table.
  action set_direct(port_t port) {
    meta.nhop_valid = true;
    meta.nhop_ip = hdr.ipv4.dst_addr;
    standard_metadata.egress_spec = port;
  }

  // Null route: discards the packet, counted as NULL_ROUTE. The controller
  // installs one /32 per connected subnet's broadcast address, so directed
  // broadcasts are never forwarded (RFC 2644).
  action drop() {
    drop_for(DROP_REASON_NULL_ROUTE);
  }

  // No route: punts with reason NO_ROUTE; the controller answers with ICMP
  // Destination Unreachable (rate-limited).
  action no_route() {
    punt(PUNT_REASON_NO_ROUTE);
  }

  // The forwarding table: longest-prefix match on the destination address.
  // Holds connected routes (set_direct), static and OSPF routes
  // (set_nexthop) and null routes (drop). A miss punts NO_ROUTE.
  table ipv4_lpm {
    key = {
      hdr.ipv4.dst_addr : lpm @name("dst_addr");
    }
    actions = {
      set_nexthop;
      set_direct;
      drop;
      @defaultonly no_route;
    }
    const default_action = no_route();
    size = 16384;
  }

  // --- arp -----------------------------------------------------------------

  // Rewrites the destination MAC to the next hop's.
  action set_dmac(mac_addr_t mac) {
    hdr.ethernet.dst_addr = mac;
  }

  // Next hop unresolved: punts with reason ARP_MISS. The controller resolves
  // it, installs the entry and sends the held packets itself.
  action arp_miss() {
    punt(PUNT_REASON_ARP_MISS);
  }

  // The neighbour table: the MAC address of each resolved next hop, exact
  // on the next-hop address chosen by ipv4_lpm.
  table arp {
    key = {
      meta.nhop_ip : exact @name("nhop_ip");
    }
    actions = {
      set_dmac;
      @defaultonly arp_miss;
    }
    const default_action = arp_miss();
    size = 1024;
  }

  apply {
    rx_port.count((bit<32>)standard_metadata.ingress_port);
    meta.nhop_valid = false;
    meta.routed = false;

    // 1. From the CPU port: the controller sends finished frames.
    if (standard_metadata.ingress_port == CPU_PORT) {
      if (standard_metadata.parser_error != error.NoError) {
        drop_for(DROP_REASON_TRUNCATED);
        return;
      }
      if (hdr.packet_out.egress_port < FIRST_FRONT_PORT
          || hdr.packet_out.egress_port > LAST_FRONT_PORT) {
        drop_for(DROP_REASON_BAD_PACKET_OUT_PORT);
        return;
      }
      standard_metadata.egress_spec = (port_t)hdr.packet_out.egress_port;
      hdr.packet_out.setInvalid();
      return;
    }

    // 2. Every header the parser needs is complete (PacketTooShort is the
    //    only error this parser can raise).
    if (standard_metadata.parser_error != error.NoError) {
      drop_for(DROP_REASON_TRUNCATED);
      return;
    }

    // 3. Ethernet destination, then EtherType. Broadcast and IPv4-multicast
    //    frames go on, but only steps 4 and 6 may take them.
    bool l2_routable = false;
    if (router_mac.apply().hit) {
      l2_routable = hdr.ethernet.dst_addr == meta.router_mac;
    }
    bool l2_broadcast = hdr.ethernet.dst_addr == BROADCAST_MAC;
    bool l2_ipv4_multicast =
        (hdr.ethernet.dst_addr & IPV4_MULTICAST_MAC_MASK) == IPV4_MULTICAST_MAC;
    if (!l2_routable && !l2_broadcast && !l2_ipv4_multicast) {
      drop_for(DROP_REASON_NOT_FOR_US);
      return;
    }
    if (!hdr.arp.isValid() && !hdr.ipv4.isValid()) {
      drop_for(DROP_REASON_UNSUPPORTED_ETHERTYPE);
      return;
    }

    // 4. ARP for Ethernet/IPv4, broadcast or to our MAC.
    if (hdr.arp.isValid()) {
      if (hdr.arp.htype != 1 || hdr.arp.ptype != ETHERTYPE_IPV4
          || hdr.arp.hlen != 6 || hdr.arp.plen != 4) {
        drop_for(DROP_REASON_UNSUPPORTED_ETHERTYPE);
        return;
      }
      if (l2_ipv4_multicast) {
        drop_for(DROP_REASON_NOT_ROUTABLE_L2);
        return;
      }
      punt(PUNT_REASON_ARP);
      return;
    }

    // 5. IPv4 sanity, in this order.
    if (hdr.ipv4.version != 4) {
      drop_for(DROP_REASON_IPV4_VERSION);
      return;
    }
    if (hdr.ipv4.ihl < 5) {
      drop_for(DROP_REASON_IPV4_IHL);
      return;
    }
    bit<16> header_len = (bit<16>)hdr.ipv4.ihl * 4;
    if (hdr.ipv4.total_len < header_len
        || (bit<32>)hdr.ipv4.total_len
           > standard_metadata.packet_length - ETH_HEADER_LEN) {
      drop_for(DROP_REASON_IPV4_LENGTH);
      return;
    }
    bool checksum_valid;
    ipv4_checksum.apply(hdr, checksum_valid);
    if (!checksum_valid) {
      drop_for(DROP_REASON_IPV4_CHECKSUM);
      return;
    }
    if (is_martian_source(hdr.ipv4.src_addr)) {
      drop_for(DROP_REASON_MARTIAN_SOURCE);
      return;
    }

    // 6. For the router itself; before the TTL check, so that a packet for
    //    the router with TTL 1 is delivered.
    if (hdr.ipv4.dst_addr == LIMITED_BROADCAST
        || (hdr.ipv4.dst_addr & LINK_LOCAL_MULTICAST_MASK) == LINK_LOCAL_MULTICAST) {
      punt(PUNT_REASON_LOCAL);
      return;
    }
    if (local_ip.apply().hit) {
      return;  // deliver_local punted it
    }
    if ((hdr.ipv4.dst_addr & MULTICAST_MASK) == MULTICAST) {
      drop_for(DROP_REASON_MULTICAST_DESTINATION);
      return;
    }
    if (!l2_routable) {
      drop_for(DROP_REASON_NOT_ROUTABLE_L2);
      return;
    }

    // 7. TTL: the controller answers an expired packet with ICMP Time
    //    Exceeded.
    if (hdr.ipv4.ttl <= 1) {
      punt(PUNT_REASON_TTL_EXPIRED);
      return;
    }

    // 8. Longest-prefix match; drop and no_route end the pipeline here.
    ipv4_lpm.apply();
    if (!meta.nhop_valid) {
      return;
    }

    // 9. Neighbour; arp_miss ends the pipeline here.
    if (!arp.apply().hit) {
      return;
    }

    // 10. Rewrite: set_dmac wrote the destination MAC, egress writes the
    //     source MAC; TTL - 1 with the checksum updated incrementally. Options
    //     and payload travel untouched.
    bit<16> old_word = hdr.ipv4.ttl ++ hdr.ipv4.protocol;
    hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    bit<16> new_word = hdr.ipv4.ttl ++ hdr.ipv4.protocol;
    hdr.ipv4.hdr_checksum =
        checksum_incremental_update(hdr.ipv4.hdr_checksum, old_word, new_word);
    meta.routed = true;
  }
}

control egress(inout headers_t hdr,
               inout metadata_t meta,
               inout standard_metadata_t standard_metadata) {
  // Every frame that leaves, indexed by egress port (CPU port included).
  counter(PORT_COUNTER_SIZE, CounterType.packets_and_bytes) tx_port;

  // --- port_mac ------------------------------------------------------------

  // Rewrites the source MAC to the egress port's.
  action set_src_mac(mac_addr_t mac) {
    hdr.ethernet.src_addr = mac;
  }

  // The router's MAC address on each front-panel port, written as the
  // source of every routed packet. The controller programs it from the same
  // per-port MAC as ingress.router_mac, for every port a route points to.
  // Punted frames and the controller's own frames leave unchanged.
  table port_mac {
    key = {
      standard_metadata.egress_port : exact @name("port");
    }
    actions = {
      set_src_mac;
      @defaultonly NoAction;
    }
    const default_action = NoAction;
    size = 256;
  }

  apply {
    tx_port.count((bit<32>)standard_metadata.egress_port);
    if (meta.routed) {
      port_mac.apply();
    }
  }
}

// Checksums are verified and updated in ingress, in plain arithmetic
// (checksum.p4), so these v1model stages have nothing to do.
control no_checksum_verify(inout headers_t hdr, inout metadata_t meta) {
  apply { }
}

control no_checksum_update(inout headers_t hdr, inout metadata_t meta) {
  apply { }
}

V1Switch(packet_parser(),
         no_checksum_verify(),
         ingress(),
         egress(),
         no_checksum_update(),
         packet_deparser()) main;
