// Fuzz target: the age readers (src/crypto/age): armor, header, stanzas, STREAM payload, the
// identity and recipients files, and share links. Input: a file's bytes. Seeds are C2SP CCTV
// vectors (corpus/age); the identity and passphrase are theirs, so mutations reach the payload.
// Invariant: every refusal carries one of age's error classes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/age/age.h"
#include "crypto/share_link.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace age = sirr::crypto::age;
  static const age::Identities ids = [] {
    age::Identities i;
    i.x25519.push_back(std::move(*age::ParseIdentity(
        "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0")));
    i.passphrase = sirr::SecretBytes::FromString("password");
    i.max_scrypt_log_n = 10;  // the vectors' work factor; more would only be slow
    return i;
  }();
  std::span<const uint8_t> file(data, size);
  size_t out = 0;
  sirr::Status st =
      age::Decrypt(file, ids, [&out](std::span<const uint8_t> b) { out += b.size(); });
  if (!st.ok() && age::ErrorClassOf(st) == age::ErrorClass::kOther) __builtin_trap();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)age::ParseIdentityFile(text);
  (void)age::ParseRecipientsFile(text);
  (void)sirr::crypto::share::ParseLink(text);
  return 0;
}
