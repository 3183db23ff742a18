#pragma once

// API tokens: "sirr_" + 43 URL-safe base64 characters (32 random bytes), shown once at
// creation. Only the SHA-256 of a token is stored; a token carries capabilities, a vault scope
// (ids, or "*" for every instance vault), and optionally an expiry and a use limit. Revocation
// is immediate: every request looks the token up.
//
// A principal with tokens:manage (but not admin) can grant only capabilities it has itself and
// only vaults in its own scope; "admin" is granted only by admin principals.
//
// Thread safety: thread-safe.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/random.h"
#include "base/secret_bytes.h"
#include "core/principal.h"
#include "storage/storage.h"

namespace sirr::core {

inline constexpr std::string_view kTokenPrefix = "sirr_";

struct CreateTokenRequest {
  std::string name;
  std::vector<std::string> vaults;  // ids or names (in the creator's namespace), or "*"
  std::vector<std::string> capabilities;
  std::optional<int64_t> ttl_seconds;
  std::optional<int64_t> max_uses;
};

struct CreatedToken {
  storage::TokenRow row;  // hash cleared
  SecretBytes value;      // shown once
};

class Tokens {
 public:
  Tokens(storage::Storage& storage, audit::AuditLog& audit, const Clock& clock, Random& random)
      : storage_(storage), audit_(audit), clock_(clock), random_(random) {}

  // Needs tokens:manage.
  StatusOr<CreatedToken> Create(const RequestContext& ctx, CreateTokenRequest request);
  StatusOr<std::vector<storage::TokenRow>> List(const RequestContext& ctx);
  StatusOr<storage::TokenRow> Get(const RequestContext& ctx, std::string_view id);
  Status Revoke(const RequestContext& ctx, std::string_view id);

  // The principal of a presented API token. Unauthenticated ("invalid token", "token has
  // expired", "token has been revoked", "token has been used up"); a token with max_uses has
  // one use counted atomically. `token_id` is set when the token is known (for the audit).
  StatusOr<Principal> Authenticate(std::string_view presented, std::string* token_id);
  // The same, for a caller that has already hashed the presented token (SHA-256 of the
  // whole "sirr_…" string), so that the hash is computed once per request.
  StatusOr<Principal> AuthenticateDigest(std::span<const uint8_t> digest, std::string* token_id);

 private:
  Status Authorize(const RequestContext& ctx, std::string_view action);

  storage::Storage& storage_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  Random& random_;
};

}  // namespace sirr::core
