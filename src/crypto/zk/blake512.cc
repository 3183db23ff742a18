#include "crypto/zk/blake512.h"

#include <cstring>

#include "base/secret_bytes.h"

namespace sirr::crypto::zk {
namespace {

// The SHA-512 initial value (BLAKE-512 reuses it).
constexpr uint64_t kIv[8] = {0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B,
                             0xA54FF53A5F1D36F1, 0x510E527FADE682D1, 0x9B05688C2B3E6C1F,
                             0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179};
// The first digits of pi.
constexpr uint64_t kC[16] = {
    0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89,
    0x452821E638D01377, 0xBE5466CF34E90C6C, 0xC0AC29B7C97C50DD, 0x3F84D5B5B5470917,
    0x9216D5D98979FB1B, 0xD1310BA698DFB5AC, 0x2FFD72DBD01ADFB7, 0xB8E1AFED6A267E96,
    0xBA7C9045F12C7F99, 0x24A19947B3916CF7, 0x0801F2E2858EFC16, 0x636920D871574E69};
constexpr uint8_t kSigma[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};
constexpr size_t kBlock = 128;

inline uint64_t Rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

inline uint64_t LoadBe(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

class State {
 public:
  State() { std::memcpy(h_, kIv, sizeof(h_)); }
  ~State() {
    SecureWipe(h_, sizeof(h_));
    SecureWipe(buf_, sizeof(buf_));
  }

  void Update(std::span<const uint8_t> data) {
    for (uint8_t byte : data) {
      if (used_ == kBlock) {
        // A full block is compressed only once more data follows, so the last block (which
        // may need the final counter rules) is always compressed by Final.
        bits_ += kBlock * 8;
        Compress(buf_, bits_);
        used_ = 0;
      }
      buf_[used_++] = byte;
    }
  }

  std::array<uint8_t, 64> Final() {
    // Padding: a 1 bit, zeros, a 1 bit at bit 895 of the last block, the 128-bit length.
    const unsigned __int128 total = static_cast<unsigned __int128>(bits_) + used_ * 8;
    uint8_t pad[2 * kBlock] = {};
    std::memcpy(pad, buf_, used_);
    pad[used_] = 0x80;
    const size_t blocks = used_ <= kBlock - 17 ? 1 : 2;
    uint8_t* last = pad + (blocks - 1) * kBlock;
    last[111] |= 0x01;
    for (int i = 0; i < 16; ++i) last[112 + i] = static_cast<uint8_t>(total >> (8 * (15 - i)));
    // The counter is the number of message bits up to and including each block; a block that
    // holds only padding is compressed with a zero counter.
    if (blocks == 1) {
      Compress(pad, total);  // also right for the empty message (counter 0)
    } else {
      Compress(pad, total);
      Compress(pad + kBlock, 0);
    }
    SecureWipe(pad, sizeof(pad));
    std::array<uint8_t, 64> out;
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) out[8 * i + j] = static_cast<uint8_t>(h_[i] >> (56 - 8 * j));
    return out;
  }

 private:
  void Compress(const uint8_t* block, unsigned __int128 counter) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; ++i) m[i] = LoadBe(block + 8 * i);
    const uint64_t t0 = static_cast<uint64_t>(counter);
    const uint64_t t1 = static_cast<uint64_t>(counter >> 64);
    for (int i = 0; i < 8; ++i) v[i] = h_[i];
    for (int i = 0; i < 4; ++i) v[8 + i] = kC[i];  // salt is zero
    v[12] = t0 ^ kC[4];
    v[13] = t0 ^ kC[5];
    v[14] = t1 ^ kC[6];
    v[15] = t1 ^ kC[7];
    auto g = [&](const uint8_t* s, int a, int b, int c, int d, int i) {
      v[a] += v[b] + (m[s[2 * i]] ^ kC[s[2 * i + 1]]);
      v[d] = Rotr(v[d] ^ v[a], 32);
      v[c] += v[d];
      v[b] = Rotr(v[b] ^ v[c], 25);
      v[a] += v[b] + (m[s[2 * i + 1]] ^ kC[s[2 * i]]);
      v[d] = Rotr(v[d] ^ v[a], 16);
      v[c] += v[d];
      v[b] = Rotr(v[b] ^ v[c], 11);
    };
    for (int r = 0; r < 16; ++r) {
      const uint8_t* s = kSigma[r % 10];
      g(s, 0, 4, 8, 12, 0);
      g(s, 1, 5, 9, 13, 1);
      g(s, 2, 6, 10, 14, 2);
      g(s, 3, 7, 11, 15, 3);
      g(s, 0, 5, 10, 15, 4);
      g(s, 1, 6, 11, 12, 5);
      g(s, 2, 7, 8, 13, 6);
      g(s, 3, 4, 9, 14, 7);
    }
    for (int i = 0; i < 8; ++i) h_[i] ^= v[i] ^ v[i + 8];  // salt is zero
    SecureWipe(m, sizeof(m));
    SecureWipe(v, sizeof(v));
  }

  uint64_t h_[8];
  uint8_t buf_[kBlock] = {};
  size_t used_ = 0;
  uint64_t bits_ = 0;  // message bits in the blocks compressed so far
};

}  // namespace

std::array<uint8_t, 64> Blake512(std::span<const std::span<const uint8_t>> parts) {
  State state;
  for (auto part : parts) state.Update(part);
  return state.Final();
}

}  // namespace sirr::crypto::zk
