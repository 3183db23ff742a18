#include "crypto/share_link.h"

#include "base/encoding.h"
#include "crypto/crypto.h"

namespace sirr::crypto::share {
namespace {

constexpr std::string_view kAad = "sirr-share-v1";

SecretBytes Derive(const SecretBytes& link_key, std::string_view info) {
  auto out = HkdfSha256(link_key, {}, info, 32);
  if (!out.ok()) std::abort();  // HKDF over a 32-byte key cannot fail
  return std::move(*out);
}

}  // namespace

SecretBytes NewLinkKey(Random& random) {
  SecretBytes k(kKeySize);
  random.Fill(k.reveal_mut());
  return k;
}

std::array<uint8_t, 32> Proof(const SecretBytes& link_key) {
  SecretBytes p = Derive(link_key, "sirr-share-v1 proof");
  std::array<uint8_t, 32> out;
  std::copy(p.reveal().begin(), p.reveal().end(), out.begin());
  return out;
}

std::array<uint8_t, 32> ProofHash(const SecretBytes& link_key) { return Sha256(Proof(link_key)); }

StatusOr<Bytes> Seal(const SecretBytes& link_key, std::span<const uint8_t> plaintext,
                     Random& random) {
  SecretBytes key = Derive(link_key, "sirr-share-v1 encrypt");
  uint8_t nonce[kGcmNonceSize];
  random.Fill(nonce);
  SIRR_ASSIGN_OR_RETURN(Bytes ct, Aes256GcmEncrypt(key, nonce, plaintext, AsBytes(kAad)));
  Bytes blob;
  blob.reserve(1 + sizeof nonce + ct.size());
  blob.push_back(kVersion);
  blob.insert(blob.end(), nonce, nonce + sizeof nonce);
  blob.insert(blob.end(), ct.begin(), ct.end());
  return blob;
}

StatusOr<SecretBytes> Open(const SecretBytes& link_key, std::span<const uint8_t> blob) {
  const Status bad = InvalidArgumentError("the share cannot be decrypted with this link's key");
  if (blob.size() < kOverhead || blob[0] != kVersion) return bad;
  SecretBytes key = Derive(link_key, "sirr-share-v1 encrypt");
  auto plain =
      Aes256GcmDecrypt(key, blob.subspan(1, kGcmNonceSize), blob.subspan(13), AsBytes(kAad));
  if (!plain.ok()) return bad;
  return plain;
}

StatusOr<ParsedLink> ParseLink(std::string_view url) {
  const Status bad = InvalidArgumentError(
      "not a share link: want https://SERVER/s/<id>#<key> (the whole link, with the part "
      "after '#')");
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return bad;
  size_t path = url.find('/', scheme + 3);
  size_t hash = url.find('#');
  if (path == std::string_view::npos || hash == std::string_view::npos || hash < path) return bad;
  std::string_view p = url.substr(path, hash - path);
  if (!p.starts_with("/s/") || p.size() <= 3) return bad;
  ParsedLink out;
  out.server = std::string(url.substr(0, path));
  out.id = std::string(p.substr(3));
  if (out.id.find('/') != std::string::npos || out.id.find('?') != std::string::npos) return bad;
  auto key = Base64DecodeSecret(url.substr(hash + 1), Base64Alphabet::kUrlSafe);
  if (!key.ok() || key->size() != kKeySize)
    return InvalidArgumentError(
        "the link's key (after '#') is not a 32-byte base64url key; "
        "copy the whole link");
  out.key = std::move(*key);
  return out;
}

}  // namespace sirr::crypto::share
