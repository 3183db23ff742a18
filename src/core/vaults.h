#pragma once

// Vaults: creation (with a fresh vault master key, wrapped by the instance wrap key), listing,
// lookup and deletion, all authorised against the request's principal. Resolve() is the one
// place where other services turn a vault reference into a row: it checks the capability
// (403 naming it) and the scope (404 for a vault outside the scope, exactly as for one that
// does not exist). Every operation and every denial is audited.
//
// Deletion is crypto-shredding: the wrapped vault key is overwritten (and the cached key
// dropped) before the rows are deleted, and the write-ahead log is then truncated.
//
// Thread safety: thread-safe.

#include <string>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/random.h"
#include "core/principal.h"
#include "core/seal_keeper.h"
#include "storage/storage.h"

namespace sirr::core {

struct CreateVaultRequest {
  std::string name;
  std::string description;
};

struct DeletedVault {
  storage::VaultRow vault;
  int64_t secrets_destroyed = 0;
};

// 1..64 of [A-Za-z0-9._-], starting with a letter or digit.
Status ValidateVaultName(std::string_view name);

class Vaults {
 public:
  Vaults(storage::Storage& storage, SealKeeper& keeper, audit::AuditLog& audit, const Clock& clock,
         Random& random)
      : storage_(storage), keeper_(keeper), audit_(audit), clock_(clock), random_(random) {}

  // Needs vaults:create. The vault belongs to the principal's namespace; a vault created by an
  // API token scoped to named vaults is added to that token's scope.
  StatusOr<storage::VaultRow> Create(const RequestContext& ctx, CreateVaultRequest request);
  // The vaults in the principal's scope (no capability needed beyond a valid credential).
  StatusOr<storage::VaultPage> List(const RequestContext& ctx, int64_t offset, int64_t limit);
  StatusOr<storage::VaultRow> Get(const RequestContext& ctx, std::string_view ref);
  // Needs vaults:delete. A vault holding live secrets is FailedPrecondition (409) unless
  // `force`.
  StatusOr<DeletedVault> Delete(const RequestContext& ctx, std::string_view ref, bool force);

  // Checks `needed` and resolves `ref` (id, or name in the principal's namespace) within the
  // principal's scope. Denials and unknown vaults are audited under `action`.
  StatusOr<storage::VaultRow> Resolve(const RequestContext& ctx, std::string_view action,
                                      Capability needed, std::string_view ref);
  // Audits and returns the PermissionDenied for a missing capability (OK when present).
  Status Authorize(const RequestContext& ctx, std::string_view action, Capability needed,
                   const storage::VaultRow* vault = nullptr);

 private:
  StatusOr<storage::VaultRow> Find(const RequestContext& ctx, std::string_view action,
                                   std::string_view ref);

  storage::Storage& storage_;
  SealKeeper& keeper_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace sirr::core
