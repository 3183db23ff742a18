#pragma once

// Injectable randomness. Production uses crypto::SecureRandom (OpenSSL's CSPRNG);
// tests may use a deterministic source. Thread safety: production implementations are
// thread-safe.

#include <cstdint>
#include <mutex>
#include <span>
#include <string>

#include "base/secret_bytes.h"

namespace sirr {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes. A CSPRNG failure is an impossible environment failure
  // and aborts the process rather than returning weak bytes.
  virtual void Fill(std::span<uint8_t> out) = 0;

  Bytes RandomBytes(size_t n) {
    Bytes b(n);
    Fill(b);
    return b;
  }
  SecretBytes RandomSecret(size_t n) {
    SecretBytes s(n);
    Fill(s.reveal_mut());
    return s;
  }
  // A random (version 4) UUID in its canonical text form.
  std::string Uuid();
};

// Deterministic generator for tests only (xorshift; NOT cryptographic). Thread-safe, so tests
// with concurrent callers can use it; the sequence each caller sees then depends on scheduling.
class DeterministicRandom final : public Random {
 public:
  explicit DeterministicRandom(uint64_t seed = 1) : state_(seed ? seed : 1) {}
  void Fill(std::span<uint8_t> out) override;

 private:
  std::mutex mu_;
  uint64_t state_;  // guarded by mu_
};

}  // namespace sirr
