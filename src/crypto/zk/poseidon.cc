#include "crypto/zk/poseidon.h"

#include <array>
#include <mutex>

namespace sirr::crypto::zk {
namespace {

constexpr int kFullRounds = 8;
// circomlib's partial round counts for t = 2..17 (the paper's table, rounded up).
constexpr int kPartialRounds[kPoseidonMaxInputs] = {56, 57, 56, 60, 60, 63, 64, 63,
                                                    60, 66, 60, 65, 70, 60, 64, 68};
constexpr int kFieldBits = 254;

// The Grain LFSR self-shrinking generator seeded with the parameters.
class Grain {
 public:
  Grain(int t, int full_rounds, int partial_rounds) {
    int n = 0;
    auto put = [&](uint64_t value, int bits) {
      for (int i = bits - 1; i >= 0; --i) state_[n++] = (value >> i) & 1;
    };
    put(1, 2);  // prime field
    put(0, 4);  // S-box x^alpha
    put(kFieldBits, 12);
    put(static_cast<uint64_t>(t), 12);
    put(static_cast<uint64_t>(full_rounds), 10);
    put(static_cast<uint64_t>(partial_rounds), 10);
    put((1u << 30) - 1, 30);
    for (int i = 0; i < 160; ++i) Step();
  }

  // The next 254-bit sample, most significant bit first.
  U256 Sample() {
    U256 v{};
    for (int i = kFieldBits - 1; i >= 0; --i)
      v[i / 64] |= static_cast<uint64_t>(NextBit()) << (i % 64);
    return v;
  }

 private:
  uint8_t Step() {
    const uint8_t bit = state_[(head_ + 62) % 80] ^ state_[(head_ + 51) % 80] ^
                        state_[(head_ + 38) % 80] ^ state_[(head_ + 23) % 80] ^
                        state_[(head_ + 13) % 80] ^ state_[head_];
    state_[head_] = bit;  // the oldest bit leaves, the new one enters at the end
    head_ = (head_ + 1) % 80;
    return bit;
  }
  // Bits come in pairs: a first bit 1 emits the second, 0 discards it.
  uint8_t NextBit() {
    for (;;) {
      const uint8_t first = Step();
      const uint8_t second = Step();
      if (first == 1) return second;
    }
  }

  std::array<uint8_t, 80> state_{};
  int head_ = 0;
};

struct Constants {
  int partial_rounds = 0;
  std::vector<U256> c;  // Montgomery form
  std::vector<U256> m;  // t*t, row-major, Montgomery form
};

Constants Generate(size_t t) {
  const Modulus& f = Fp();
  const int partial = kPartialRounds[t - 2];
  Grain grain(static_cast<int>(t), kFullRounds, partial);
  Constants k;
  k.partial_rounds = partial;
  const size_t count = static_cast<size_t>(kFullRounds + partial) * t;
  for (size_t i = 0; i < count; ++i) {
    U256 v = grain.Sample();
    while (Compare(v, f.m()) >= 0) v = grain.Sample();
    k.c.push_back(f.ToMont(v));
  }
  // Cauchy MDS from 2t distinct samples (reduced mod p), resampled while any x_i + y_j is 0.
  for (;;) {
    std::vector<U256> xy;
    for (;;) {
      xy.clear();
      for (size_t i = 0; i < 2 * t; ++i) xy.push_back(f.Reduce(grain.Sample()));
      bool distinct = true;
      for (size_t i = 0; i < xy.size(); ++i)
        for (size_t j = i + 1; j < xy.size(); ++j) distinct = distinct && !Equal(xy[i], xy[j]);
      if (distinct) break;
    }
    bool ok = true;
    k.m.clear();
    for (size_t i = 0; i < t && ok; ++i) {
      for (size_t j = 0; j < t && ok; ++j) {
        const U256 sum = f.Add(xy[i], xy[t + j]);
        ok = !IsZero(sum);
        k.m.push_back(f.Inverse(f.ToMont(sum)));  // 1/(x_i + y_j), Montgomery form
      }
    }
    if (!ok) continue;
    return k;
  }
}

const Constants& ConstantsFor(size_t t) {
  static std::once_flag once[kPoseidonMaxInputs];
  static Constants constants[kPoseidonMaxInputs];
  std::call_once(once[t - 2], [t] { constants[t - 2] = Generate(t); });
  return constants[t - 2];
}

}  // namespace

const Modulus& Fp() {
  static const Modulus p(
      U256{0x43e1f593f0000001, 0x2833e84879b97091, 0xb85045b68181585d, 0x30644e72e131a029});
  return p;
}

std::optional<U256> Poseidon(std::span<const U256> inputs) {
  if (inputs.empty() || inputs.size() > kPoseidonMaxInputs) return std::nullopt;
  const Modulus& f = Fp();
  const size_t t = inputs.size() + 1;
  const Constants& k = ConstantsFor(t);
  std::array<U256, kPoseidonMaxInputs + 1> state{}, next{};
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (Compare(inputs[i], f.m()) >= 0) return std::nullopt;
    state[i + 1] = f.ToMont(inputs[i]);
  }
  auto pow5 = [&f](const U256& a) { return f.Mul(a, f.Square(f.Square(a))); };
  const int rounds = kFullRounds + k.partial_rounds;
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < t; ++i) state[i] = f.Add(state[i], k.c[r * t + i]);
    const bool full = r < kFullRounds / 2 || r >= kFullRounds / 2 + k.partial_rounds;
    if (full) {
      for (size_t i = 0; i < t; ++i) state[i] = pow5(state[i]);
    } else {
      state[0] = pow5(state[0]);
    }
    for (size_t i = 0; i < t; ++i) {
      U256 acc{};
      for (size_t j = 0; j < t; ++j) acc = f.Add(acc, f.Mul(k.m[i * t + j], state[j]));
      next[i] = acc;
    }
    state = next;
  }
  return f.FromMont(state[0]);
}

PoseidonParams PoseidonParamsForTest(size_t inputs) {
  const size_t t = inputs + 1;
  const Constants& k = ConstantsFor(t);
  const Modulus& f = Fp();
  PoseidonParams p{kFullRounds, k.partial_rounds, {}, {}};
  for (const U256& c : k.c) p.round_constants.push_back(f.FromMont(c));
  p.mds.assign(t, std::vector<U256>(t));
  for (size_t i = 0; i < t; ++i)
    for (size_t j = 0; j < t; ++j) p.mds[i][j] = f.FromMont(k.m[i * t + j]);
  return p;
}

}  // namespace sirr::crypto::zk
