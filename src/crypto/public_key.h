#pragma once

// Public-key signature verification over OpenSSL 3 EVP, for the JWS algorithms Sirr accepts:
// RS256/RS384/RS512 (RSASSA-PKCS1-v1_5), PS256/PS384/PS512 (RSASSA-PSS, MGF1 with the same
// hash, salt length = hash length), ES256 (ECDSA P-256, JWS raw r||s signatures) and EdDSA
// (Ed25519). Nothing here is secret: keys are public, inputs are untrusted.
//
// Thread safety: a PublicKey is immutable after parsing and may be shared between threads.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::crypto {

enum class PublicKeyType { kRsa, kEcP256, kEd25519 };

enum class SignatureAlgorithm { kRs256, kRs384, kRs512, kPs256, kPs384, kPs512, kEs256, kEdDsa };

// The JWS name ("RS256", "ES256", "EdDSA") or NotFound when unknown.
StatusOr<SignatureAlgorithm> SignatureAlgorithmFromJws(std::string_view name);
std::string_view JwsName(SignatureAlgorithm alg);
// The key type an algorithm needs.
PublicKeyType KeyTypeFor(SignatureAlgorithm alg);

class PublicKey {
 public:
  ~PublicKey();
  PublicKey(const PublicKey&) = delete;
  PublicKey& operator=(const PublicKey&) = delete;

  PublicKeyType type() const { return type_; }
  // The key id an operator gave it ("# kid: NAME" line before its PEM block), or empty.
  const std::string& label() const { return label_; }
  // OpenSSH-style legacy fingerprint: MD5 of the SSH wire encoding, as lower-case hex pairs
  // joined by ':' (the form Provide's ident puts in "kid").
  const std::string& ssh_md5_fingerprint() const { return fingerprint_; }
  // e.g. "RSA-2048", "P-256", "Ed25519".
  std::string Description() const;

  // true when `signature` is a valid signature of `message` under this key with `alg`.
  // An algorithm that does not fit the key type is InvalidArgument; a wrong signature
  // (including a malformed one) is simply false.
  StatusOr<bool> Verify(SignatureAlgorithm alg, std::span<const uint8_t> message,
                        std::span<const uint8_t> signature) const;

  // Every "-----BEGIN PUBLIC KEY-----" block in `pem` (SubjectPublicKeyInfo). A line
  // "# kid: NAME" (or "kid: NAME") before a block labels it. RSA keys below 2048 bits, curves
  // other than P-256 and key types other than RSA/EC/Ed25519 are InvalidArgument naming the
  // block; so is a file without any key.
  static StatusOr<std::vector<std::unique_ptr<PublicKey>>> ParsePem(std::string_view pem);
  // One DER SubjectPublicKeyInfo, with the same restrictions as ParsePem.
  static StatusOr<std::unique_ptr<PublicKey>> FromDer(std::span<const uint8_t> der);

  // The key as DER SubjectPublicKeyInfo and as a PEM "PUBLIC KEY" block.
  StatusOr<Bytes> ToDer() const;
  StatusOr<std::string> ToPem() const;

 private:
  PublicKey() = default;
  // Takes ownership of `raw` (an EVP_PKEY*) and classifies it; `where` names it in errors.
  static StatusOr<std::unique_ptr<PublicKey>> Adopt(void* raw, const std::string& where);
  void* pkey_ = nullptr;  // EVP_PKEY*
  PublicKeyType type_ = PublicKeyType::kRsa;
  int bits_ = 0;
  std::string label_;
  std::string fingerprint_;
};

}  // namespace sirr::crypto
