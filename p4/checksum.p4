// Internet checksum arithmetic (RFC 1071, RFC 1624) in plain P4 arithmetic,
// so that verification and update are exactly sim/model/checksum.py, whatever
// a target's checksum externs do with zero or with invalid headers.

#ifndef TWINROUTER_CHECKSUM_P4_
#define TWINROUTER_CHECKSUM_P4_

#include "headers.p4"

// Folds a 32-bit sum of 16-bit words into 16 bits with end-around carry:
// the one's complement sum of those words. Two folds suffice for any sum.
bit<16> ones_complement_fold(in bit<32> sum) {
  bit<32> once = (sum & 0xFFFF) + (sum >> 16);
  bit<32> twice = (once & 0xFFFF) + (once >> 16);
  return twice[15:0];
}

// The two 16-bit words of a 32-bit value, summed (not yet folded).
bit<32> word_pair_sum(in bit<32> value) {
  return (bit<32>)value[31:16] + (bit<32>)value[15:0];
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), one 16-bit word changing from m
// to m'.
bit<16> checksum_incremental_update(in bit<16> checksum,
                                             in bit<16> old_word,
                                             in bit<16> new_word) {
  bit<32> sum = (bit<32>)(~checksum) + (bit<32>)(~old_word) + (bit<32>)new_word;
  return ~ones_complement_fold(sum);
}

// RFC 1071 verification of an IPv4 header, options included: the one's
// complement sum over every 16-bit word, checksum field included, must be
// 0xFFFF. This accepts both representations of zero in the checksum field
// (0x0000 and 0xFFFF), as Linux does. Only valid option words are summed:
// an invalid header's fields hold no defined value.
control ipv4_checksum_verify(in headers_t hdr, out bool valid) {
  apply {
    bit<32> sum = (bit<32>)(hdr.ipv4.version ++ hdr.ipv4.ihl ++ hdr.ipv4.diffserv)
                + (bit<32>)hdr.ipv4.total_len
                + (bit<32>)hdr.ipv4.identification
                + (bit<32>)(hdr.ipv4.flags ++ hdr.ipv4.frag_offset)
                + (bit<32>)(hdr.ipv4.ttl ++ hdr.ipv4.protocol)
                + (bit<32>)hdr.ipv4.hdr_checksum
                + word_pair_sum(hdr.ipv4.src_addr)
                + word_pair_sum(hdr.ipv4.dst_addr);
    if (hdr.ipv4_options[0].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[0].word); }
    if (hdr.ipv4_options[1].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[1].word); }
    if (hdr.ipv4_options[2].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[2].word); }
    if (hdr.ipv4_options[3].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[3].word); }
    if (hdr.ipv4_options[4].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[4].word); }
    if (hdr.ipv4_options[5].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[5].word); }
    if (hdr.ipv4_options[6].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[6].word); }
    if (hdr.ipv4_options[7].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[7].word); }
    if (hdr.ipv4_options[8].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[8].word); }
    if (hdr.ipv4_options[9].isValid()) { sum = sum + word_pair_sum(hdr.ipv4_options[9].word); }
    valid = ones_complement_fold(sum) == 0xFFFF;
  }
}

#endif  // TWINROUTER_CHECKSUM_P4_
