#include "seal/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"

namespace sirr::seal {
namespace {

constexpr std::string_view kKeyCheckPlaintext = "sirr key check v1";
constexpr size_t kMaxKeyFileSize = 4096;
constexpr std::string_view kFormats =
    "expected base64 of 32 bytes (openssl rand -base64 32), 64 hex characters, or a 24-word "
    "BIP39 mnemonic";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool HasInnerSpace(std::string_view s) {
  for (char c : s)
    if (IsSpace(c)) return true;
  return false;
}

}  // namespace

StatusOr<SecretBytes> ParseMasterKey(std::string_view text) {
  std::string_view t = Trim(text);
  if (t.empty()) return InvalidArgumentError("key is empty; " + std::string(kFormats));
  if (HasInnerSpace(t)) {
    auto entropy = crypto::hd::MnemonicToEntropy(t);
    if (!entropy.ok())
      return InvalidArgumentError(entropy.status().message() + "; " + std::string(kFormats));
    if (entropy->size() != kMasterKeySize)
      return InvalidArgumentError("BIP39 mnemonic must have 24 words (256 bits) for a master key");
    return std::move(entropy).value();
  }
  if (t.size() == 64) {
    auto key = HexDecodeSecret(t);
    if (key.ok()) return std::move(key).value();
  }
  if (t.size() == 43 || t.size() == 44) {
    auto key = Base64DecodeSecret(t);
    if (key.ok() && key->size() == kMasterKeySize) return std::move(key).value();
  }
  return InvalidArgumentError("key is not in a recognised format; " + std::string(kFormats));
}

StatusOr<KeyFile> ReadKeyFile(const std::string& path) {
  if (path.empty()) return FailedPreconditionError("no key file configured (set SIRR_KEY_FILE)");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFoundError("key file " + path + " does not exist");
    return PermissionDeniedError("key file " + path + " cannot be read: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPreconditionError("key file " + path + " is not a regular file");
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileSize)) {
    ::close(fd);
    return InvalidArgumentError("key file " + path + " is too large; " + std::string(kFormats));
  }
  SecretBytes content(kMaxKeyFileSize + 1);
  size_t got = 0;
  while (got < content.size()) {
    ssize_t n = ::read(fd, content.reveal_mut().data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return PermissionDeniedError("key file " + path + " cannot be read: " + std::strerror(err));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  content.Truncate(got);
  auto key = ParseMasterKey(content.reveal_string());
  if (!key.ok()) return InvalidArgumentError("key file " + path + ": " + key.status().message());
  KeyFile out{std::move(key).value(), std::nullopt};
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    out.permission_warning =
        "key file " + path + " is accessible by group or others (mode " + mode + "); chmod 0400 it";
  }
  return out;
}

StatusOr<std::array<uint8_t, 32>> ValidationDigest(const SecretBytes& master_key) {
  SIRR_ASSIGN_OR_RETURN(SecretBytes mnemonic, crypto::hd::EntropyToMnemonic(master_key.reveal()));
  return crypto::Sha256(mnemonic.reveal());
}

std::string ValidationHash(const SecretBytes& master_key) {
  auto digest = ValidationDigest(master_key);
  return digest.ok() ? "0x" + HexEncode(*digest) : "";
}

StatusOr<std::array<uint8_t, 32>> ParseValidationHash(std::string_view text) {
  std::string_view t = Trim(text);
  if (t.starts_with("0x") || t.starts_with("0X")) t.remove_prefix(2);
  auto bytes = HexDecode(t);
  if (t.size() != 64 || !bytes.ok())
    return InvalidArgumentError(
        "SEAL_UNSEAL_VALIDATION_HASH must be 64 hex digits (the SHA-256 of the mnemonic), "
        "optionally prefixed with 0x");
  std::array<uint8_t, 32> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

StatusOr<MasterKey> MasterKey::Derive(SecretBytes master_key) {
  if (master_key.size() != kMasterKeySize)
    return InvalidArgumentError("master key must be 32 bytes");
  SIRR_ASSIGN_OR_RETURN(SecretBytes wrap, crypto::HkdfSha256(master_key, {}, "sirr/v1/wrap", 32));
  SIRR_ASSIGN_OR_RETURN(SecretBytes audit, crypto::HkdfSha256(master_key, {}, "sirr/v1/audit", 32));
  crypto::KeyId id = crypto::DeriveKeyId(master_key);
  SIRR_ASSIGN_OR_RETURN(crypto::CloakedKey cloaked_wrap, crypto::CloakedKey::Cloak(wrap.reveal()));
  SIRR_ASSIGN_OR_RETURN(crypto::CloakedKey cloaked_audit,
                        crypto::CloakedKey::Cloak(audit.reveal()));
  return MasterKey(id, std::move(cloaked_wrap), std::move(cloaked_audit));
}

StatusOr<Bytes> MasterKey::MakeKeyCheck(int version, Random& random) const {
  return crypto::SealEnvelope(wrap_key(), key_id_, AsBytes(kKeyCheckPlaintext),
                              crypto::EnvelopeAad("keycheck", "instance", std::to_string(version)),
                              random);
}

Status MasterKey::VerifyKeyCheck(int version, std::span<const uint8_t> kcv) const {
  auto plain =
      crypto::OpenEnvelope(wrap_key(), key_id_, kcv,
                           crypto::EnvelopeAad("keycheck", "instance", std::to_string(version)));
  if (!plain.ok() || plain->reveal_string() != kKeyCheckPlaintext)
    return PermissionDeniedError("the master key does not match key version " +
                                 std::to_string(version));
  return OkStatus();
}

StatusOr<Bytes> MasterKey::WrapAuditKey(int version, const SecretBytes& audit_key,
                                        Random& random) const {
  return crypto::SealEnvelope(wrap_key(), key_id_, audit_key.reveal(),
                              crypto::EnvelopeAad("audit-key", "instance", std::to_string(version)),
                              random);
}

StatusOr<SecretBytes> MasterKey::UnwrapAuditKey(int version,
                                                std::span<const uint8_t> wrapped) const {
  auto key =
      crypto::OpenEnvelope(wrap_key(), key_id_, wrapped,
                           crypto::EnvelopeAad("audit-key", "instance", std::to_string(version)));
  if (!key.ok() || key->size() != 32)
    return DataLossError("the audit chain key of key version " + std::to_string(version) +
                         " does not open with its master key");
  return std::move(key).value();
}

}  // namespace sirr::seal
