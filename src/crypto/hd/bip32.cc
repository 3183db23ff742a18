#include "crypto/hd/bip32.h"

#include <openssl/evp.h>
#include <uninorm.h>
#include <unistr.h>

#include <algorithm>
#include <cstdlib>

#include "crypto/crypto.h"
#include "crypto/secp256k1.h"

namespace sirr::crypto::hd {
namespace {

constexpr uint32_t kVersionPublic = 0x0488B21E;
constexpr uint32_t kVersionPrivate = 0x0488ADE4;
constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

// HMAC-SHA512(key, data) as (left 32 bytes, right 32 bytes).
std::pair<SecretBytes, SecretBytes> HmacSha512Split(std::span<const uint8_t> key,
                                                    std::span<const uint8_t> data) {
  SecretBytes out = HmacSha512(key, data);
  return {SecretBytes(out.reveal().first(32)), SecretBytes(out.reveal().subspan(32))};
}

void PutBe32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

uint32_t GetBe32(std::span<const uint8_t> b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// NFKD of UTF-8 text (libunistring); the result may be secret, so it is wiped when freed.
StatusOr<SecretBytes> Nfkd(std::string_view text, const char* what) {
  if (text.empty()) return SecretBytes();
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  if (u8_check(bytes, text.size()) != nullptr)
    return InvalidArgumentError(std::string(what) + " is not valid UTF-8");
  size_t len = 0;
  uint8_t* out = u8_normalize(UNINORM_NFKD, reinterpret_cast<const uint8_t*>(text.data()),
                              text.size(), nullptr, &len);
  if (out == nullptr) return InvalidArgumentError(std::string(what) + " is not valid UTF-8");
  SecretBytes result(std::span<const uint8_t>(out, len));
  SecureWipe(out, len);
  std::free(out);
  return result;
}

}  // namespace

uint32_t ExtendedKey::fingerprint() const { return GetBe32(Hash160(public_key)); }

StatusOr<SecretBytes> Bip39Seed(std::string_view mnemonic, std::string_view passphrase) {
  SIRR_ASSIGN_OR_RETURN(SecretBytes words, Nfkd(mnemonic, "mnemonic"));
  SIRR_ASSIGN_OR_RETURN(SecretBytes pass, Nfkd(passphrase, "passphrase"));
  SecretBytes salt(8 + pass.size());
  std::copy_n("mnemonic", 8, salt.reveal_mut().begin());
  std::copy(pass.reveal().begin(), pass.reveal().end(), salt.reveal_mut().begin() + 8);
  SecretBytes seed(64);
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(words.reveal().data()),
                        static_cast<int>(words.size()), salt.reveal().data(),
                        static_cast<int>(salt.size()), 2048, EVP_sha512(), 64,
                        seed.reveal_mut().data()) != 1)
    return InternalError("PBKDF2 failed");
  return seed;
}

StatusOr<ExtendedKey> MasterKey(const SecretBytes& seed) {
  if (seed.size() < 16 || seed.size() > 64)
    return InvalidArgumentError("BIP32 seed must be 16 to 64 bytes");
  static constexpr std::string_view kKey = "Bitcoin seed";
  auto [il, ir] = HmacSha512Split(
      std::span(reinterpret_cast<const uint8_t*>(kKey.data()), kKey.size()), seed.reveal());
  if (!secp256k1::CheckPrivateKey(il).ok())
    return InvalidArgumentError("seed gives an invalid master key; use another seed");
  ExtendedKey key;
  SIRR_ASSIGN_OR_RETURN(key.public_key, secp256k1::CompressedPublicKey(il));
  key.private_key = std::move(il);
  key.chain_code = std::move(ir);
  return key;
}

StatusOr<ExtendedKey> DeriveChild(const ExtendedKey& parent, uint32_t index) {
  if (parent.depth == 255) return InvalidArgumentError("BIP32 depth limit (255) reached");
  const bool hardened = index >= kHardened;
  if (hardened && !parent.has_private())
    return InvalidArgumentError("hardened derivation needs the private key");
  // Data: 0x00 || k (hardened) or serP(K) (normal), then ser32(i).
  SecretBytes data(37);
  auto d = data.reveal_mut();
  if (hardened) {
    d[0] = 0;
    std::copy(parent.private_key.reveal().begin(), parent.private_key.reveal().end(),
              d.begin() + 1);
  } else {
    std::copy(parent.public_key.begin(), parent.public_key.end(), d.begin());
  }
  for (int i = 0; i < 4; ++i) d[33 + i] = static_cast<uint8_t>(index >> (24 - 8 * i));
  auto [il, ir] = HmacSha512Split(parent.chain_code.reveal(), data.reveal());
  std::span<const uint8_t, 32> tweak(il.reveal().data(), 32);

  ExtendedKey child;
  child.depth = static_cast<uint8_t>(parent.depth + 1);
  child.parent_fingerprint = parent.fingerprint();
  child.child_number = index;
  child.chain_code = std::move(ir);
  if (parent.has_private()) {
    auto k = secp256k1::AddPrivate(parent.private_key, tweak);
    if (!k.ok()) return InvalidArgumentError("invalid child key at index " + std::to_string(index));
    child.private_key = std::move(k).value();
    SIRR_ASSIGN_OR_RETURN(child.public_key, secp256k1::CompressedPublicKey(child.private_key));
  } else {
    auto pub = secp256k1::AddPublic(parent.public_key, tweak);
    if (!pub.ok())
      return InvalidArgumentError("invalid child key at index " + std::to_string(index));
    child.public_key = std::move(pub).value();
  }
  return child;
}

StatusOr<ExtendedKey> DerivePath(const ExtendedKey& root, std::span<const uint32_t> path) {
  if (path.empty()) {
    ExtendedKey copy;
    copy.depth = root.depth;
    copy.parent_fingerprint = root.parent_fingerprint;
    copy.child_number = root.child_number;
    copy.chain_code = root.chain_code.Clone();
    copy.private_key = root.private_key.Clone();
    copy.public_key = root.public_key;
    return copy;
  }
  SIRR_ASSIGN_OR_RETURN(ExtendedKey key, DeriveChild(root, path[0]));
  for (size_t i = 1; i < path.size(); ++i) {
    SIRR_ASSIGN_OR_RETURN(key, DeriveChild(key, path[i]));
  }
  return key;
}

StatusOr<std::vector<uint32_t>> ParsePath(std::string_view path) {
  if (path.empty() || path[0] != 'm')
    return InvalidArgumentError("derivation path must start with 'm'");
  std::vector<uint32_t> out;
  std::string_view rest = path.substr(1);
  if (rest.empty()) return out;
  if (rest[0] != '/') return InvalidArgumentError("derivation path must be m/…");
  rest.remove_prefix(1);
  int position = 1;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    bool hardened =
        !part.empty() && (part.back() == '\'' || part.back() == 'h' || part.back() == 'H');
    if (hardened) part.remove_suffix(1);
    uint64_t value = 0;
    bool ok = !part.empty() && part.size() <= 10 && (part.size() == 1 || part[0] != '0');
    for (char c : part) {
      if (c < '0' || c > '9') ok = false;
      value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!ok || value >= kHardened)
      return InvalidArgumentError("derivation path component " + std::to_string(position) +
                                  " must be an index below 2^31, optionally followed by '");
    out.push_back(static_cast<uint32_t>(value) | (hardened ? kHardened : 0));
    if (out.size() > 255) return InvalidArgumentError("derivation path is deeper than 255");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
    ++position;
  }
  return out;
}

std::string FormatPath(std::span<const uint32_t> path) {
  std::string out = "m";
  for (uint32_t index : path) {
    out += '/';
    out += std::to_string(index & ~kHardened);
    if (index & kHardened) out += '\'';
  }
  return out;
}

std::string SerializePublic(const ExtendedKey& key) {
  Bytes b;
  b.reserve(78);
  PutBe32(b, kVersionPublic);
  b.push_back(key.depth);
  PutBe32(b, key.parent_fingerprint);
  PutBe32(b, key.child_number);
  b.insert(b.end(), key.chain_code.reveal().begin(), key.chain_code.reveal().end());
  b.insert(b.end(), key.public_key.begin(), key.public_key.end());
  return Base58CheckEncode(b);
}

StatusOr<ExtendedKey> ParseExtendedKey(std::string_view text) {
  SIRR_ASSIGN_OR_RETURN(Bytes b, Base58CheckDecode(text));
  SecretBytes raw(b);
  SecureWipe(b.data(), b.size());
  auto r = raw.reveal();
  if (r.size() != 78) return InvalidArgumentError("extended key must be 78 bytes");
  const uint32_t version = GetBe32(r);
  ExtendedKey key;
  key.depth = r[4];
  key.parent_fingerprint = GetBe32(r.subspan(5));
  key.child_number = GetBe32(r.subspan(9));
  key.chain_code = SecretBytes(r.subspan(13, 32));
  auto k = r.subspan(45, 33);
  if (key.depth == 0 && (key.parent_fingerprint != 0 || key.child_number != 0))
    return InvalidArgumentError("extended key of depth 0 has a parent");
  if (version == kVersionPrivate) {
    if (k[0] != 0) return InvalidArgumentError("extended private key lacks its 0x00 prefix");
    key.private_key = SecretBytes(k.subspan(1));
    auto pub = secp256k1::CompressedPublicKey(key.private_key);
    if (!pub.ok()) return InvalidArgumentError("extended private key is out of range");
    key.public_key = std::move(pub).value();
  } else if (version == kVersionPublic) {
    auto pub = secp256k1::ConvertPublicKey(k, true);
    if (!pub.ok() || (k[0] != 2 && k[0] != 3))
      return InvalidArgumentError("extended public key is not a compressed curve point");
    key.public_key = std::move(pub).value();
  } else {
    return InvalidArgumentError("unknown extended key version (want xpub or xprv)");
  }
  return key;
}

std::array<uint8_t, 20> Hash160(std::span<const uint8_t> data) {
  // Fetched once (this runs for every derivation step's parent fingerprint).
  static const EVP_MD* ripemd160 = EVP_MD_fetch(nullptr, "RIPEMD160", nullptr);
  auto sha = Sha256(data);
  std::array<uint8_t, 20> out;
  unsigned int len = 0;
  if (ripemd160 == nullptr ||
      EVP_Digest(sha.data(), sha.size(), out.data(), &len, ripemd160, nullptr) != 1 || len != 20)
    std::abort();
  return out;
}

std::string Base58CheckEncode(std::span<const uint8_t> payload) {
  Bytes data(payload.begin(), payload.end());
  auto check = Sha256(Sha256(payload));
  data.insert(data.end(), check.begin(), check.begin() + 4);
  // Repeated division of the big-endian number by 58.
  size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  std::string digits;
  std::vector<uint8_t> num(data.begin() + static_cast<std::ptrdiff_t>(zeros), data.end());
  while (!num.empty()) {
    uint32_t rem = 0;
    std::vector<uint8_t> quotient;
    quotient.reserve(num.size());
    for (uint8_t byte : num) {
      uint32_t acc = (rem << 8) | byte;
      uint8_t q = static_cast<uint8_t>(acc / 58);
      rem = acc % 58;
      if (!quotient.empty() || q != 0) quotient.push_back(q);
    }
    digits.push_back(kAlphabet[rem]);
    num = std::move(quotient);
  }
  std::string out(zeros, '1');
  out.append(digits.rbegin(), digits.rend());
  return out;
}

StatusOr<Bytes> Base58CheckDecode(std::string_view text) {
  if (text.empty() || text.size() > 200) return InvalidArgumentError("bad Base58Check length");
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  Bytes num;  // big-endian
  for (char c : text.substr(zeros)) {
    const char* p = std::find(kAlphabet, kAlphabet + 58, c);
    if (p == kAlphabet + 58) return InvalidArgumentError("not a Base58 character");
    uint32_t carry = static_cast<uint32_t>(p - kAlphabet);
    for (auto it = num.rbegin(); it != num.rend(); ++it) {
      carry += uint32_t{*it} * 58;
      *it = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      num.insert(num.begin(), static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  Bytes data(zeros, 0);
  data.insert(data.end(), num.begin(), num.end());
  if (data.size() < 4) return InvalidArgumentError("Base58Check data too short");
  Bytes payload(data.begin(), data.end() - 4);
  auto check = Sha256(Sha256(payload));
  if (!std::equal(check.begin(), check.begin() + 4, data.end() - 4))
    return InvalidArgumentError("Base58Check checksum mismatch");
  return payload;
}

}  // namespace sirr::crypto::hd
