// Fuzz target: opening envelope v1 blobs (crypto/envelope): never crashes, never "decrypts"
// something that was not sealed by the key.
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sirr::SecretBytes key(std::vector<uint8_t>(32, 0x42));
  static const sirr::crypto::KeyId id = sirr::crypto::DeriveKeyId(key);
  std::span<const uint8_t> blob(data, size);
  (void)sirr::crypto::EnvelopeKeyId(blob);
  auto opened = sirr::crypto::OpenEnvelope(key, id, blob, "sirr/v1/secret/v/r");
  if (opened.ok()) __builtin_trap();  // forging a GCM tag by chance: practically impossible
  return 0;
}
