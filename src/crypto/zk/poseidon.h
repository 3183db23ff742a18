#pragma once

// Poseidon over the BN254 scalar field with circomlib's parameters: x^5 S-box, 8 full rounds,
// partial rounds by width (circomlib's table), initial state 0, output state[0]. Round constants
// and the MDS matrix are generated at first use by the reference procedure (the Grain LFSR of
// the Poseidon paper's generate_parameters_grain.sage: field 1, S-box 0, 254 bits, width t;
// constants by rejection sampling, the MDS matrix the Cauchy matrix 1/(x_i + y_j) of the next
// 2t samples); the tests compare them with circomlibjs's tables.
//
// Inputs are public (signature hashes), though the arithmetic is the constant-time field code.
// Thread safety: thread-safe (constants generated once under std::call_once).

#include <optional>
#include <span>
#include <vector>

#include "crypto/zk/field.h"

namespace sirr::crypto::zk {

// The BN254 scalar field (Baby Jubjub's base field).
const Modulus& Fp();

inline constexpr size_t kPoseidonMaxInputs = 16;

// Poseidon of 1..16 field elements (plain, each < p); nullopt for another count or an
// element >= p.
std::optional<U256> Poseidon(std::span<const U256> inputs);

// The generated parameters for width t = inputs + 1 (plain representatives), for tests.
struct PoseidonParams {
  int full_rounds;
  int partial_rounds;
  std::vector<U256> round_constants;   // (full + partial) * t
  std::vector<std::vector<U256>> mds;  // t x t
};
PoseidonParams PoseidonParamsForTest(size_t inputs);

}  // namespace sirr::crypto::zk
