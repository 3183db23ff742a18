#include "crypto/secp256k1.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <cstdlib>
#include <cstring>

#include "crypto/crypto.h"

namespace sirr::crypto::secp256k1 {
namespace {

// One context for the process, randomised once for side-channel blinding of signing.
const secp256k1_context* Context() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!c) std::abort();
    SecretBytes seed = SecureRandom::Get().RandomSecret(32);
    if (!secp256k1_context_randomize(c, seed.reveal().data())) std::abort();
    return c;
  }();
  return ctx;
}

bool ParsePublic(std::span<const uint8_t> bytes, secp256k1_pubkey* out) {
  if (bytes.size() != 33 && bytes.size() != 65) return false;
  return secp256k1_ec_pubkey_parse(Context(), out, bytes.data(), bytes.size()) == 1;
}

Bytes Serialize(const secp256k1_pubkey& key, bool compressed) {
  Bytes out(compressed ? 33 : 65);
  size_t len = out.size();
  secp256k1_ec_pubkey_serialize(Context(), out.data(), &len, &key,
                                compressed ? SECP256K1_EC_COMPRESSED : SECP256K1_EC_UNCOMPRESSED);
  return out;
}

Bytes SerializeUncompressed(const secp256k1_pubkey& key) { return Serialize(key, false); }

StatusOr<Bytes> PublicKeyOf(const SecretBytes& key, bool compressed) {
  SIRR_RETURN_IF_ERROR(CheckPrivateKey(key));
  secp256k1_pubkey pub;
  if (secp256k1_ec_pubkey_create(Context(), &pub, key.reveal().data()) != 1)
    return InternalError("secp256k1 public key derivation failed");
  return Serialize(pub, compressed);
}

}  // namespace

Status CheckPrivateKey(const SecretBytes& key) {
  if (key.size() != 32 || secp256k1_ec_seckey_verify(Context(), key.reveal().data()) != 1)
    return InvalidArgumentError("not a valid secp256k1 private key");
  return OkStatus();
}

SecretBytes GeneratePrivateKey(Random& random) {
  while (true) {
    SecretBytes key = random.RandomSecret(32);
    if (CheckPrivateKey(key).ok()) return key;
  }
}

StatusOr<Bytes> CompressedPublicKey(const SecretBytes& key) { return PublicKeyOf(key, true); }

StatusOr<Bytes> ConvertPublicKey(std::span<const uint8_t> public_key, bool compressed) {
  secp256k1_pubkey pub;
  if (!ParsePublic(public_key, &pub)) return InvalidArgumentError("not a secp256k1 public key");
  return Serialize(pub, compressed);
}

StatusOr<SecretBytes> AddPrivate(const SecretBytes& key, std::span<const uint8_t, 32> tweak) {
  SIRR_RETURN_IF_ERROR(CheckPrivateKey(key));
  SecretBytes out = key.Clone();
  if (secp256k1_ec_seckey_tweak_add(Context(), out.reveal_mut().data(), tweak.data()) != 1)
    return InvalidArgumentError("tweak out of range or zero result");
  return out;
}

StatusOr<Bytes> AddPublic(std::span<const uint8_t> public_key, std::span<const uint8_t, 32> tweak) {
  secp256k1_pubkey pub;
  if (!ParsePublic(public_key, &pub)) return InvalidArgumentError("not a secp256k1 public key");
  if (secp256k1_ec_pubkey_tweak_add(Context(), &pub, tweak.data()) != 1)
    return InvalidArgumentError("tweak out of range or point at infinity");
  return Serialize(pub, true);
}

StatusOr<Bytes> PublicKey(const SecretBytes& key) { return PublicKeyOf(key, false); }

StatusOr<Bytes> Sign(const SecretBytes& key, std::span<const uint8_t> digest) {
  if (digest.size() != kDigestSize)
    return InvalidArgumentError("secp256k1 signs a 32-byte digest; the message is " +
                                std::to_string(digest.size()) + " bytes");
  SIRR_RETURN_IF_ERROR(CheckPrivateKey(key));
  secp256k1_ecdsa_recoverable_signature sig;
  // A null nonce function is secp256k1_nonce_function_rfc6979; signing always yields low-S.
  if (secp256k1_ecdsa_sign_recoverable(Context(), &sig, digest.data(), key.reveal().data(), nullptr,
                                       nullptr) != 1)
    return InternalError("secp256k1 signing failed");
  Bytes out(65);
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(Context(), out.data(), &recid, &sig);
  out[64] = static_cast<uint8_t>(recid);
  return out;
}

bool Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> digest,
            std::span<const uint8_t> signature) {
  if (digest.size() != kDigestSize) return false;
  secp256k1_pubkey expected;
  if (!ParsePublic(public_key, &expected)) return false;
  const secp256k1_context* ctx = Context();
  if (signature.size() == 65) {
    int v = signature[64];
    if (v == 27 || v == 28) v -= 27;
    if (v < 0 || v > 3) return false;
    secp256k1_ecdsa_recoverable_signature rsig;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, signature.data(), v) != 1)
      return false;
    secp256k1_pubkey recovered;
    if (secp256k1_ecdsa_recover(ctx, &recovered, &rsig, digest.data()) != 1) return false;
    return SerializeUncompressed(recovered) == SerializeUncompressed(expected);
  }
  if (signature.size() != 64) return false;
  secp256k1_ecdsa_signature sig;
  if (secp256k1_ecdsa_signature_parse_compact(ctx, &sig, signature.data()) != 1) return false;
  secp256k1_ecdsa_signature_normalize(ctx, &sig, &sig);
  return secp256k1_ecdsa_verify(ctx, &sig, digest.data(), &expected) == 1;
}

}  // namespace sirr::crypto::secp256k1
