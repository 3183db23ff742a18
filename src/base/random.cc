#include "base/random.h"

#include "base/encoding.h"

namespace sirr {

std::string Random::Uuid() {
  uint8_t b[16];
  Fill(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

void DeterministicRandom::Fill(std::span<uint8_t> out) {
  std::lock_guard lock(mu_);
  for (auto& byte : out) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    byte = static_cast<uint8_t>(state_ >> 24);
  }
}

}  // namespace sirr
