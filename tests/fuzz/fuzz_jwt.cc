// Fuzz target: JWT bearer parsing (api/jwt) and PEM public-key bundles (crypto/public_key).
// The first byte picks the parser: 0 the PEM bundle, 1 the claims (as if the signature had
// passed), anything else a whole token against a fixed Ed25519 + P-256 key bundle.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/jwt.h"
#include "crypto/public_key.h"

namespace {

constexpr char kKeys[] =
    "# kid: ed\n"
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEANAJc71bzu/lROkDorkRbkLTPWjToIvJR72uFKAK0MxU=\n"
    "-----END PUBLIC KEY-----\n"
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE68SbT4BFZjJ4hlGeWZBw+zBe51M4\n"
    "vxomI88XafHJz4seiMcZcauGn4VF9v/owdk8kqeQpkDdYprdTYbNAFi7dw==\n"
    "-----END PUBLIC KEY-----\n";

const sirr::api::JwtVerifier& Verifier() {
  static sirr::FakeClock clock(1'750'000'000'000);
  static auto* verifier = [] {
    auto keys = sirr::crypto::PublicKey::ParsePem(kKeys);
    if (!keys.ok() || keys->size() != 2) std::abort();  // the fixed bundle must parse
    return new sirr::api::JwtVerifier(std::move(keys).value(), sirr::api::JwtOptions{}, clock);
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0]) {
    case 0:
      (void)sirr::crypto::PublicKey::ParsePem(input);
      break;
    case 1:
      (void)Verifier().CheckClaims(input);
      break;
    default:
      (void)sirr::api::LooksLikeJwt(input);
      (void)Verifier().Verify(input);
      break;
  }
  return 0;
}
