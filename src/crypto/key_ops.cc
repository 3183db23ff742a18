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
#include "crypto/secp256k1.h"
#include "crypto/zk/babyjub.h"

namespace sirr::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

Status OpenSslError(const char* what) {
  ERR_clear_error();
  return InternalError(std::string(what) + " failed");
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

StatusOr<Pkey> LoadPrivate(KeySpec spec, const SecretBytes& material) {
  const unsigned char* p = material.reveal().data();
  int type = IsRsa(spec) ? EVP_PKEY_RSA : EVP_PKEY_EC;
  Pkey key(d2i_PrivateKey(type, nullptr, &p, static_cast<long>(material.size())));
  if (!key) return OpenSslError("loading a private key");
  return key;
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

int RsaBits(KeySpec spec) {
  switch (spec) {
    case KeySpec::kRsa2048:
      return 2048;
    case KeySpec::kRsa3072:
      return 3072;
    case KeySpec::kRsa4096:
      return 4096;
    default:
      return 0;
  }
}

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

}  // namespace

// ---------------------------------------------------------------------------------- specs

StatusOr<KeySpec> ParseKeySpec(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "aes-256-gcm") return KeySpec::kAes256Gcm;
  if (n == "chacha20-poly1305" || n == "chacha20") return KeySpec::kChaCha20Poly1305;
  if (n == "ed25519") return KeySpec::kEd25519;
  if (n == "secp256k1") return KeySpec::kSecp256k1;
  if (n == "p-256" || n == "p256") return KeySpec::kP256;
  if (n == "rsa-2048") return KeySpec::kRsa2048;
  if (n == "rsa-3072") return KeySpec::kRsa3072;
  if (n == "rsa-4096") return KeySpec::kRsa4096;
  if (n == "c25519" || n == "x25519") return KeySpec::kX25519;
  if (n == "bip39") return KeySpec::kBip39;
  if (n == "babyjubjub") return KeySpec::kBabyJubJub;
  return InvalidArgumentError(
      "unknown spec; one of AES-256-GCM, ChaCha20-Poly1305, Ed25519, secp256k1, P-256, "
      "RSA-2048, RSA-3072, RSA-4096, C25519, BIP39, babyJubJub");
}

std::string_view SpecName(KeySpec spec) {
  switch (spec) {
    case KeySpec::kAes256Gcm:
      return "AES-256-GCM";
    case KeySpec::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
    case KeySpec::kEd25519:
      return "Ed25519";
    case KeySpec::kSecp256k1:
      return "secp256k1";
    case KeySpec::kP256:
      return "P-256";
    case KeySpec::kRsa2048:
      return "RSA-2048";
    case KeySpec::kRsa3072:
      return "RSA-3072";
    case KeySpec::kRsa4096:
      return "RSA-4096";
    case KeySpec::kX25519:
      return "C25519";
    case KeySpec::kBip39:
      return "BIP39";
    case KeySpec::kBabyJubJub:
      return "babyJubJub";
  }
  return "?";
}

bool IsRsa(KeySpec spec) { return RsaBits(spec) != 0; }
bool IsSymmetric(KeySpec spec) {
  return spec == KeySpec::kAes256Gcm || spec == KeySpec::kChaCha20Poly1305;
}
KeyType TypeOf(KeySpec spec) {
  return IsSymmetric(spec) ? KeyType::kSymmetric : KeyType::kAsymmetric;
}
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
KeyUsage DefaultUsage(KeySpec spec) {
  switch (spec) {
    case KeySpec::kAes256Gcm:
    case KeySpec::kChaCha20Poly1305:
    case KeySpec::kX25519:
      return KeyUsage::kEncryptDecrypt;
    default:
      return KeyUsage::kSignVerify;
  }
}
bool AllowsUsage(KeySpec spec, KeyUsage usage) {
  return IsRsa(spec) || usage == DefaultUsage(spec);
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
  EnsureSodium();
  GeneratedKey out;
  switch (spec) {
    case KeySpec::kAes256Gcm:
    case KeySpec::kChaCha20Poly1305:
      return SymmetricKeyFrom(spec, random.RandomSecret(32));
    case KeySpec::kEd25519: {
      SecretBytes seed = random.RandomSecret(crypto_sign_SEEDBYTES);
      out.material = SecretBytes(crypto_sign_SECRETKEYBYTES);
      out.public_key.resize(crypto_sign_PUBLICKEYBYTES);
      crypto_sign_seed_keypair(out.public_key.data(), out.material.reveal_mut().data(),
                               seed.reveal().data());
      return out;
    }
    case KeySpec::kX25519: {
      out.material = random.RandomSecret(crypto_scalarmult_SCALARBYTES);
      out.public_key.resize(crypto_scalarmult_BYTES);
      if (crypto_scalarmult_base(out.public_key.data(), out.material.reveal().data()) != 0)
        return InternalError("X25519 key generation failed");
      return out;
    }
    case KeySpec::kSecp256k1: {
      out.material = secp256k1::GeneratePrivateKey(random);
      SIRR_ASSIGN_OR_RETURN(out.public_key, secp256k1::PublicKey(out.material));
      return out;
    }
    case KeySpec::kP256: {
      Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
      if (!key) return OpenSslError("P-256 key generation");
      SIRR_ASSIGN_OR_RETURN(out.material, PrivateDer(key.get()));
      out.public_key.resize(65);
      size_t len = 0;
      if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                          out.public_key.data(), out.public_key.size(),
                                          &len) != 1 ||
          len != 65)
        return OpenSslError("P-256 public key encoding");
      return out;
    }
    case KeySpec::kRsa2048:
    case KeySpec::kRsa3072:
    case KeySpec::kRsa4096: {
      Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(RsaBits(spec))));
      if (!key) return OpenSslError("RSA key generation");
      SIRR_ASSIGN_OR_RETURN(out.material, PrivateDer(key.get()));
      SIRR_ASSIGN_OR_RETURN(out.public_key, PublicDer(key.get()));
      return out;
    }
    case KeySpec::kBip39: {
      SIRR_ASSIGN_OR_RETURN(SecretBytes material, hd::GenerateMaterial(random));
      return Bip39KeyFrom(std::move(material));
    }
    case KeySpec::kBabyJubJub: {
      out.material = random.RandomSecret(zk::kBabyJubPrivateKeySize);
      SIRR_ASSIGN_OR_RETURN(auto packed, zk::BabyJubPublicKey(out.material));
      out.public_key.assign(packed.begin(), packed.end());
      return out;
    }
  }
  return InvalidArgumentError("unknown spec");
}

StatusOr<PublicParts> DescribePublicKey(KeySpec spec, std::span<const uint8_t> public_key) {
  PublicParts parts;
  if (IsSymmetric(spec)) return parts;
  if (spec == KeySpec::kBip39) {
    parts.public_key.assign(public_key.begin(), public_key.end());  // the root xpub
    return parts;
  }
  if (IsRsa(spec)) {
    SIRR_ASSIGN_OR_RETURN(auto key, PublicKey::FromDer(public_key));
    SIRR_ASSIGN_OR_RETURN(parts.public_key, key->ToPem());
    parts.fingerprint = key->ssh_md5_fingerprint();
    return parts;
  }
  parts.public_key = "0x" + HexEncode(public_key);
  if (spec == KeySpec::kSecp256k1) {
    SIRR_ASSIGN_OR_RETURN(parts.address, hd::EthereumAddress(public_key));
  }
  return parts;
}

StatusOr<std::pair<std::string, SecretBytes>> ExportPrivate(KeySpec spec,
                                                            const SecretBytes& material) {
  switch (spec) {
    case KeySpec::kBip39: {
      SIRR_ASSIGN_OR_RETURN(SecretBytes mnemonic, hd::MaterialMnemonic(material));
      return std::make_pair(std::string("mnemonic"), std::move(mnemonic));
    }
    case KeySpec::kEd25519:
      return std::make_pair(std::string("seed"),
                            HexEncodeSecret(material.reveal().first(crypto_sign_SEEDBYTES), "0x"));
    case KeySpec::kP256: {
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
    case KeySpec::kRsa2048:
    case KeySpec::kRsa3072:
    case KeySpec::kRsa4096: {
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
    default:
      return std::make_pair(std::string("private_key"), HexEncodeSecret(material.reveal(), "0x"));
  }
}

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
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1)
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
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1)
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
  switch (spec) {
    case KeySpec::kEd25519: {
      EnsureSodium();
      if (material.size() != crypto_sign_SECRETKEYBYTES)
        return InternalError("Ed25519 key material has the wrong size");
      Bytes sig(crypto_sign_BYTES);
      crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                           material.reveal().data());
      return sig;
    }
    case KeySpec::kSecp256k1:
      return secp256k1::Sign(material, message);
    case KeySpec::kBabyJubJub: {
      SIRR_ASSIGN_OR_RETURN(zk::U256 element, zk::BabyJubMessage(message));
      SIRR_ASSIGN_OR_RETURN(auto sig, zk::BabyJubSign(material, element));
      return Bytes(sig.begin(), sig.end());
    }
    case KeySpec::kP256:
    case KeySpec::kRsa2048:
    case KeySpec::kRsa3072:
    case KeySpec::kRsa4096: {
      SIRR_ASSIGN_OR_RETURN(auto parsed, ParsedPrivateKey::Parse(spec, material));
      return Sign(*parsed, message, rsa_algorithm);
    }
    default:
      return CannotSign(spec);
  }
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
  switch (spec) {
    case KeySpec::kEd25519:
      EnsureSodium();
      if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES)
        return false;
      return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                         public_key.data()) == 0;
    case KeySpec::kSecp256k1:
      if (message.size() != secp256k1::kDigestSize)
        return InvalidArgumentError("secp256k1 verifies a 32-byte digest; the message is " +
                                    std::to_string(message.size()) + " bytes");
      return secp256k1::Verify(public_key, message, signature);
    case KeySpec::kBabyJubJub: {
      SIRR_ASSIGN_OR_RETURN(zk::U256 element, zk::BabyJubMessage(message));
      return zk::BabyJubVerify(public_key, element, signature);
    }
    case KeySpec::kP256: {
      if (public_key.size() != 65 || public_key[0] != 0x04) return false;
      Bytes der(std::begin(kP256SpkiPrefix), std::end(kP256SpkiPrefix));
      der.insert(der.end(), public_key.begin(), public_key.end());
      auto key = PublicKey::FromDer(der);
      if (!key.ok()) return false;
      return (*key)->Verify(SignatureAlgorithm::kEs256, message, signature);
    }
    case KeySpec::kRsa2048:
    case KeySpec::kRsa3072:
    case KeySpec::kRsa4096: {
      if (!rsa_algorithm) return NeedRsaAlgorithm();
      if (KeyTypeFor(*rsa_algorithm) != PublicKeyType::kRsa)
        return ParseRsaAlgorithm(JwsName(*rsa_algorithm)).status();
      auto key = PublicKey::FromDer(public_key);
      if (!key.ok() || (*key)->type() != PublicKeyType::kRsa) return false;
      return (*key)->Verify(*rsa_algorithm, message, signature);
    }
    default:
      return CannotSign(spec);
  }
}

StatusOr<Bytes> ParsePublicKey(KeySpec spec, std::string_view text) {
  if (IsSymmetric(spec)) return InvalidArgumentError("a symmetric key has no public key");
  if (spec == KeySpec::kBip39)
    return InvalidArgumentError(
        "verify BIP39 wallet signatures with spec secp256k1 and the derived public key");
  if (IsRsa(spec)) {
    if (text.find("-----BEGIN") != std::string_view::npos) {
      auto keys = PublicKey::ParsePem(text);
      if (!keys.ok() || keys->size() != 1) return Bytes();  // not a usable key: verifies false
      return (*keys)[0]->ToDer();
    }
    return HexKey(text);  // hex of DER SubjectPublicKeyInfo
  }
  if (spec == KeySpec::kBabyJubJub) {
    SIRR_ASSIGN_OR_RETURN(Bytes packed, HexKey(text));
    if (!zk::BabyJubIsPoint(packed))
      return InvalidArgumentError(
          "public_key must be a packed Baby Jubjub point (32 bytes: y little-endian, sign of x)");
    return packed;
  }
  return HexKey(text);
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
