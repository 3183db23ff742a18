#include "core/secrets.h"

#include "core/audited.h"
#include "core/text.h"
#include "crypto/envelope.h"

namespace sirr::core {
namespace {

std::string SecretAad(const storage::SecretRow& row) {
  return crypto::EnvelopeAad("secret", row.vault_id, row.id);
}

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '/' || c == '-';
}

}  // namespace

Status ValidateSecretName(std::string_view name) {
  if (name.empty() || name.size() > 256)
    return InvalidArgumentError("name must be 1 to 256 characters");
  for (char c : name)
    if (!IsNameChar(c))
      return InvalidArgumentError("name may contain only letters, digits and . _ / -");
  if (name.front() == '/') return InvalidArgumentError("name must not start with '/'");
  if (name.find("..") != std::string_view::npos)
    return InvalidArgumentError("name must not contain '..'");
  return OkStatus();
}

Status ValidateContentType(std::string_view ct) {
  if (ct.empty()) return OkStatus();
  const auto is_token = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$&^_.+-").find(c) != std::string_view::npos;
  };
  const size_t slash = ct.find('/');
  bool ok =
      ct.size() <= 100 && slash != std::string_view::npos && slash > 0 && slash + 1 < ct.size();
  for (size_t i = 0; ok && i < ct.size(); ++i) ok = i == slash || is_token(ct[i]);
  if (!ok)
    return InvalidArgumentError(
        "content_type must be a MIME type such as application/age (type/subtype, at most 100 "
        "characters)");
  return OkStatus();
}

std::string Secrets::GoneMessage(const storage::SecretRow& row) {
  if (row.state == storage::SecretState::kBurned) {
    int64_t reads = row.max_reads.value_or(0);
    return "secret '" + row.name + "' was burned after " + std::to_string(reads) +
           (reads == 1 ? " read" : " reads");
  }
  return "secret '" + row.name + "' expired at " + FormatRfc3339(row.expires_at.value_or(0));
}

audit::Event Secrets::SecretEvent(const RequestContext& ctx, std::string_view action,
                                  std::string_view outcome, const storage::VaultRow* vault,
                                  const storage::SecretRow* secret, std::string detail,
                                  std::string_view secret_name) {
  audit::Event e = NewEvent(ctx, action, outcome, vault);
  if (secret) {
    e.secret_id = secret->id;
    e.secret_name = secret->name;
  } else {
    e.secret_name = std::string(secret_name);
  }
  e.detail = std::move(detail);
  return e;
}

Status Secrets::Audit(const RequestContext& ctx, std::string_view action, std::string_view outcome,
                      const storage::VaultRow* vault, const storage::SecretRow* secret,
                      std::string detail, std::string_view secret_name) {
  return audit_.Append(
      SecretEvent(ctx, action, outcome, vault, secret, std::move(detail), secret_name));
}

StatusOr<storage::SecretRow> Secrets::Push(const RequestContext& ctx, PushRequest req) {
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  SIRR_ASSIGN_OR_RETURN(
      storage::VaultRow vault,
      vaults_.Resolve(ctx, "secret.create", Capability::kSecretsWrite, req.vault));
  SIRR_RETURN_IF_ERROR(ValidateSecretName(req.name));
  if (req.value.empty()) return InvalidArgumentError("value must not be empty");
  if (req.value.size() > limits_.max_value_bytes)
    return InvalidArgumentError("value is larger than the maximum of " +
                                std::to_string(limits_.max_value_bytes) + " bytes");
  if (req.ttl_seconds && (*req.ttl_seconds < 1 || *req.ttl_seconds > kMaxTtlSeconds))
    return InvalidArgumentError("ttl_seconds must be between 1 and " +
                                std::to_string(kMaxTtlSeconds) + " (10 years)");
  if (req.max_reads && *req.max_reads < 1)
    return InvalidArgumentError("max_reads must be at least 1");
  if (req.type.size() > 64) return InvalidArgumentError("type must be at most 64 characters");
  if (req.description.size() > 1024)
    return InvalidArgumentError("description must be at most 1024 characters");
  SIRR_RETURN_IF_ERROR(RejectControlCharacters("type", req.type));
  SIRR_RETURN_IF_ERROR(RejectControlCharacters("description", req.description));
  SIRR_RETURN_IF_ERROR(ValidateContentType(req.content_type));
  SIRR_ASSIGN_OR_RETURN(auto key, instance->KeyFor(vault));
  const int64_t now = clock_.NowMillis();
  storage::SecretRow row;
  row.id = random_.Uuid();
  row.vault_id = vault.id;
  row.name = std::move(req.name);
  row.type = std::move(req.type);
  row.description = std::move(req.description);
  row.content_type = std::move(req.content_type);
  row.created_at = now;
  if (req.ttl_seconds) row.expires_at = now + *req.ttl_seconds * 1000;
  row.max_reads = req.max_reads;
  row.reads_remaining = req.max_reads;
  SIRR_ASSIGN_OR_RETURN(row.value,
                        crypto::SealEnvelope(key->key.Decloak(), key->id, req.value.reveal(),
                                             SecretAad(row), random_));
  Status st = storage_.PutSecret(row, req.overwrite, now,
                                 JournalOf(SecretEvent(ctx, "secret.create", "success", &vault,
                                                       &row, req.overwrite ? "overwrite" : ""),
                                           clock_));
  if (!st.ok()) {
    // Nothing changed: the refusal is recorded directly (never for a write the audit log
    // could not take: that refusal is the log's own).
    if (st.code() != StatusCode::kUnavailable)
      SIRR_RETURN_IF_ERROR(Audit(ctx, "secret.create", OutcomeOf(st), &vault, &row,
                                 req.overwrite ? "overwrite" : ""));
    return st;
  }
  row.value.clear();
  return row;
}

StatusOr<PulledSecret> Secrets::Pull(const RequestContext& ctx, std::string_view vault_ref,
                                     std::string_view secret,
                                     std::string_view refuse_content_type) {
  // Held for the whole read, so a seal cannot land between using up a read and decrypting.
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault,
                        vaults_.Resolve(ctx, "secret.read", Capability::kSecretsRead, vault_ref));
  if (!refuse_content_type.empty()) {
    auto meta = storage_.GetSecretMeta(vault.id, secret);
    if (meta.ok() && meta->content_type == refuse_content_type) {
      SIRR_RETURN_IF_ERROR(Audit(ctx, "secret.read", "conflict", &vault, &*meta,
                                 "refused: the client cannot open " + meta->content_type));
      return FailedPreconditionError("secret '" + meta->name + "' holds " + meta->content_type +
                                     " content; nothing was read");
    }
  }
  // A read that changes the secret (uses up a read, burns it, or finds it expired) commits
  // its records with that change; a read of an unlimited secret changes nothing and is
  // recorded directly below.
  bool journaled = false;
  auto journal = [&](const storage::JournalContext& jc) {
    std::vector<storage::JournalEntry> out;
    const storage::SecretRow& r = *jc.secret;
    journaled = true;
    if (r.state == storage::SecretState::kExpired) {
      out.push_back(
          JournalEntryOf(SecretEvent(ctx, "secret.read", "gone", &vault, &r, "expired"), clock_));
      return out;
    }
    out.push_back(JournalEntryOf(SecretEvent(ctx, "secret.read", "success", &vault, &r), clock_));
    if (r.reads_remaining && *r.reads_remaining == 0)
      out.push_back(JournalEntryOf(SecretEvent(ctx, "secret.burn", "success", &vault, &r), clock_));
    return out;
  };
  auto row = storage_.ReadSecret(vault.id, secret, clock_.NowMillis(), journal);
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) {
      SIRR_RETURN_IF_ERROR(Audit(ctx, "secret.read", "not_found", &vault, nullptr, "", secret));
      return NotFoundError("secret '" + std::string(secret) + "' not found");
    }
    return row.status();
  }
  if (row->state != storage::SecretState::kLive) {
    if (!journaled)
      SIRR_RETURN_IF_ERROR(
          Audit(ctx, "secret.read", "gone", &vault, &*row,
                row->state == storage::SecretState::kBurned ? "burned" : "expired"));
    return GoneError(GoneMessage(*row));
  }
  SIRR_ASSIGN_OR_RETURN(auto key, instance->KeyFor(vault));
  auto value = crypto::OpenEnvelope(key->key.Decloak(), key->id, row->value, SecretAad(*row));
  row->value.clear();
  if (!value.ok()) {
    (void)Audit(ctx, "secret.read", "error", &vault, &*row, "decryption failed");
    return DataLossError("secret '" + row->name + "' cannot be decrypted");
  }
  if (!journaled) SIRR_RETURN_IF_ERROR(Audit(ctx, "secret.read", "success", &vault, &*row));
  return PulledSecret{std::move(row).value(), std::move(value).value()};
}

StatusOr<storage::SecretRow> Secrets::Inspect(const RequestContext& ctx, std::string_view vault_ref,
                                              std::string_view secret) {
  // Metadata: either read or list is enough.
  const Capability needed = ctx.principal.Has(Capability::kSecretsRead) ? Capability::kSecretsRead
                                                                        : Capability::kSecretsList;
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault,
                        vaults_.Resolve(ctx, "secret.inspect", needed, vault_ref));
  auto row = storage_.GetSecretMeta(vault.id, secret);
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) {
      SIRR_RETURN_IF_ERROR(Audit(ctx, "secret.inspect", "not_found", &vault, nullptr, "", secret));
      return NotFoundError("secret '" + std::string(secret) + "' not found");
    }
    return row.status();
  }
  // A live secret past its expiry is reported as expired even before the sweeper runs.
  if (row->state == storage::SecretState::kLive && row->expires_at &&
      *row->expires_at <= clock_.NowMillis())
    row->state = storage::SecretState::kExpired;
  SIRR_RETURN_IF_ERROR(Audit(ctx, "secret.inspect", "success", &vault, &*row));
  return row;
}

StatusOr<storage::SecretPage> Secrets::List(const RequestContext& ctx, std::string_view vault_ref,
                                            const storage::SecretFilter& filter) {
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow vault,
                        vaults_.Resolve(ctx, "secret.list", Capability::kSecretsList, vault_ref));
  SIRR_ASSIGN_OR_RETURN(auto page, storage_.ListSecrets(vault.id, filter, clock_.NowMillis()));
  SIRR_RETURN_IF_ERROR(
      Audit(ctx, "secret.list", "success", &vault, nullptr,
            std::to_string(page.rows.size()) + " of " + std::to_string(page.total)));
  return page;
}

StatusOr<storage::SecretRow> Secrets::Delete(const RequestContext& ctx, std::string_view vault_ref,
                                             std::string_view secret) {
  SIRR_ASSIGN_OR_RETURN(
      storage::VaultRow vault,
      vaults_.Resolve(ctx, "secret.delete", Capability::kSecretsDelete, vault_ref));
  auto row = storage_.DeleteSecret(vault.id, secret, [&](const storage::JournalContext& jc) {
    return std::vector<storage::JournalEntry>{
        JournalEntryOf(SecretEvent(ctx, "secret.delete", "success", &vault, jc.secret), clock_)};
  });
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) {
      SIRR_RETURN_IF_ERROR(Audit(ctx, "secret.delete", "not_found", &vault, nullptr, "", secret));
      return NotFoundError("secret '" + std::string(secret) + "' not found");
    }
    return row.status();
  }
  return row;
}

StatusOr<int64_t> Secrets::Sweep() {
  const int64_t now = clock_.NowMillis();
  RequestContext ctx{"", Principal::System("sweeper"), ""};
  int64_t expired = 0;
  while (true) {
    SIRR_ASSIGN_OR_RETURN(
        auto rows, storage_.ExpireDue(now, 500, [&](const storage::JournalContext& jc) {
          storage::VaultRow vault;
          vault.id = jc.secret->vault_id;
          return std::vector<storage::JournalEntry>{JournalEntryOf(
              SecretEvent(ctx, "secret.expire", "success", &vault, jc.secret), clock_)};
        }));
    expired += static_cast<int64_t>(rows.size());
    if (rows.size() < 500) break;
  }
  SIRR_RETURN_IF_ERROR(storage_.PurgeTombstones(now - limits_.tombstone_retention_ms).status());
  return expired;
}

}  // namespace sirr::core
