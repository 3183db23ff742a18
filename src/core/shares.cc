#include "core/shares.h"

#include "core/audited.h"
#include "core/instance.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"

namespace sirr::core {
namespace {

constexpr std::string_view kShareVaultName = "shares";
constexpr std::string_view kShareVaultOwner = "system:shares";

std::string ShareAad(const storage::SecretRow& row) {
  return crypto::EnvelopeAad("secret", row.vault_id, row.id);
}

bool IsShareId(std::string_view id) {
  if (id.size() != 36) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  return true;
}

}  // namespace

StatusOr<storage::VaultRow> Shares::ShareVault(Instance& instance) {
  std::lock_guard lock(mu_);
  if (vault_) return *vault_;
  auto found = storage_.GetVault(kShareVaultName, kShareVaultOwner);
  if (found.ok() && found->owner == kShareVaultOwner) return *(vault_ = std::move(*found));
  if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
  storage::VaultRow row;
  row.id = random_.Uuid();
  row.name = std::string(kShareVaultName);
  row.description = "one-time share links (sirrd's own)";
  row.created_at = clock_.NowMillis();
  row.owner = std::string(kShareVaultOwner);
  SIRR_ASSIGN_OR_RETURN(row.wrapped_key, instance.NewWrappedVaultKey(row.id, random_));
  audit::Event e;
  e.action = "vault.create";
  e.outcome = "success";
  e.principal = "system";
  e.vault_id = row.id;
  e.vault_name = row.name;
  e.detail = "the share links' vault";
  Status st = storage_.CreateVault(row, "", JournalOf(e, clock_));
  if (st.code() == StatusCode::kAlreadyExists) {  // another node made it first
    SIRR_ASSIGN_OR_RETURN(row, storage_.GetVault(kShareVaultName, kShareVaultOwner));
  } else if (!st.ok()) {
    return st;
  }
  return *(vault_ = std::move(row));
}

StatusOr<storage::SecretRow> Shares::Create(const RequestContext& ctx, ShareRequest req) {
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  SIRR_RETURN_IF_ERROR(vaults_.Authorize(ctx, "share.create", Capability::kSharesCreate));
  if (req.ciphertext.empty()) return InvalidArgumentError("ciphertext must not be empty");
  if (req.ciphertext.size() > max_ciphertext_bytes_)
    return InvalidArgumentError("ciphertext is larger than the maximum of " +
                                std::to_string(max_ciphertext_bytes_) + " bytes");
  if (req.proof_hash.size() != 32)
    return InvalidArgumentError("proof_hash must be 32 bytes (SHA-256), hex-encoded");
  if (req.ttl_seconds < 1 || req.ttl_seconds > kMaxShareTtlSeconds)
    return InvalidArgumentError("ttl_seconds must be between 1 and " +
                                std::to_string(kMaxShareTtlSeconds) + " (30 days)");
  if (req.max_reads < 1 || req.max_reads > kMaxShareReads)
    return InvalidArgumentError("max_reads must be between 1 and " +
                                std::to_string(kMaxShareReads));
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault, ShareVault(*instance));
  SIRR_ASSIGN_OR_RETURN(auto key, instance->KeyFor(vault));
  const int64_t now = clock_.NowMillis();
  storage::SecretRow row;
  row.id = random_.Uuid();
  row.vault_id = vault.id;
  row.name = row.id;
  row.type = "share";
  row.created_at = now;
  row.expires_at = now + req.ttl_seconds * 1000;
  row.max_reads = req.max_reads;
  row.reads_remaining = req.max_reads;
  row.content_type = std::string(kShareContentType);
  row.access_hash = std::move(req.proof_hash);
  SIRR_ASSIGN_OR_RETURN(row.value, crypto::SealEnvelope(key->key.Decloak(), key->id, req.ciphertext,
                                                        ShareAad(row), random_));
  audit::Event e = NewEvent(ctx, "share.create", "success", &vault);
  e.secret_id = row.id;
  e.detail = "expires in " + std::to_string(req.ttl_seconds) + " s, " +
             std::to_string(req.max_reads) + " read(s)";
  SIRR_RETURN_IF_ERROR(storage_.PutSecret(row, false, now, JournalOf(e, clock_)));
  row.value.clear();
  row.access_hash.clear();
  return row;
}

StatusOr<storage::SecretRow> Shares::Check(std::string_view id) {
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  if (!IsShareId(id)) return NotFoundError(std::string(kGoneMessage));
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault, ShareVault(*instance));
  auto row = storage_.GetSecretMeta(vault.id, id);
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound)
      return NotFoundError(std::string(kGoneMessage));
    return row.status();
  }
  if (row->state != storage::SecretState::kLive ||
      (row->expires_at && *row->expires_at <= clock_.NowMillis()) ||
      row->content_type != kShareContentType)
    return NotFoundError(std::string(kGoneMessage));
  row->access_hash.clear();
  return row;
}

Status Shares::AuditReveal(const RequestContext& ctx, const storage::VaultRow& vault,
                           std::string_view id, std::string_view outcome, std::string detail) {
  audit::Event e = NewEvent(ctx, "share.reveal", outcome, &vault);
  e.secret_id = std::string(id.substr(0, 64));
  e.detail = std::move(detail);
  return audit_.Append(e);
}

StatusOr<Bytes> Shares::Reveal(const RequestContext& ctx, std::string_view id,
                               std::span<const uint8_t> proof) {
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault, ShareVault(*instance));
  const Status gone = NotFoundError(std::string(kGoneMessage));
  if (!IsShareId(id)) {
    SIRR_RETURN_IF_ERROR(AuditReveal(ctx, vault, "", "not_found", "malformed share id"));
    return gone;
  }
  const int64_t now = clock_.NowMillis();
  // The proof is checked against the metadata first: a wrong proof reads nothing and counts
  // nothing. The read below is the storage's atomic one (decrement or burn), so of several
  // holders of the right proof each read is counted exactly once.
  auto meta = storage_.GetSecretMeta(vault.id, id);
  if (!meta.ok()) {
    if (meta.status().code() != StatusCode::kNotFound) return meta.status();
    SIRR_RETURN_IF_ERROR(AuditReveal(ctx, vault, id, "not_found", "unknown share"));
    return gone;
  }
  if (meta->state != storage::SecretState::kLive ||
      (meta->expires_at && *meta->expires_at <= now)) {
    SIRR_RETURN_IF_ERROR(
        AuditReveal(ctx, vault, id, "gone",
                    meta->state == storage::SecretState::kBurned ? "already used" : "expired"));
    return gone;
  }
  const auto digest = crypto::Sha256(proof);
  if (!ConstantTimeEquals(meta->access_hash, digest)) {
    SIRR_RETURN_IF_ERROR(AuditReveal(ctx, vault, id, "denied", "wrong proof; nothing counted"));
    return gone;
  }
  auto journal = [&](const storage::JournalContext& jc) {
    std::vector<storage::JournalEntry> out;
    const storage::SecretRow& r = *jc.secret;
    audit::Event e = NewEvent(ctx, "share.reveal", "success", &vault);
    e.secret_id = r.id;
    if (r.state == storage::SecretState::kExpired) {
      e.outcome = "gone";
      e.detail = "expired";
    } else if (r.reads_remaining) {
      e.detail = std::to_string(*r.reads_remaining) + " read(s) left";
    }
    out.push_back(JournalEntryOf(e, clock_));
    if (r.state != storage::SecretState::kExpired && r.reads_remaining && *r.reads_remaining == 0) {
      e.action = "share.burn";
      e.detail.clear();
      out.push_back(JournalEntryOf(e, clock_));
    }
    return out;
  };
  auto row = storage_.ReadSecret(vault.id, id, now, journal);
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) return gone;  // deleted meanwhile
    return row.status();
  }
  if (row->state != storage::SecretState::kLive) return gone;
  SIRR_ASSIGN_OR_RETURN(auto key, instance->KeyFor(vault));
  auto value = crypto::OpenEnvelope(key->key.Decloak(), key->id, row->value, ShareAad(*row));
  if (!value.ok()) return DataLossError("share cannot be decrypted");
  return Bytes(value->reveal().begin(), value->reveal().end());
}

}  // namespace sirr::core
