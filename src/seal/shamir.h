#pragma once

// Shamir's secret sharing of a 32-byte master key, share-compatible with Debian's `ssss`
// (ssss-split / ssss-combine 0.5 in hex mode, security level 256, diffusion on):
//   field      GF(2^256) modulo x^256 + x^10 + x^5 + x^2 + 1; a 256-bit value is the
//              big-endian number the key's hex spells.
//   diffusion  before sharing, the key passes through ssss's keyless XTEA permutation
//              (640 XTEA encryptions, 32 cycles, zero key, over 8-byte windows at even offsets
//              of the key laid out as 16-bit words, least significant word first, big-endian
//              within a word); combining undoes it.
//   polynomial MONIC of degree t: f(x) = x^t + c_{t-1} x^{t-1} + ... + c_1 x + c_0, with c_0 the
//              diffused key and c_1..c_{t-1} random; share i is f(i), i = 1..n.
//   text       "<i>-<64 hex digits>", i zero-padded to the width of n; "<token>-<i>-<hex>"
//              is accepted on input, hex in either case.
// Arithmetic on shares and the key is constant time: carry-less products by masked shifts, no
// log/exp tables; XTEA is add-rotate-xor. Only share indices (public) are inverted.
//
// Thread safety: stateless functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::seal {

inline constexpr int kShamirMaxShares = 255;

struct Share {
  int index = 0;      // 1..255
  SecretBytes value;  // 32 bytes, big-endian
};

// n shares of `key` (32 bytes), any `threshold` of which recover it. 2 <= threshold <= n <= 255.
StatusOr<std::vector<Share>> ShamirSplit(const SecretBytes& key, int threshold, int count,
                                         Random& random);

// The text of a share as ssss prints it for `count` shares.
SecretBytes FormatShare(const Share& share, int count);

// One share line. InvalidArgument naming the problem (never the share's digits).
StatusOr<Share> ParseShare(std::string_view line);

// The key from at least `threshold` shares. More than `threshold` shares are checked against
// each other (inconsistent → InvalidArgument). Fewer, duplicates, index 0 or a size other than
// 256 bits → InvalidArgument.
StatusOr<SecretBytes> ShamirCombine(const std::vector<Share>& shares, int threshold);

}  // namespace sirr::seal
