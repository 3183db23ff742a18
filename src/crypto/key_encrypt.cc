// Encryption with keys: AEAD (AES-256-GCM, ChaCha20-Poly1305), RSA-OAEP, X25519 agreement
// (key_ops.h).

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <algorithm>
#include <array>

#include "crypto/crypto.h"
#include "crypto/key_ops.h"
#include "crypto/key_ops_internal.h"

namespace sirr::crypto {

using internal::EnsureSodium;
using internal::LoadPrivate;
using internal::OpenSslError;
using internal::Pkey;
using internal::PkeyCtx;
using internal::RsaBits;

// ------------------------------------------------------------------------------------ AEAD

StatusOr<Bytes> AeadEncrypt(KeySpec spec, const SecretBytes& key,
                            std::optional<std::span<const uint8_t>> nonce,
                            std::span<const uint8_t> plaintext, std::span<const uint8_t> aad,
                            Random& random) {
  if (!IsSymmetric(spec)) return InvalidArgumentError("not a symmetric key");
  if (key.size() != 32) return InternalError("symmetric key has the wrong size");
  std::array<uint8_t, kAeadNonceSize> n;
  if (nonce) {
    if (nonce->size() != kAeadNonceSize)
      return InvalidArgumentError("nonce must be exactly 12 bytes");
    std::copy(nonce->begin(), nonce->end(), n.begin());
  } else {
    random.Fill(n);
  }
  Bytes out(n.begin(), n.end());
  if (spec == KeySpec::kAes256Gcm) {
    SIRR_ASSIGN_OR_RETURN(Bytes ct, Aes256GcmEncrypt(key, n, plaintext, aad));
    out.insert(out.end(), ct.begin(), ct.end());
    return out;
  }
  EnsureSodium();
  out.resize(kAeadNonceSize + plaintext.size() + crypto_aead_chacha20poly1305_ietf_ABYTES);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + kAeadNonceSize, &len, plaintext.data(),
                                            plaintext.size(), aad.data(), aad.size(), nullptr,
                                            n.data(), key.reveal().data());
  out.resize(kAeadNonceSize + len);
  return out;
}

StatusOr<SecretBytes> AeadDecrypt(KeySpec spec, const SecretBytes& key,
                                  std::span<const uint8_t> data, std::span<const uint8_t> aad) {
  if (!IsSymmetric(spec)) return InvalidArgumentError("not a symmetric key");
  if (key.size() != 32) return InternalError("symmetric key has the wrong size");
  if (data.size() < kAeadNonceSize + 16) return InvalidArgumentError("decryption failed");
  auto nonce = data.first(kAeadNonceSize);
  auto body = data.subspan(kAeadNonceSize);
  if (spec == KeySpec::kAes256Gcm) return Aes256GcmDecrypt(key, nonce, body, aad);
  EnsureSodium();
  SecretBytes out(body.size() - crypto_aead_chacha20poly1305_ietf_ABYTES);
  unsigned long long len = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.reveal_mut().data(), &len, nullptr, body.data(),
                                                body.size(), aad.data(), aad.size(), nonce.data(),
                                                key.reveal().data()) != 0)
    return InvalidArgumentError("decryption failed");
  return out;
}

// ------------------------------------------------------------------------------------- RSA

size_t RsaOaepMaxPlaintext(KeySpec spec) {
  return IsRsa(spec) ? static_cast<size_t>(RsaBits(spec) / 8 - 66) : 0;
}

namespace {
// OAEP with SHA-256 for the label hash and MGF1, on an initialised encrypt/decrypt context.
bool UseOaepSha256(EVP_PKEY_CTX* ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1;
}
}  // namespace

StatusOr<Bytes> RsaOaepEncrypt(KeySpec spec, std::span<const uint8_t> public_der,
                               std::span<const uint8_t> plaintext) {
  if (!IsRsa(spec)) return InvalidArgumentError("not an RSA key");
  if (plaintext.size() > RsaOaepMaxPlaintext(spec))
    return InvalidArgumentError("RSA-OAEP (SHA-256) with a " + std::string(SpecName(spec)) +
                                " key encrypts at most " +
                                std::to_string(RsaOaepMaxPlaintext(spec)) + " bytes; data is " +
                                std::to_string(plaintext.size()));
  const unsigned char* p = public_der.data();
  Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(public_der.size())));
  if (!key) return OpenSslError("loading an RSA public key");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 || !UseOaepSha256(ctx.get()))
    return OpenSslError("RSA-OAEP setup");
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(), plaintext.size()) != 1)
    return OpenSslError("RSA-OAEP encryption");
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(), plaintext.size()) != 1)
    return OpenSslError("RSA-OAEP encryption");
  out.resize(len);
  return out;
}

StatusOr<SecretBytes> RsaOaepDecrypt(const SecretBytes& material,
                                     std::span<const uint8_t> ciphertext) {
  SIRR_ASSIGN_OR_RETURN(Pkey key, LoadPrivate(KeySpec::kRsa2048, material));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 || !UseOaepSha256(ctx.get()))
    return OpenSslError("RSA-OAEP setup");
  SecretBytes out(static_cast<size_t>(EVP_PKEY_get_size(key.get())));
  size_t len = out.size();
  if (EVP_PKEY_decrypt(ctx.get(), out.reveal_mut().data(), &len, ciphertext.data(),
                       ciphertext.size()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("decryption failed");
  }
  out.Truncate(len);
  return out;
}

StatusOr<SecretBytes> X25519SharedSecret(const SecretBytes& private_key,
                                         std::span<const uint8_t> peer) {
  EnsureSodium();
  if (private_key.size() != crypto_scalarmult_SCALARBYTES)
    return InternalError("X25519 key material has the wrong size");
  if (peer.size() != crypto_scalarmult_BYTES)
    return InvalidArgumentError("public_key must be a 32-byte X25519 public key");
  SecretBytes shared(crypto_scalarmult_BYTES);
  if (crypto_scalarmult(shared.reveal_mut().data(), private_key.reveal().data(), peer.data()) != 0)
    return InvalidArgumentError("public_key is not a usable X25519 public key (low order)");
  return shared;
}

}  // namespace sirr::crypto
