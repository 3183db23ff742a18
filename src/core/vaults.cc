#include "core/vaults.h"

#include "core/audited.h"
#include "core/instance.h"
#include "core/text.h"

namespace sirr::core {

std::string_view OutcomeOf(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk:
      return "success";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kGone:
      return "gone";
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return "conflict";
    case StatusCode::kInvalidArgument:
      return "invalid";
    case StatusCode::kPermissionDenied:
      return "denied";
    default:
      return "error";
  }
}

Status ValidateVaultName(std::string_view name) {
  return ValidateDisplayName("vault name", name, 64, /*alnum_first=*/true);
}

Status Vaults::Authorize(const RequestContext& ctx, std::string_view action, Capability needed,
                         const storage::VaultRow* vault) {
  Status st = Require(ctx.principal, needed);
  if (st.ok()) return st;
  audit::Event e = NewEvent(ctx, action, "denied", vault);
  e.detail = "missing " + std::string(CapabilityName(needed));
  SIRR_RETURN_IF_ERROR(audit_.Append(e));
  return st;
}

StatusOr<storage::VaultRow> Vaults::Find(const RequestContext& ctx, std::string_view action,
                                         std::string_view ref) {
  auto row = storage_.GetVault(ref, ctx.principal.owner);
  if (row.ok() && !row->wrapped_key.empty() && ctx.principal.CanSee(*row)) return row;
  if (!row.ok() && row.status().code() != StatusCode::kNotFound) return row.status();
  // Unknown and out-of-scope vaults are indistinguishable to the caller; the audit record
  // says which.
  audit::Event e = NewEvent(ctx, action, "not_found");
  e.detail = row.ok() ? "vault " + row->id + " is outside the principal's scope" : "unknown vault";
  SIRR_RETURN_IF_ERROR(audit_.Append(e));
  return NotFoundError("vault '" + std::string(ref) + "' not found");
}

StatusOr<storage::VaultRow> Vaults::Resolve(const RequestContext& ctx, std::string_view action,
                                            Capability needed, std::string_view ref) {
  SIRR_RETURN_IF_ERROR(Authorize(ctx, action, needed));
  return Find(ctx, action, ref);
}

StatusOr<storage::VaultRow> Vaults::Create(const RequestContext& ctx, CreateVaultRequest req) {
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  SIRR_RETURN_IF_ERROR(Authorize(ctx, "vault.create", Capability::kVaultsCreate));
  SIRR_RETURN_IF_ERROR(ValidateVaultName(req.name));
  if (req.description.size() > 1024)
    return InvalidArgumentError("description must be at most 1024 characters");
  SIRR_RETURN_IF_ERROR(RejectControlCharacters("description", req.description));
  storage::VaultRow row;
  row.id = random_.Uuid();
  row.name = std::move(req.name);
  row.description = std::move(req.description);
  row.created_at = clock_.NowMillis();
  row.owner = ctx.principal.kind == PrincipalKind::kJwt ? ctx.principal.owner : "";
  SIRR_ASSIGN_OR_RETURN(row.wrapped_key, instance->NewWrappedVaultKey(row.id, random_));
  const Principal& p = ctx.principal;
  const bool grant = p.kind == PrincipalKind::kToken && !p.is_admin() && !p.all_vaults;
  audit::Event e = NewEvent(ctx, "vault.create", "success", &row);
  if (grant) e.detail = "added to the scope of " + p.id;
  Status st =
      storage_.CreateVault(row, grant ? std::string_view(p.token_id) : "", JournalOf(e, clock_));
  if (!st.ok()) {
    if (st.code() != StatusCode::kUnavailable) {
      e.outcome = std::string(OutcomeOf(st));
      e.vault_id.clear();
      e.detail.clear();
      SIRR_RETURN_IF_ERROR(audit_.Append(e));
    }
    return st;
  }
  row.wrapped_key.clear();
  return row;
}

StatusOr<storage::VaultPage> Vaults::List(const RequestContext& ctx, int64_t offset,
                                          int64_t limit) {
  SIRR_ASSIGN_OR_RETURN(auto page, storage_.ListVaults(ctx.principal.Scope(), offset, limit));
  audit::Event e = NewEvent(ctx, "vault.list", "success");
  e.detail = std::to_string(page.rows.size()) + " of " + std::to_string(page.total);
  SIRR_RETURN_IF_ERROR(audit_.Append(e));
  return page;
}

StatusOr<storage::VaultRow> Vaults::Get(const RequestContext& ctx, std::string_view ref) {
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow row, Find(ctx, "vault.read", ref));
  SIRR_RETURN_IF_ERROR(audit_.Append(NewEvent(ctx, "vault.read", "success", &row)));
  row.wrapped_key.clear();
  return row;
}

StatusOr<DeletedVault> Vaults::Delete(const RequestContext& ctx, std::string_view ref, bool force) {
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  SIRR_ASSIGN_OR_RETURN(storage::VaultRow row,
                        Resolve(ctx, "vault.delete", Capability::kVaultsDelete, ref));
  SIRR_ASSIGN_OR_RETURN(int64_t live, storage_.CountLiveSecrets(row.id));
  SIRR_ASSIGN_OR_RETURN(int64_t keys, storage_.CountKeys(row.id));
  if ((live > 0 || keys > 0) && !force) {
    const std::string held =
        std::to_string(live) + " secret(s) and " + std::to_string(keys) + " key(s)";
    audit::Event e = NewEvent(ctx, "vault.delete", "conflict", &row);
    e.detail = held;
    SIRR_RETURN_IF_ERROR(audit_.Append(e));
    return FailedPreconditionError(
        "vault '" + row.name + "' still holds " + held +
        "; delete them first, or use ?force=true to destroy "
        "the vault key and everything in the vault (sirr vault rm --force)");
  }
  // Crypto-shredding: first the key, so that whatever happens next nothing in the vault can be
  // decrypted again; then the rows.
  audit::Event shred = NewEvent(ctx, "vault.shred", "success", &row);
  shred.detail = std::string(force ? "forced; " : "") + "vault key destroyed";
  SIRR_RETURN_IF_ERROR(storage_.ShredVaultKey(row.id, JournalOf(shred, clock_)));
  instance->Forget(row.id);
  audit::Event e = NewEvent(ctx, "vault.delete", "success", &row);
  e.detail = std::string(force ? "forced; " : "") + "vault key destroyed; " + std::to_string(live) +
             " live secret(s) and " + std::to_string(keys) + " key(s) deleted with it";
  auto removed = storage_.DeleteVault(row.id, JournalOf(e, clock_));
  if (!removed.ok()) return removed.status();
  row.wrapped_key.clear();
  return DeletedVault{std::move(row), *removed};
}

}  // namespace sirr::core
