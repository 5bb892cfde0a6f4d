// Parser and deparser.
//
// The parser only extracts; every decision is made in ingress, in the
// contract's order. A frame too short for a header the parser needs ends
// parsing with standard_metadata.parser_error = error.PacketTooShort;
// v1model does not drop it, ingress runs and drops it as TRUNCATED.
//
//   CPU port:    packet_out, then the frame is opaque payload.
//   front ports: ethernet, then arp (any ARP, 28 bytes) or ipv4 with
//                4 * (IHL - 5) bytes of options when IHL > 5. IHL < 5 is
//                malformed, not short: only the 20 fixed bytes are needed,
//                and ingress drops the frame as IPV4_IHL.

#ifndef TWINROUTER_PARSER_P4_
#define TWINROUTER_PARSER_P4_

#include <core.p4>
#include <v1model.p4>
#include "headers.p4"

parser packet_parser(packet_in packet,
                     out headers_t hdr,
                     inout metadata_t meta,
                     inout standard_metadata_t standard_metadata) {
  state start {
    transition select(standard_metadata.ingress_port) {
      CPU_PORT: parse_packet_out;
      default: parse_ethernet;
    }
  }

  state parse_packet_out {
    packet.extract(hdr.packet_out);
    transition accept;
  }

  state parse_ethernet {
    packet.extract(hdr.ethernet);
    transition select(hdr.ethernet.ether_type) {
      ETHERTYPE_ARP: parse_arp;
      ETHERTYPE_IPV4: parse_ipv4;
      default: accept;
    }
  }

  state parse_arp {
    packet.extract(hdr.arp);
    transition accept;
  }

  state parse_ipv4 {
    packet.extract(hdr.ipv4);
    meta.ipv4_option_words_left = hdr.ipv4.ihl - 5;
    transition select(hdr.ipv4.ihl) {
      0 .. 5: accept;
      default: parse_ipv4_option_word;
    }
  }

  state parse_ipv4_option_word {
    packet.extract(hdr.ipv4_options.next);
    meta.ipv4_option_words_left = meta.ipv4_option_words_left - 1;
    transition select(meta.ipv4_option_words_left) {
      0: accept;
      default: parse_ipv4_option_word;
    }
  }
}

// Emits what the parser extracted, in wire order, behind a packet_in header
// when ingress punts. packet_out is never emitted: the controller's frame
// leaves without it.
control packet_deparser(packet_out packet, in headers_t hdr) {
  apply {
    packet.emit(hdr.packet_in);
    packet.emit(hdr.ethernet);
    packet.emit(hdr.arp);
    packet.emit(hdr.ipv4);
    packet.emit(hdr.ipv4_options);
  }
}

#endif  // TWINROUTER_PARSER_P4_
