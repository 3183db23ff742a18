#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace sirr::crypto {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Algorithms are fetched from the provider once: OpenSSL 3 otherwise repeats the (locked)
// fetch on every init, which showed up in request profiles. They are never freed.
[[noreturn]] void Unavailable(const char* what) {
  std::fprintf(stderr, "sirr: OpenSSL %s unavailable\n", what);
  std::abort();
}

template <typename T>
const T* FetchOrDie(T* (*fetch)(OSSL_LIB_CTX*, const char*, const char*), const char* name) {
  T* algorithm = fetch(nullptr, name, nullptr);
  if (algorithm == nullptr) Unavailable(name);
  return algorithm;
}

const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = FetchOrDie(EVP_CIPHER_fetch, "AES-256-GCM");
  return cipher;
}

const EVP_MD* Sha256Md() {
  static const EVP_MD* md = FetchOrDie(EVP_MD_fetch, "SHA256");
  return md;
}

// An HMAC context with the digest set and no key, made once and duplicated for each use.
const EVP_MAC_CTX* NewHmacTemplate(const char* digest_name) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) Unavailable("HMAC");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name), 0),
      OSSL_PARAM_construct_end()};
  if (ctx == nullptr || EVP_MAC_CTX_set_params(ctx, params) != 1) Unavailable(digest_name);
  return ctx;
}

// HMAC(key, data) into `out` (the digest's size) with a duplicate of `tmpl`; aborts on failure.
void Hmac(const EVP_MAC_CTX* tmpl, std::span<const uint8_t> key, std::span<const uint8_t> data,
          std::span<uint8_t> out) {
  static const uint8_t kEmpty = 0;
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(tmpl),
                                                                EVP_MAC_CTX_free);
  size_t len = 0;
  if (!ctx ||
      EVP_MAC_init(ctx.get(), key.empty() ? &kEmpty : key.data(), key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    std::fputs("sirr: HMAC failed\n", stderr);
    std::abort();
  }
}

Status CheckKeyAndNonce(const SecretBytes& key, std::span<const uint8_t> nonce) {
  if (key.size() != kAesKeySize) return InvalidArgumentError("AES-256-GCM key must be 32 bytes");
  if (nonce.size() != kGcmNonceSize) return InvalidArgumentError("GCM nonce must be 12 bytes");
  return OkStatus();
}

}  // namespace

StatusOr<Bytes> Aes256GcmEncrypt(const SecretBytes& key, std::span<const uint8_t> nonce,
                                 std::span<const uint8_t> plaintext, std::span<const uint8_t> aad) {
  SIRR_RETURN_IF_ERROR(CheckKeyAndNonce(key, nonce));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("EVP_CIPHER_CTX_new failed");
  int len = 0;
  Bytes out(plaintext.size() + kGcmTagSize);
  if (EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.reveal().data(), nonce.data()) != 1)
    return InternalError("AES-GCM init failed");
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
    return InternalError("AES-GCM aad failed");
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1)
    return InternalError("AES-GCM encrypt failed");
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &len) != 1)
    return InternalError("AES-GCM final failed");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                          out.data() + plaintext.size()) != 1)
    return InternalError("AES-GCM tag failed");
  return out;
}

StatusOr<SecretBytes> Aes256GcmDecrypt(const SecretBytes& key, std::span<const uint8_t> nonce,
                                       std::span<const uint8_t> ciphertext_and_tag,
                                       std::span<const uint8_t> aad) {
  SIRR_RETURN_IF_ERROR(CheckKeyAndNonce(key, nonce));
  if (ciphertext_and_tag.size() < kGcmTagSize) return InvalidArgumentError("decryption failed");
  const size_t ct_len = ciphertext_and_tag.size() - kGcmTagSize;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("EVP_CIPHER_CTX_new failed");
  SecretBytes out(ct_len);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.reveal().data(), nonce.data()) != 1)
    return InternalError("AES-GCM init failed");
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
    return InvalidArgumentError("decryption failed");
  if (ct_len > 0 && EVP_DecryptUpdate(ctx.get(), out.reveal_mut().data(), &len,
                                      ciphertext_and_tag.data(), static_cast<int>(ct_len)) != 1)
    return InvalidArgumentError("decryption failed");
  // OpenSSL takes a non-const pointer for the expected tag; it only reads it.
  Bytes tag(ciphertext_and_tag.begin() + ct_len, ciphertext_and_tag.end());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag.data()) != 1)
    return InternalError("AES-GCM set tag failed");
  uint8_t final_block[16];
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &len) != 1)
    return InvalidArgumentError("decryption failed");  // `out` is wiped on return.
  return out;
}

StatusOr<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::span<const uint8_t> salt,
                                 std::string_view info, size_t length) {
  if (length == 0 || length > 255 * 32) return InvalidArgumentError("bad HKDF output length");
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        EVP_KDF_free);
  if (!kdf) return InternalError("HKDF unavailable");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()),
                                                                EVP_KDF_CTX_free);
  if (!ctx) return InternalError("HKDF context failed");
  char digest[] = "SHA256";
  uint8_t empty = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<uint8_t*>(ikm.reveal().data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        salt.empty() ? &empty : const_cast<uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.reveal_mut().data(), length, params) != 1)
    return InternalError("HKDF derive failed");
  return out;
}

std::array<uint8_t, 32> Sha256(std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out;
  if (EVP_Digest(data.data(), data.size(), out.data(), nullptr, Sha256Md(), nullptr) != 1)
    Unavailable("SHA256 digest");
  return out;
}

std::array<uint8_t, 32> HmacSha256(const SecretBytes& key, std::span<const uint8_t> data) {
  static const EVP_MAC_CTX* tmpl = NewHmacTemplate("SHA256");
  std::array<uint8_t, 32> out;
  Hmac(tmpl, key.reveal(), data, out);
  return out;
}

SecretBytes HmacSha512(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  static const EVP_MAC_CTX* tmpl = NewHmacTemplate("SHA512");
  SecretBytes out(64);
  Hmac(tmpl, key, data, out.reveal_mut());
  return out;
}

void SecureRandom::Fill(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    std::fputs("sirr: the system random number generator failed\n", stderr);
    std::abort();
  }
}

SecureRandom& SecureRandom::Get() {
  static SecureRandom random;
  return random;
}

}  // namespace sirr::crypto
