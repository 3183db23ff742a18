#include "crypto/key_ops.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <array>
#include <cstdlib>
#include <memory>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "crypto/hd/keccak.h"
#include "crypto/hd/wallet.h"
#include "crypto/key_ops_internal.h"
#include "crypto/secp256k1.h"
#include "crypto/zk/babyjub.h"

namespace sirr::crypto {
namespace internal {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

Status OpenSslError(const char* what) {
  ERR_clear_error();
  return InternalError(std::string(what) + " failed");
}

StatusOr<Pkey> LoadPrivate(KeySpec spec, const SecretBytes& material) {
  const unsigned char* p = material.reveal().data();
  int type = IsRsa(spec) ? EVP_PKEY_RSA : EVP_PKEY_EC;
  Pkey key(d2i_PrivateKey(type, nullptr, &p, static_cast<long>(material.size())));
  if (!key) return OpenSslError("loading a private key");
  return key;
}

}  // namespace internal

namespace {

using internal::EnsureSodium;
using internal::LoadPrivate;
using internal::MdCtx;
using internal::OpenSslError;
using internal::Pkey;
using internal::PkeyCtx;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The DER form of a private EVP_PKEY (PKCS#1 for RSA, SEC1 for EC), written straight into
// wiped-on-free memory.
StatusOr<SecretBytes> PrivateDer(EVP_PKEY* key) {
  int n = i2d_PrivateKey(key, nullptr);
  if (n <= 0) return OpenSslError("encoding a private key");
  SecretBytes out(static_cast<size_t>(n));
  unsigned char* p = out.reveal_mut().data();
  if (i2d_PrivateKey(key, &p) != n) return OpenSslError("encoding a private key");
  return out;
}

StatusOr<Bytes> PublicDer(EVP_PKEY* key) {
  unsigned char* p = nullptr;
  int n = i2d_PUBKEY(key, &p);
  if (n <= 0) return OpenSslError("encoding a public key");
  Bytes out(p, p + n);
  OPENSSL_free(p);
  return out;
}

// SubjectPublicKeyInfo prefix of an uncompressed P-256 point (id-ecPublicKey, prime256v1).
constexpr uint8_t kP256SpkiPrefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                       0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                       0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

const EVP_MD* DigestOf(SignatureAlgorithm alg) {
  switch (alg) {
    case SignatureAlgorithm::kPs384:
    case SignatureAlgorithm::kRs384:
      return EVP_sha384();
    case SignatureAlgorithm::kPs512:
    case SignatureAlgorithm::kRs512:
      return EVP_sha512();
    default:
      return EVP_sha256();
  }
}

bool IsPss(SignatureAlgorithm alg) {
  return alg == SignatureAlgorithm::kPs256 || alg == SignatureAlgorithm::kPs384 ||
         alg == SignatureAlgorithm::kPs512;
}

Status CannotSign(KeySpec spec) {
  return InvalidArgumentError("a " + std::string(SpecName(spec)) + " key cannot sign or verify");
}

Status NeedRsaAlgorithm() {
  return InvalidArgumentError(
      "options.algorithm is required for RSA keys: PS256, PS384, PS512, RS256, RS384 or RS512");
}

StatusOr<Bytes> SignWithPkey(EVP_PKEY* key, const EVP_MD* md, bool pss,
                             std::span<const uint8_t> message) {
  MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) != 1)
    return OpenSslError("signing");
  if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1))
    return OpenSslError("signing");
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1)
    return OpenSslError("signing");
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1)
    return OpenSslError("signing");
  sig.resize(len);
  return sig;
}

// DER ECDSA-Sig-Value -> r | s, 32 bytes each.
StatusOr<Bytes> EcdsaDerToRaw(const Bytes& der) {
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) return OpenSslError("decoding an ECDSA signature");
  Bytes out(64);
  const BIGNUM* r = ECDSA_SIG_get0_r(sig);
  const BIGNUM* s = ECDSA_SIG_get0_s(sig);
  bool ok = BN_bn2binpad(r, out.data(), 32) == 32 && BN_bn2binpad(s, out.data() + 32, 32) == 32;
  ECDSA_SIG_free(sig);
  if (!ok) return InternalError("encoding an ECDSA signature failed");
  return out;
}

StatusOr<Bytes> HexKey(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  auto bytes = HexDecode(text);
  if (!bytes.ok()) return InvalidArgumentError("public_key is not valid hex");
  return bytes;
}

using internal::RsaBits;

// One entry per algorithm family: how its keys are generated, shown, exported, and how they
// sign and verify. The spec table below maps every KeySpec to its family and attributes; a new
// spec is a table row (and, for a new family, one class here).
class KeyFamily {
 public:
  virtual ~KeyFamily() = default;
  virtual StatusOr<GeneratedKey> Generate(KeySpec spec, Random& random) const = 0;
  virtual StatusOr<Bytes> Sign(KeySpec spec, const SecretBytes&, std::span<const uint8_t>,
                               std::optional<SignatureAlgorithm>) const {
    return CannotSign(spec);
  }
  virtual StatusOr<bool> Verify(KeySpec spec, std::span<const uint8_t>, std::span<const uint8_t>,
                                std::span<const uint8_t>, std::optional<SignatureAlgorithm>) const {
    return CannotSign(spec);
  }
  // "0x" + hex by default.
  virtual StatusOr<PublicParts> Describe(KeySpec, std::span<const uint8_t> public_key) const {
    PublicParts parts;
    parts.public_key = "0x" + HexEncode(public_key);
    return parts;
  }
  // ("private_key", 0x + hex of the material) by default.
  virtual StatusOr<std::pair<std::string, SecretBytes>> Export(KeySpec,
                                                               const SecretBytes& material) const {
    return std::make_pair(std::string("private_key"), HexEncodeSecret(material.reveal(), "0x"));
  }
  // Hex by default.
  virtual StatusOr<Bytes> ParsePublic(KeySpec, std::string_view text) const { return HexKey(text); }
};

class SymmetricFamily final : public KeyFamily {
 public:
  StatusOr<GeneratedKey> Generate(KeySpec spec, Random& random) const override {
    return SymmetricKeyFrom(spec, random.RandomSecret(32));
  }
  StatusOr<PublicParts> Describe(KeySpec, std::span<const uint8_t>) const override {
    return PublicParts{};
  }
  StatusOr<Bytes> ParsePublic(KeySpec, std::string_view) const override {
    return InvalidArgumentError("a symmetric key has no public key");
  }
};

class Ed25519Family final : public KeyFamily {
 public:
  StatusOr<GeneratedKey> Generate(KeySpec, Random& random) const override {
    EnsureSodium();
    GeneratedKey out;
    SecretBytes seed = random.RandomSecret(crypto_sign_SEEDBYTES);
    out.material = SecretBytes(crypto_sign_SECRETKEYBYTES);
    out.public_key.resize(crypto_sign_PUBLICKEYBYTES);
    crypto_sign_seed_keypair(out.public_key.data(), out.material.reveal_mut().data(),
                             seed.reveal().data());
    return out;
  }
  StatusOr<Bytes> Sign(KeySpec, const SecretBytes& material, std::span<const uint8_t> message,
                       std::optional<SignatureAlgorithm>) const override {
    EnsureSodium();
    if (material.size() != crypto_sign_SECRETKEYBYTES)
      return InternalError("Ed25519 key material has the wrong size");
    Bytes sig(crypto_sign_BYTES);
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                         material.reveal().data());
    return sig;
  }
  StatusOr<bool> Verify(KeySpec, std::span<const uint8_t> public_key,
                        std::span<const uint8_t> message, std::span<const uint8_t> signature,
                        std::optional<SignatureAlgorithm>) const override {
    EnsureSodium();
    if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES)
      return false;
    return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                       public_key.data()) == 0;
  }
  StatusOr<std::pair<std::string, SecretBytes>> Export(KeySpec,
                                                       const SecretBytes& material) const override {
    return std::make_pair(std::string("seed"),
                          HexEncodeSecret(material.reveal().first(crypto_sign_SEEDBYTES), "0x"));
  }
};

class X25519Family final : public KeyFamily {
 public:
  StatusOr<GeneratedKey> Generate(KeySpec, Random& random) const override {
    EnsureSodium();
    GeneratedKey out;
    out.material = random.RandomSecret(crypto_scalarmult_SCALARBYTES);
    out.public_key.resize(crypto_scalarmult_BYTES);
    if (crypto_scalarmult_base(out.public_key.data(), out.material.reveal().data()) != 0)
      return InternalError("X25519 key generation failed");
    return out;
  }
};

class Secp256k1Family final : public KeyFamily {
 public:
  StatusOr<GeneratedKey> Generate(KeySpec, Random& random) const override {
    GeneratedKey out;
    out.material = secp256k1::GeneratePrivateKey(random);
    SIRR_ASSIGN_OR_RETURN(out.public_key, secp256k1::PublicKey(out.material));
    return out;
  }
  StatusOr<Bytes> Sign(KeySpec, const SecretBytes& material, std::span<const uint8_t> message,
                       std::optional<SignatureAlgorithm>) const override {
    return secp256k1::Sign(material, message);
  }
  StatusOr<bool> Verify(KeySpec, std::span<const uint8_t> public_key,
                        std::span<const uint8_t> message, std::span<const uint8_t> signature,
                        std::optional<SignatureAlgorithm>) const override {
    if (message.size() != secp256k1::kDigestSize)
      return InvalidArgumentError("secp256k1 verifies a 32-byte digest; the message is " +
                                  std::to_string(message.size()) + " bytes");
    return secp256k1::Verify(public_key, message, signature);
  }
  StatusOr<PublicParts> Describe(KeySpec spec, std::span<const uint8_t> public_key) const override {
    SIRR_ASSIGN_OR_RETURN(PublicParts parts, KeyFamily::Describe(spec, public_key));
    SIRR_ASSIGN_OR_RETURN(parts.address, hd::EthereumAddress(public_key));
    return parts;
  }
};

// P-256 and RSA keys are OpenSSL keys; signing goes through a ParsedPrivateKey.
class OpenSslFamily : public KeyFamily {
 public:
  StatusOr<Bytes> Sign(KeySpec spec, const SecretBytes& material, std::span<const uint8_t> message,
                       std::optional<SignatureAlgorithm> alg) const override {
    SIRR_ASSIGN_OR_RETURN(auto parsed, ParsedPrivateKey::Parse(spec, material));
    return crypto::Sign(*parsed, message, alg);
  }
};

class P256Family final : public OpenSslFamily {
 public:
  StatusOr<GeneratedKey> Generate(KeySpec, Random&) const override {
    GeneratedKey out;
    Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) return OpenSslError("P-256 key generation");
    SIRR_ASSIGN_OR_RETURN(out.material, PrivateDer(key.get()));
    out.public_key.resize(65);
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                        out.public_key.data(), out.public_key.size(), &len) != 1 ||
        len != 65)
      return OpenSslError("P-256 public key encoding");
    return out;
  }
  StatusOr<bool> Verify(KeySpec, std::span<const uint8_t> public_key,
                        std::span<const uint8_t> message, std::span<const uint8_t> signature,
                        std::optional<SignatureAlgorithm>) const override {
    if (public_key.size() != 65 || public_key[0] != 0x04) return false;
    Bytes der(std::begin(kP256SpkiPrefix), std::end(kP256SpkiPrefix));
    der.insert(der.end(), public_key.begin(), public_key.end());
    auto key = PublicKey::FromDer(der);
    if (!key.ok()) return false;
    return (*key)->Verify(SignatureAlgorithm::kEs256, message, signature);
  }
  StatusOr<std::pair<std::string, SecretBytes>> Export(KeySpec spec,
                                                       const SecretBytes& material) const override {
    SIRR_ASSIGN_OR_RETURN(Pkey key, LoadPrivate(spec, material));
    BIGNUM* d = nullptr;
    if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
      return OpenSslError("reading a P-256 private key");
    SecretBytes scalar(32);
    int n = BN_bn2binpad(d, scalar.reveal_mut().data(), 32);
    BN_clear_free(d);
    if (n != 32) return InternalError("encoding a P-256 private key failed");
    return std::make_pair(std::string("private_key"), HexEncodeSecret(scalar.reveal(), "0x"));
  }
};

class RsaFamily final : public OpenSslFamily {
 public:
  StatusOr<GeneratedKey> Generate(KeySpec spec, Random&) const override {
    GeneratedKey out;
    Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(RsaBits(spec))));
    if (!key) return OpenSslError("RSA key generation");
    SIRR_ASSIGN_OR_RETURN(out.material, PrivateDer(key.get()));
    SIRR_ASSIGN_OR_RETURN(out.public_key, PublicDer(key.get()));
    return out;
  }
  StatusOr<bool> Verify(KeySpec, std::span<const uint8_t> public_key,
                        std::span<const uint8_t> message, std::span<const uint8_t> signature,
                        std::optional<SignatureAlgorithm> alg) const override {
    if (!alg) return NeedRsaAlgorithm();
    if (KeyTypeFor(*alg) != PublicKeyType::kRsa) return ParseRsaAlgorithm(JwsName(*alg)).status();
    auto key = PublicKey::FromDer(public_key);
    if (!key.ok() || (*key)->type() != PublicKeyType::kRsa) return false;
    return (*key)->Verify(*alg, message, signature);
  }
  StatusOr<PublicParts> Describe(KeySpec, std::span<const uint8_t> public_key) const override {
    PublicParts parts;
    SIRR_ASSIGN_OR_RETURN(auto key, PublicKey::FromDer(public_key));
    SIRR_ASSIGN_OR_RETURN(parts.public_key, key->ToPem());
    parts.fingerprint = key->ssh_md5_fingerprint();
    return parts;
  }
  StatusOr<std::pair<std::string, SecretBytes>> Export(KeySpec spec,
                                                       const SecretBytes& material) const override {
    SIRR_ASSIGN_OR_RETURN(Pkey key, LoadPrivate(spec, material));
    PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key.get());
    if (!p8) return OpenSslError("encoding an RSA private key");
    int n = i2d_PKCS8_PRIV_KEY_INFO(p8, nullptr);
    SecretBytes der(n > 0 ? static_cast<size_t>(n) : 0);
    unsigned char* p = der.reveal_mut().data();
    bool ok = n > 0 && i2d_PKCS8_PRIV_KEY_INFO(p8, &p) == n;
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (!ok) return OpenSslError("encoding an RSA private key");
    return std::make_pair(std::string("private_key"), HexEncodeSecret(der.reveal(), "0x"));
  }
  StatusOr<Bytes> ParsePublic(KeySpec, std::string_view text) const override {
    if (text.find("-----BEGIN") != std::string_view::npos) {
      auto keys = PublicKey::ParsePem(text);
      if (!keys.ok() || keys->size() != 1) return Bytes();  // not a usable key: verifies false
      return (*keys)[0]->ToDer();
    }
    return HexKey(text);  // hex of DER SubjectPublicKeyInfo
  }
};

class Bip39Family final : public KeyFamily {
 public:
  StatusOr<GeneratedKey> Generate(KeySpec, Random& random) const override {
    SIRR_ASSIGN_OR_RETURN(SecretBytes material, hd::GenerateMaterial(random));
    return Bip39KeyFrom(std::move(material));
  }
  // Signing and verifying go through the wallet (core/keys.cc: a BIP44 key per index).
  StatusOr<PublicParts> Describe(KeySpec, std::span<const uint8_t> public_key) const override {
    PublicParts parts;
    parts.public_key.assign(public_key.begin(), public_key.end());  // the root xpub
    return parts;
  }
  StatusOr<std::pair<std::string, SecretBytes>> Export(KeySpec,
                                                       const SecretBytes& material) const override {
    SIRR_ASSIGN_OR_RETURN(SecretBytes mnemonic, hd::MaterialMnemonic(material));
    return std::make_pair(std::string("mnemonic"), std::move(mnemonic));
  }
  StatusOr<Bytes> ParsePublic(KeySpec, std::string_view) const override {
    return InvalidArgumentError(
        "verify BIP39 wallet signatures with spec secp256k1 and the derived public key");
  }
};

class BabyJubJubFamily final : public KeyFamily {
 public:
  StatusOr<GeneratedKey> Generate(KeySpec, Random& random) const override {
    GeneratedKey out;
    out.material = random.RandomSecret(zk::kBabyJubPrivateKeySize);
    SIRR_ASSIGN_OR_RETURN(auto packed, zk::BabyJubPublicKey(out.material));
    out.public_key.assign(packed.begin(), packed.end());
    return out;
  }
  StatusOr<Bytes> Sign(KeySpec, const SecretBytes& material, std::span<const uint8_t> message,
                       std::optional<SignatureAlgorithm>) const override {
    SIRR_ASSIGN_OR_RETURN(zk::U256 element, zk::BabyJubMessage(message));
    SIRR_ASSIGN_OR_RETURN(auto sig, zk::BabyJubSign(material, element));
    return Bytes(sig.begin(), sig.end());
  }
  StatusOr<bool> Verify(KeySpec, std::span<const uint8_t> public_key,
                        std::span<const uint8_t> message, std::span<const uint8_t> signature,
                        std::optional<SignatureAlgorithm>) const override {
    SIRR_ASSIGN_OR_RETURN(zk::U256 element, zk::BabyJubMessage(message));
    return zk::BabyJubVerify(public_key, element, signature);
  }
  StatusOr<Bytes> ParsePublic(KeySpec, std::string_view text) const override {
    SIRR_ASSIGN_OR_RETURN(Bytes packed, HexKey(text));
    if (!zk::BabyJubIsPoint(packed))
      return InvalidArgumentError(
          "public_key must be a packed Baby Jubjub point (32 bytes: y little-endian, sign of x)");
    return packed;
  }
};

struct SpecInfo {
  KeySpec spec;
  std::string_view name;   // canonical
  std::string_view alias;  // lower-case, or empty
  KeyType type;
  KeyUsage usage;  // the default usage
  bool any_usage;  // RSA: encrypt/decrypt or sign/verify
  int rsa_bits;    // RSA only
  const KeyFamily& family;
};

const SymmetricFamily kSymmetric;
const Ed25519Family kEd25519Family;
const X25519Family kX25519Family;
const Secp256k1Family kSecp256k1Family;
const P256Family kP256Family;
const RsaFamily kRsaFamily;
const Bip39Family kBip39Family;
const BabyJubJubFamily kBabyJubJubFamily;

constexpr KeyType kSym = KeyType::kSymmetric, kAsym = KeyType::kAsymmetric;
constexpr KeyUsage kEnc = KeyUsage::kEncryptDecrypt, kSig = KeyUsage::kSignVerify;

// clang-format off
const SpecInfo kSpecs[] = {
  // spec                        name                 alias        type   usage  any    bits  family
  {KeySpec::kAes256Gcm,          "AES-256-GCM",       "",          kSym,  kEnc,  false, 0,    kSymmetric},
  {KeySpec::kChaCha20Poly1305,   "ChaCha20-Poly1305", "chacha20",  kSym,  kEnc,  false, 0,    kSymmetric},
  {KeySpec::kEd25519,            "Ed25519",           "",          kAsym, kSig,  false, 0,    kEd25519Family},
  {KeySpec::kSecp256k1,          "secp256k1",         "",          kAsym, kSig,  false, 0,    kSecp256k1Family},
  {KeySpec::kP256,               "P-256",             "p256",      kAsym, kSig,  false, 0,    kP256Family},
  {KeySpec::kRsa2048,            "RSA-2048",          "",          kAsym, kSig,  true,  2048, kRsaFamily},
  {KeySpec::kRsa3072,            "RSA-3072",          "",          kAsym, kSig,  true,  3072, kRsaFamily},
  {KeySpec::kRsa4096,            "RSA-4096",          "",          kAsym, kSig,  true,  4096, kRsaFamily},
  {KeySpec::kX25519,             "C25519",            "x25519",    kAsym, kEnc,  false, 0,    kX25519Family},
  {KeySpec::kBip39,              "BIP39",             "",          kAsym, kSig,  false, 0,    kBip39Family},
  {KeySpec::kBabyJubJub,         "babyJubJub",        "",          kAsym, kSig,  false, 0,    kBabyJubJubFamily},
};
// clang-format on

const SpecInfo& Info(KeySpec spec) {
  for (const SpecInfo& info : kSpecs)
    if (info.spec == spec) return info;
  std::abort();  // every enumerator has a row (KeyOpsTest.EverySpecHasOneTableRow)
}

}  // namespace

int internal::RsaBits(KeySpec spec) { return Info(spec).rsa_bits; }

namespace {}  // namespace

// ---------------------------------------------------------------------------------- specs

StatusOr<KeySpec> ParseKeySpec(std::string_view name) {
  const std::string n = Lower(name);
  std::string names;
  for (const SpecInfo& info : kSpecs) {
    if (n == Lower(info.name) || (!info.alias.empty() && n == info.alias)) return info.spec;
    names += (names.empty() ? "" : ", ") + std::string(info.name);
  }
  return InvalidArgumentError("unknown spec; one of " + names);
}

std::string_view SpecName(KeySpec spec) { return Info(spec).name; }
bool IsRsa(KeySpec spec) { return Info(spec).rsa_bits != 0; }
bool IsSymmetric(KeySpec spec) { return Info(spec).type == KeyType::kSymmetric; }
KeyType TypeOf(KeySpec spec) { return Info(spec).type; }
std::string_view TypeName(KeyType type) {
  return type == KeyType::kSymmetric ? "symmetric" : "asymmetric";
}
StatusOr<KeyType> ParseKeyType(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "symmetric") return KeyType::kSymmetric;
  if (n == "asymmetric") return KeyType::kAsymmetric;
  return InvalidArgumentError("type must be symmetric or asymmetric");
}
std::string_view UsageName(KeyUsage usage) {
  return usage == KeyUsage::kEncryptDecrypt ? "encrypt/decrypt" : "sign/verify";
}
StatusOr<KeyUsage> ParseKeyUsage(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "encrypt/decrypt") return KeyUsage::kEncryptDecrypt;
  if (n == "sign/verify") return KeyUsage::kSignVerify;
  return InvalidArgumentError("usage must be encrypt/decrypt or sign/verify");
}
KeyUsage DefaultUsage(KeySpec spec) { return Info(spec).usage; }
bool AllowsUsage(KeySpec spec, KeyUsage usage) {
  return Info(spec).any_usage || usage == DefaultUsage(spec);
}
std::vector<KeySpec> AllKeySpecs() {
  std::vector<KeySpec> out;
  for (const SpecInfo& info : kSpecs) out.push_back(info.spec);
  return out;
}

// ------------------------------------------------------------------------------ generation

StatusOr<GeneratedKey> SymmetricKeyFrom(KeySpec spec, SecretBytes key) {
  if (!IsSymmetric(spec) || key.size() != 32)
    return InvalidArgumentError("a symmetric key needs 32 bytes of key material");
  return GeneratedKey{std::move(key), Bytes()};
}

StatusOr<GeneratedKey> Bip39KeyFrom(SecretBytes material) {
  SIRR_ASSIGN_OR_RETURN(hd::Wallet wallet, hd::Wallet::FromMaterial(material));
  std::string xpub = wallet.RootXpub();
  return GeneratedKey{std::move(material), Bytes(xpub.begin(), xpub.end())};
}

StatusOr<GeneratedKey> GenerateKey(KeySpec spec, Random& random) {
  return Info(spec).family.Generate(spec, random);
}

StatusOr<PublicParts> DescribePublicKey(KeySpec spec, std::span<const uint8_t> public_key) {
  return Info(spec).family.Describe(spec, public_key);
}

StatusOr<std::pair<std::string, SecretBytes>> ExportPrivate(KeySpec spec,
                                                            const SecretBytes& material) {
  return Info(spec).family.Export(spec, material);
}

// ------------------------------------------------------------------------------ signatures

StatusOr<SignatureAlgorithm> ParseRsaAlgorithm(std::string_view name) {
  auto alg = SignatureAlgorithmFromJws(name);
  if (!alg.ok() || KeyTypeFor(*alg) != PublicKeyType::kRsa)
    return InvalidArgumentError(
        "options.algorithm must be one of PS256, PS384, PS512, RS256, RS384, RS512");
  return *alg;
}

StatusOr<Bytes> Sign(KeySpec spec, const SecretBytes& material, std::span<const uint8_t> message,
                     std::optional<SignatureAlgorithm> rsa_algorithm) {
  return Info(spec).family.Sign(spec, material, message, rsa_algorithm);
}

bool ParsedPrivateKey::Worthwhile(KeySpec spec) { return IsRsa(spec) || spec == KeySpec::kP256; }

StatusOr<std::shared_ptr<const ParsedPrivateKey>> ParsedPrivateKey::Parse(
    KeySpec spec, const SecretBytes& material) {
  if (!Worthwhile(spec)) return InvalidArgumentError("only RSA and P-256 keys are parsed");
  SIRR_ASSIGN_OR_RETURN(Pkey key, LoadPrivate(spec, material));
  return std::shared_ptr<const ParsedPrivateKey>(new ParsedPrivateKey(key.release(), spec));
}

ParsedPrivateKey::~ParsedPrivateKey() = default;

void ParsedPrivateKey::PkeyDeleter::operator()(void* pkey) const {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey));
}

StatusOr<Bytes> Sign(const ParsedPrivateKey& key, std::span<const uint8_t> message,
                     std::optional<SignatureAlgorithm> rsa_algorithm) {
  EVP_PKEY* pkey = static_cast<EVP_PKEY*>(key.pkey_.get());
  if (key.spec() == KeySpec::kP256) {
    SIRR_ASSIGN_OR_RETURN(Bytes der, SignWithPkey(pkey, EVP_sha256(), false, message));
    return EcdsaDerToRaw(der);
  }
  if (!rsa_algorithm) return NeedRsaAlgorithm();
  if (KeyTypeFor(*rsa_algorithm) != PublicKeyType::kRsa)
    return ParseRsaAlgorithm(JwsName(*rsa_algorithm)).status();
  return SignWithPkey(pkey, DigestOf(*rsa_algorithm), IsPss(*rsa_algorithm), message);
}

StatusOr<bool> Verify(KeySpec spec, std::span<const uint8_t> public_key,
                      std::span<const uint8_t> message, std::span<const uint8_t> signature,
                      std::optional<SignatureAlgorithm> rsa_algorithm) {
  return Info(spec).family.Verify(spec, public_key, message, signature, rsa_algorithm);
}

StatusOr<Bytes> ParsePublicKey(KeySpec spec, std::string_view text) {
  return Info(spec).family.ParsePublic(spec, text);
}

}  // namespace sirr::crypto
