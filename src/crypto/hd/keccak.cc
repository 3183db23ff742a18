#include "crypto/hd/keccak.h"

#include <cstring>

namespace sirr::crypto::hd {
namespace {

constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// Rotation offsets r[x + 5y] (Keccak reference, rho step).
constexpr int kRho[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                          25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

inline uint64_t Rotl(uint64_t v, int n) { return n == 0 ? v : (v << n) | (v >> (64 - n)); }

void KeccakF1600(uint64_t a[25]) {
  for (int round = 0; round < 24; ++round) {
    // theta
    uint64_t c[5], d[5];
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; ++x) d[x] = c[(x + 4) % 5] ^ Rotl(c[(x + 1) % 5], 1);
    for (int i = 0; i < 25; ++i) a[i] ^= d[i % 5];
    // rho and pi: B[y, 2x + 3y] = rot(A[x, y], r[x, y])
    uint64_t b[25];
    for (int x = 0; x < 5; ++x)
      for (int y = 0; y < 5; ++y)
        b[y + 5 * ((2 * x + 3 * y) % 5)] = Rotl(a[x + 5 * y], kRho[x + 5 * y]);
    // chi
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 5; ++x)
        a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
    // iota
    a[0] ^= kRoundConstants[round];
  }
}

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::array<uint8_t, 32> Keccak256(std::span<const uint8_t> data) {
  constexpr size_t kRate = 136;  // 1600 - 2 * 256 bits
  uint64_t state[25] = {0};
  size_t off = 0;
  while (data.size() - off >= kRate) {
    for (size_t i = 0; i < kRate / 8; ++i) state[i] ^= LoadLe64(data.data() + off + 8 * i);
    KeccakF1600(state);
    off += kRate;
  }
  uint8_t block[kRate] = {0};
  std::memcpy(block, data.data() + off, data.size() - off);
  block[data.size() - off] ^= 0x01;
  block[kRate - 1] ^= 0x80;
  for (size_t i = 0; i < kRate / 8; ++i) state[i] ^= LoadLe64(block + 8 * i);
  KeccakF1600(state);
  std::array<uint8_t, 32> out;
  for (size_t i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(state[i / 8] >> (8 * (i % 8)));
  return out;
}

std::string Eip55(std::span<const uint8_t, 20> address) {
  static const char kHex[] = "0123456789abcdef";
  std::string lower;
  for (uint8_t b : address) {
    lower += kHex[b >> 4];
    lower += kHex[b & 15];
  }
  auto hash = Keccak256(std::span(reinterpret_cast<const uint8_t*>(lower.data()), lower.size()));
  std::string out = "0x";
  for (size_t i = 0; i < lower.size(); ++i) {
    const int nibble = (i % 2 == 0) ? hash[i / 2] >> 4 : hash[i / 2] & 15;
    char c = lower[i];
    out += (c >= 'a' && nibble >= 8) ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

StatusOr<std::string> EthereumAddress(std::span<const uint8_t> pub) {
  if (pub.size() != 65 || pub[0] != 0x04)
    return InvalidArgumentError("an Ethereum address needs an uncompressed secp256k1 public key");
  auto hash = Keccak256(pub.subspan(1));
  return Eip55(std::span<const uint8_t, 20>(hash.data() + 12, 20));
}

}  // namespace sirr::crypto::hd
