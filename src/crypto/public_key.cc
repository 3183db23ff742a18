#include "crypto/public_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace sirr::crypto {
namespace {

EVP_PKEY* Pkey(void* p) { return static_cast<EVP_PKEY*>(p); }

void PutU32(Bytes& out, size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(n >> shift));
}
void PutString(Bytes& out, std::span<const uint8_t> s) {
  PutU32(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}
void PutString(Bytes& out, std::string_view s) {
  PutString(out, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
// SSH mpint: big-endian, a leading zero byte when the top bit is set.
void PutMpint(Bytes& out, const BIGNUM* bn) {
  Bytes mag(static_cast<size_t>(BN_num_bytes(bn)));
  BN_bn2bin(bn, mag.data());
  if (!mag.empty() && (mag[0] & 0x80)) mag.insert(mag.begin(), 0);
  PutString(out, mag);
}

StatusOr<Bytes> BigNumParam(EVP_PKEY* key, const char* name, size_t pad_to = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return InternalError("cannot read key parameter");
  Bytes out(pad_to ? pad_to : static_cast<size_t>(BN_num_bytes(bn)));
  int ok =
      pad_to ? BN_bn2binpad(bn, out.data(), static_cast<int>(pad_to)) : BN_bn2bin(bn, out.data());
  BN_free(bn);
  if (ok < 0) return InternalError("cannot encode key parameter");
  return out;
}

StatusOr<Bytes> SshWireEncoding(EVP_PKEY* key, PublicKeyType type) {
  Bytes out;
  switch (type) {
    case PublicKeyType::kRsa: {
      BIGNUM* n = nullptr;
      BIGNUM* e = nullptr;
      if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
          EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        BN_free(n);
        return InternalError("cannot read the RSA key");
      }
      PutString(out, std::string_view("ssh-rsa"));
      PutMpint(out, e);
      PutMpint(out, n);
      BN_free(n);
      BN_free(e);
      return out;
    }
    case PublicKeyType::kEcP256: {
      SIRR_ASSIGN_OR_RETURN(Bytes x, BigNumParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
      SIRR_ASSIGN_OR_RETURN(Bytes y, BigNumParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
      Bytes point{0x04};
      point.insert(point.end(), x.begin(), x.end());
      point.insert(point.end(), y.begin(), y.end());
      PutString(out, std::string_view("ecdsa-sha2-nistp256"));
      PutString(out, std::string_view("nistp256"));
      PutString(out, point);
      return out;
    }
    case PublicKeyType::kEd25519: {
      uint8_t raw[32];
      size_t len = sizeof(raw);
      if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32)
        return InternalError("cannot read the Ed25519 key");
      PutString(out, std::string_view("ssh-ed25519"));
      PutString(out, std::span<const uint8_t>(raw, len));
      return out;
    }
  }
  return InternalError("unknown key type");
}

std::string Md5Fingerprint(const Bytes& blob) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(blob.data(), blob.size(), md, &len, EVP_md5(), nullptr) != 1) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    if (i) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The label from "# kid: NAME" / "kid: NAME" lines in the text before a PEM block.
std::string LabelIn(std::string_view preamble) {
  std::string label;
  while (!preamble.empty()) {
    size_t nl = preamble.find('\n');
    std::string_view line = Trim(preamble.substr(0, nl));
    preamble.remove_prefix(nl == std::string_view::npos ? preamble.size() : nl + 1);
    if (line.starts_with('#')) line = Trim(line.substr(1));
    if (line.starts_with("kid:")) label = std::string(Trim(line.substr(4)));
  }
  return label;
}

}  // namespace

StatusOr<SignatureAlgorithm> SignatureAlgorithmFromJws(std::string_view name) {
  if (name == "RS256") return SignatureAlgorithm::kRs256;
  if (name == "RS384") return SignatureAlgorithm::kRs384;
  if (name == "RS512") return SignatureAlgorithm::kRs512;
  if (name == "PS256") return SignatureAlgorithm::kPs256;
  if (name == "PS384") return SignatureAlgorithm::kPs384;
  if (name == "PS512") return SignatureAlgorithm::kPs512;
  if (name == "ES256") return SignatureAlgorithm::kEs256;
  if (name == "EdDSA") return SignatureAlgorithm::kEdDsa;
  return NotFoundError("unsupported signature algorithm");
}

std::string_view JwsName(SignatureAlgorithm alg) {
  switch (alg) {
    case SignatureAlgorithm::kRs256:
      return "RS256";
    case SignatureAlgorithm::kRs384:
      return "RS384";
    case SignatureAlgorithm::kRs512:
      return "RS512";
    case SignatureAlgorithm::kPs256:
      return "PS256";
    case SignatureAlgorithm::kPs384:
      return "PS384";
    case SignatureAlgorithm::kPs512:
      return "PS512";
    case SignatureAlgorithm::kEs256:
      return "ES256";
    case SignatureAlgorithm::kEdDsa:
      return "EdDSA";
  }
  return "?";
}

PublicKeyType KeyTypeFor(SignatureAlgorithm alg) {
  switch (alg) {
    case SignatureAlgorithm::kEs256:
      return PublicKeyType::kEcP256;
    case SignatureAlgorithm::kEdDsa:
      return PublicKeyType::kEd25519;
    default:
      return PublicKeyType::kRsa;
  }
}

PublicKey::~PublicKey() { EVP_PKEY_free(Pkey(pkey_)); }

std::string PublicKey::Description() const {
  switch (type_) {
    case PublicKeyType::kRsa:
      return "RSA-" + std::to_string(bits_);
    case PublicKeyType::kEcP256:
      return "P-256";
    case PublicKeyType::kEd25519:
      return "Ed25519";
  }
  return "?";
}

StatusOr<bool> PublicKey::Verify(SignatureAlgorithm alg, std::span<const uint8_t> message,
                                 std::span<const uint8_t> signature) const {
  if (KeyTypeFor(alg) != type_)
    return InvalidArgumentError(std::string(JwsName(alg)) + " does not fit a " + Description() +
                                " key");
  const EVP_MD* md = nullptr;
  bool pss = false;
  Bytes der;
  std::span<const uint8_t> sig = signature;
  switch (alg) {
    case SignatureAlgorithm::kPs256:
      pss = true;
      [[fallthrough]];
    case SignatureAlgorithm::kRs256:
      md = EVP_sha256();
      break;
    case SignatureAlgorithm::kPs384:
      pss = true;
      [[fallthrough]];
    case SignatureAlgorithm::kRs384:
      md = EVP_sha384();
      break;
    case SignatureAlgorithm::kPs512:
      pss = true;
      [[fallthrough]];
    case SignatureAlgorithm::kRs512:
      md = EVP_sha512();
      break;
    case SignatureAlgorithm::kEs256: {
      // JWS carries r || s (32 bytes each); OpenSSL wants a DER ECDSA-Sig-Value.
      if (signature.size() != 64) return false;
      ECDSA_SIG* es = ECDSA_SIG_new();
      BIGNUM* r = BN_bin2bn(signature.data(), 32, nullptr);
      BIGNUM* s = BN_bin2bn(signature.data() + 32, 32, nullptr);
      if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return InternalError("out of memory");
      }
      unsigned char* p = nullptr;
      int n = i2d_ECDSA_SIG(es, &p);
      ECDSA_SIG_free(es);
      if (n <= 0) return InternalError("cannot encode an ECDSA signature");
      der.assign(p, p + n);
      OPENSSL_free(p);
      sig = der;
      md = EVP_sha256();
      break;
    }
    case SignatureAlgorithm::kEdDsa:
      md = nullptr;  // Ed25519 hashes internally
      break;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return InternalError("out of memory");
  EVP_PKEY_CTX* pctx = nullptr;
  int rc = EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, Pkey(pkey_));
  if (rc == 1 && pss)
    rc = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
  if (rc == 1) rc = EVP_DigestVerify(ctx, sig.data(), sig.size(), message.data(), message.size());
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return rc == 1;
}

StatusOr<std::unique_ptr<PublicKey>> PublicKey::Adopt(void* raw_key, const std::string& where) {
  EVP_PKEY* raw = Pkey(raw_key);
  std::unique_ptr<PublicKey> key(new PublicKey());
  key->pkey_ = raw;
  switch (EVP_PKEY_get_base_id(raw)) {
    case EVP_PKEY_RSA:
      key->type_ = PublicKeyType::kRsa;
      key->bits_ = EVP_PKEY_get_bits(raw);
      if (key->bits_ < 2048)
        return InvalidArgumentError(where + ": RSA keys must have at least 2048 bits");
      break;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(raw, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                         &len) != 1 ||
          std::string_view(group) != "prime256v1")
        return InvalidArgumentError(where + ": only the P-256 curve is supported for EC keys");
      key->type_ = PublicKeyType::kEcP256;
      key->bits_ = 256;
      break;
    }
    case EVP_PKEY_ED25519:
      key->type_ = PublicKeyType::kEd25519;
      key->bits_ = 256;
      break;
    default:
      return InvalidArgumentError(where + ": unsupported key type (RSA, P-256 or Ed25519)");
  }
  SIRR_ASSIGN_OR_RETURN(Bytes wire, SshWireEncoding(raw, key->type_));
  key->fingerprint_ = Md5Fingerprint(wire);
  return key;
}

StatusOr<std::unique_ptr<PublicKey>> PublicKey::FromDer(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  ERR_clear_error();
  if (!raw || p != der.data() + der.size()) {
    EVP_PKEY_free(raw);
    return InvalidArgumentError("not a valid DER public key");
  }
  return Adopt(raw, "public key");
}

StatusOr<Bytes> PublicKey::ToDer() const {
  unsigned char* p = nullptr;
  int n = i2d_PUBKEY(Pkey(pkey_), &p);
  if (n <= 0) return InternalError("cannot encode the public key");
  Bytes out(p, p + n);
  OPENSSL_free(p);
  return out;
}

StatusOr<std::string> PublicKey::ToPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PUBKEY(bio, Pkey(pkey_)) != 1) {
    BIO_free(bio);
    return InternalError("cannot encode the public key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

StatusOr<std::vector<std::unique_ptr<PublicKey>>> PublicKey::ParsePem(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----";
  constexpr std::string_view kEnd = "-----END PUBLIC KEY-----";
  std::vector<std::unique_ptr<PublicKey>> keys;
  size_t pos = 0;
  while (true) {
    size_t begin = pem.find(kBegin, pos);
    if (begin == std::string_view::npos) break;
    size_t end = pem.find(kEnd, begin);
    if (end == std::string_view::npos)
      return InvalidArgumentError("key " + std::to_string(keys.size() + 1) +
                                  ": PEM block without an END line");
    end += kEnd.size();
    const std::string where = "key " + std::to_string(keys.size() + 1);
    std::string_view block = pem.substr(begin, end - begin);
    BIO* bio = BIO_new_mem_buf(block.data(), static_cast<int>(block.size()));
    EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    ERR_clear_error();
    if (!raw) return InvalidArgumentError(where + ": not a valid PEM public key");
    SIRR_ASSIGN_OR_RETURN(auto key, Adopt(raw, where));
    key->label_ = LabelIn(pem.substr(pos, begin - pos));
    keys.push_back(std::move(key));
    pos = end;
  }
  if (keys.empty()) return InvalidArgumentError("no \"BEGIN PUBLIC KEY\" block found");
  return keys;
}

}  // namespace sirr::crypto
