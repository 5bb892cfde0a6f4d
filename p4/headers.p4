// Header and metadata types of the twinrouter pipeline.

#ifndef TWINROUTER_HEADERS_P4_
#define TWINROUTER_HEADERS_P4_

#include "codes.p4"

// --- Controller headers (the CPU port's framing; P4Runtime turns them into
// PacketIn/PacketOut metadata). Their layout is part of the contract: the
// HDL target frames its CPU port the same way.

// Prepended by the controller to every frame it sends (PacketOut). The frame
// after it leaves on `egress_port` unchanged.
@controller_header("packet_out")
header packet_out_t {
  bit<16> egress_port;
}

// Prepended to every punted frame (PacketIn); the received frame follows
// unchanged.
@controller_header("packet_in")
header packet_in_t {
  bit<16>       ingress_port;
  punt_reason_t reason;
}

// --- Wire headers.

header ethernet_t {
  mac_addr_t dst_addr;
  mac_addr_t src_addr;
  bit<16>    ether_type;
}

// RFC 826, parsed whole (28 bytes for Ethernet/IPv4) whatever its hardware
// and protocol types; ingress checks them.
header arp_t {
  bit<16>     htype;
  bit<16>     ptype;
  bit<8>      hlen;
  bit<8>      plen;
  bit<16>     oper;
  mac_addr_t  sender_hw_addr;
  ipv4_addr_t sender_proto_addr;
  mac_addr_t  target_hw_addr;
  ipv4_addr_t target_proto_addr;
}

// RFC 791 fixed header (20 bytes).
header ipv4_t {
  bit<4>      version;
  bit<4>      ihl;
  bit<8>      diffserv;
  bit<16>     total_len;
  bit<16>     identification;
  bit<3>      flags;
  bit<13>     frag_offset;
  bit<8>      ttl;
  bit<8>      protocol;
  bit<16>     hdr_checksum;
  ipv4_addr_t src_addr;
  ipv4_addr_t dst_addr;
}

// One 32-bit word of IPv4 options. Options are carried opaquely: the
// pipeline only sums them into the header checksum and emits them unchanged.
header ipv4_option_word_t {
  bit<32> word;
}

// IHL is at most 15 words, 5 of them the fixed header.
#define IPV4_MAX_OPTION_WORDS 10

struct headers_t {
  packet_out_t       packet_out;
  packet_in_t        packet_in;
  ethernet_t         ethernet;
  arp_t              arp;
  ipv4_t             ipv4;
  ipv4_option_word_t[IPV4_MAX_OPTION_WORDS] ipv4_options;
}

struct metadata_t {
  // Parser: option words still to extract.
  bit<4>      ipv4_option_words_left;
  // ingress.router_mac: this port's MAC, valid when the table hits.
  mac_addr_t  router_mac;
  // ingress.ipv4_lpm: the next hop to resolve in ingress.arp, valid when
  // nhop_valid.
  bool        nhop_valid;
  ipv4_addr_t nhop_ip;
  // Set by the ingress rewrite: egress writes the port's source MAC.
  bool        routed;
}

#endif  // TWINROUTER_HEADERS_P4_
