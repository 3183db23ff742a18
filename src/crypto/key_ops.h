#pragma once

// Key specs and the cryptographic operations on vault keys (docs/keys.md):
//   AES-256-GCM, ChaCha20-Poly1305 (IETF, 12-byte nonce)       symmetric, encrypt/decrypt
//   Ed25519 (RFC 8032), secp256k1 (RFC 6979, low-S, r|s|v),
//   P-256 (ECDSA-SHA-256, r|s), RSA-2048/3072/4096               asymmetric, sign/verify
//   RSA also encrypt/decrypt (OAEP, SHA-256, MGF1-SHA-256); C25519 (X25519) key agreement.
//
// BIP39 (HD wallet): material as hd::EncodeMaterial (mnemonic, 0x00, passphrase), public key
// the root xpub's text; signing and derivation go through hd::Wallet with a BIP44 path.
// Baby Jubjub: material the 32-byte private key, public key the packed point (32 bytes); sign
// takes a field element (big-endian bytes, < p) and returns packed R8 | S (64 bytes).
// Key material in its stored form ("material", always SecretBytes):
//   symmetric: the 32-byte key; Ed25519: seed(32) | public key(32) (the libsodium secret key, so
//   the public half used in signing is authenticated with the seed); secp256k1 / X25519: the
//   32-byte scalar; P-256 / RSA: the DER private key (SEC1 / PKCS#1).
// Public keys in stored form: Ed25519 / X25519 32 raw bytes; secp256k1 / P-256 the uncompressed
// point (65 bytes, 0x04 | X | Y); RSA DER SubjectPublicKeyInfo.
//
// Failures to authenticate a ciphertext are all InvalidArgument "decryption failed".
// Thread safety: stateless functions, thread-safe.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/random.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/public_key.h"

namespace sirr::crypto {

enum class KeySpec {
  kAes256Gcm,
  kChaCha20Poly1305,
  kEd25519,
  kSecp256k1,
  kP256,
  kRsa2048,
  kRsa3072,
  kRsa4096,
  kX25519,
  kBip39,       // HD wallet (BIP39 mnemonic, BIP32/BIP44 secp256k1 keys): crypto/hd/wallet.h
  kBabyJubJub,  // EdDSA-Poseidon on Baby Jubjub (circomlib/iden3): crypto/zk/babyjub.h
};
enum class KeyType { kSymmetric, kAsymmetric };
enum class KeyUsage { kEncryptDecrypt, kSignVerify };

// Case-insensitive; "ChaCha20" is an alias of ChaCha20-Poly1305, "X25519" of C25519.
// InvalidArgument naming the supported specs.
StatusOr<KeySpec> ParseKeySpec(std::string_view name);
std::string_view SpecName(KeySpec spec);  // canonical: "AES-256-GCM", "C25519", ...
KeyType TypeOf(KeySpec spec);
std::string_view TypeName(KeyType type);  // "symmetric" / "asymmetric"
StatusOr<KeyType> ParseKeyType(std::string_view name);
std::string_view UsageName(KeyUsage usage);  // "encrypt/decrypt" / "sign/verify"
StatusOr<KeyUsage> ParseKeyUsage(std::string_view name);
KeyUsage DefaultUsage(KeySpec spec);
bool AllowsUsage(KeySpec spec, KeyUsage usage);
bool IsRsa(KeySpec spec);
bool IsSymmetric(KeySpec spec);
// Every spec, in the spec table's order (key_ops.cc: one row per spec, one class per family).
std::vector<KeySpec> AllKeySpecs();

struct GeneratedKey {
  SecretBytes material;
  Bytes public_key;  // empty for symmetric keys
};
StatusOr<GeneratedKey> GenerateKey(KeySpec spec, Random& random);
// A BIP39 wallet key from its material (hd::EncodeMaterial): public key = root xpub text.
StatusOr<GeneratedKey> Bip39KeyFrom(SecretBytes material);

// A symmetric key of `spec` from 32 bytes of key material (derive).
StatusOr<GeneratedKey> SymmetricKeyFrom(KeySpec spec, SecretBytes key);

// How a public key is shown: "0x" + hex (Ed25519, X25519, secp256k1, P-256) or a PEM block
// (RSA), the Ethereum address (secp256k1) and the fingerprint (RSA: OpenSSH-style MD5).
struct PublicParts {
  std::string public_key;
  std::string address;
  std::string fingerprint;
};
StatusOr<PublicParts> DescribePublicKey(KeySpec spec, std::span<const uint8_t> public_key);

// The private part of an ephemeral key as shown once: ("seed", 0x + 32-byte seed) for Ed25519,
// ("mnemonic", the words) for BIP39, ("private_key", 0x + hex) otherwise: the key or scalar,
// PKCS#8 DER for RSA.
StatusOr<std::pair<std::string, SecretBytes>> ExportPrivate(KeySpec spec,
                                                            const SecretBytes& material);

// --- symmetric AEAD: output nonce(12) | ciphertext | tag(16). A missing nonce is random.
inline constexpr size_t kAeadNonceSize = 12;
StatusOr<Bytes> AeadEncrypt(KeySpec spec, const SecretBytes& key,
                            std::optional<std::span<const uint8_t>> nonce,
                            std::span<const uint8_t> plaintext, std::span<const uint8_t> aad,
                            Random& random);
StatusOr<SecretBytes> AeadDecrypt(KeySpec spec, const SecretBytes& key,
                                  std::span<const uint8_t> data, std::span<const uint8_t> aad);

// --- RSA-OAEP (SHA-256, MGF1-SHA-256). Plaintext at most k - 66 bytes.
size_t RsaOaepMaxPlaintext(KeySpec spec);
StatusOr<Bytes> RsaOaepEncrypt(KeySpec spec, std::span<const uint8_t> public_der,
                               std::span<const uint8_t> plaintext);
StatusOr<SecretBytes> RsaOaepDecrypt(const SecretBytes& material,
                                     std::span<const uint8_t> ciphertext);

// --- signatures. `rsa_algorithm` (PS256/384/512, RS256/384/512) is required for RSA keys and
// ignored otherwise. Ed25519 signs the raw message; secp256k1 a 32-byte digest (r|s|v, 65
// bytes); P-256 the message with SHA-256 (r|s, 64 bytes).
StatusOr<Bytes> Sign(KeySpec spec, const SecretBytes& material, std::span<const uint8_t> message,
                     std::optional<SignatureAlgorithm> rsa_algorithm);
// A parsed RSA or P-256 private key for repeated signing: parsing and OpenSSL's per-key
// precomputation (Montgomery contexts, blinding) are paid once instead of per signature. Holds
// the private key in OpenSSL's own (uncloaked) structures, which clear it when freed; keep it
// only while the instance is unsealed. Thread-safe to sign with concurrently.
class ParsedPrivateKey {
 public:
  static StatusOr<std::shared_ptr<const ParsedPrivateKey>> Parse(KeySpec spec,
                                                                 const SecretBytes& material);
  ~ParsedPrivateKey();
  ParsedPrivateKey(const ParsedPrivateKey&) = delete;
  ParsedPrivateKey& operator=(const ParsedPrivateKey&) = delete;
  KeySpec spec() const { return spec_; }
  // True for the specs that benefit (RSA, P-256).
  static bool Worthwhile(KeySpec spec);

 private:
  struct PkeyDeleter {
    void operator()(void* pkey) const;  // EVP_PKEY_free
  };
  ParsedPrivateKey(void* pkey, KeySpec spec) : pkey_(pkey), spec_(spec) {}
  friend StatusOr<Bytes> Sign(const ParsedPrivateKey&, std::span<const uint8_t>,
                              std::optional<SignatureAlgorithm>);
  std::unique_ptr<void, PkeyDeleter> pkey_;  // an EVP_PKEY
  KeySpec spec_;
};
StatusOr<Bytes> Sign(const ParsedPrivateKey& key, std::span<const uint8_t> message,
                     std::optional<SignatureAlgorithm> rsa_algorithm);

// false (never an error) for a wrong-length or malformed signature or public key; an error only
// for a spec that cannot sign, a missing or unfit RSA algorithm, or a secp256k1 message that is
// not a 32-byte digest.
StatusOr<bool> Verify(KeySpec spec, std::span<const uint8_t> public_key,
                      std::span<const uint8_t> message, std::span<const uint8_t> signature,
                      std::optional<SignatureAlgorithm> rsa_algorithm);
// The RSA algorithm named in options: PS256/384/512 or RS256/384/512 (InvalidArgument else).
StatusOr<SignatureAlgorithm> ParseRsaAlgorithm(std::string_view name);

// A public key as given to detached verification: PEM (SPKI) for RSA, else hex with an optional
// 0x (secp256k1 compressed or uncompressed). Returns the stored form; InvalidArgument when it
// cannot be a key of that spec.
StatusOr<Bytes> ParsePublicKey(KeySpec spec, std::string_view text);

// --- X25519: the shared secret with a peer's 32-byte public key. InvalidArgument for a
// wrong-length or low-order peer key (all-zero shared secret).
StatusOr<SecretBytes> X25519SharedSecret(const SecretBytes& private_key,
                                         std::span<const uint8_t> peer_public_key);

}  // namespace sirr::crypto
