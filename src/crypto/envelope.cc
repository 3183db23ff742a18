#include "crypto/envelope.h"

#include <algorithm>

#include "base/encoding.h"
#include "crypto/crypto.h"

namespace sirr::crypto {

KeyId DeriveKeyId(const SecretBytes& key) {
  auto derived = HkdfSha256(key, {}, "sirr/v1/key-id", kKeyIdSize);
  KeyId id{};
  if (derived.ok()) std::copy_n(derived->reveal().begin(), kKeyIdSize, id.begin());
  return id;
}

std::string KeyIdHex(const KeyId& id) { return HexEncode(id); }

std::string EnvelopeAad(std::string_view kind, std::string_view vault_id,
                        std::string_view record_id) {
  std::string aad = "sirr/v1/";
  aad.append(kind).append("/").append(vault_id).append("/").append(record_id);
  return aad;
}

StatusOr<Bytes> SealEnvelope(const SecretBytes& key, const KeyId& key_id,
                             std::span<const uint8_t> plaintext, std::string_view aad,
                             Random& random) {
  uint8_t nonce[kGcmNonceSize];
  random.Fill(nonce);
  SIRR_ASSIGN_OR_RETURN(Bytes ct, Aes256GcmEncrypt(key, nonce, plaintext, AsBytes(aad)));
  Bytes out;
  out.reserve(1 + kKeyIdSize + kGcmNonceSize + ct.size());
  out.push_back(kEnvelopeVersion1);
  out.insert(out.end(), key_id.begin(), key_id.end());
  out.insert(out.end(), nonce, nonce + kGcmNonceSize);
  out.insert(out.end(), ct.begin(), ct.end());
  return out;
}

StatusOr<KeyId> EnvelopeKeyId(std::span<const uint8_t> envelope) {
  if (envelope.size() < kEnvelopeOverhead) return DataLossError("envelope too short");
  if (envelope[0] != kEnvelopeVersion1) return DataLossError("unknown envelope version");
  KeyId id;
  std::copy_n(envelope.begin() + 1, kKeyIdSize, id.begin());
  return id;
}

StatusOr<SecretBytes> OpenEnvelope(const SecretBytes& key, const KeyId& key_id,
                                   std::span<const uint8_t> envelope, std::string_view aad) {
  SIRR_ASSIGN_OR_RETURN(KeyId id, EnvelopeKeyId(envelope));
  if (id != key_id) {
    return FailedPreconditionError("envelope sealed by key " + KeyIdHex(id) + ", not " +
                                   KeyIdHex(key_id));
  }
  auto nonce = envelope.subspan(1 + kKeyIdSize, kGcmNonceSize);
  auto body = envelope.subspan(1 + kKeyIdSize + kGcmNonceSize);
  return Aes256GcmDecrypt(key, nonce, body, AsBytes(aad));
}

}  // namespace sirr::crypto
