#pragma once

// The HTTP API (DESIGN.md §6): routes requests to core services and maps Status to HTTP.
// Knows nothing of Beast: the http layer hands it a Request and writes back the Response.
//
// Thread safety: Handle() is thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "api/jwt.h"
#include "api/route.h"
#include "audit/audit_log.h"
#include "audit/audit_search.h"
#include "base/metrics.h"
#include "base/secret_bytes.h"
#include "core/attempt_limiter.h"
#include "core/keys.h"
#include "core/principal.h"
#include "core/rate_limiter.h"
#include "core/refusal_throttle.h"
#include "core/rotation.h"
#include "core/seal_keeper.h"
#include "core/secrets.h"
#include "core/shares.h"
#include "core/tokens.h"
#include "core/vaults.h"

namespace sirr::api {

struct ApiOptions {
  SecretBytes admin_token;  // required; compared in constant time (via SHA-256)
  std::string version;
  // JWT bearer authentication; null: JWTs are refused.
  std::shared_ptr<const JwtVerifier> jwt;
  // Per-principal request rate limit (token bucket); the admin token is exempt unless
  // rate_limit_admin.
  core::RateLimits rate_limits;
  bool rate_limit_admin = false;
  // Requests that fail authentication, per client address (429 with Retry-After beyond it);
  // per_second <= 0 turns it off.
  core::RateLimits auth_failure_limits{10, 20};
  // How refusals are recorded: a few in detail per client and window, then one count.
  core::RefusalThrottle::Options refusal_audit;
  // Operator log lines (seal and unseal events); never given key material.
  std::function<void(const std::string&)> log;
  // Admin routes: master key rotation (null: 404) and online backups (a consistent snapshot of
  // the database file's bytes; null: 404).
  core::KeyRotation* rotation = nullptr;
  std::function<StatusOr<std::string>()> backup;
  // GET /metrics (a principal with metrics:read): the Prometheus text (null: 404).
  std::function<std::string()> metrics;
  // GET /api/v1/admin/audit: a page of the audit trail (null: 404).
  std::function<StatusOr<audit::AuditPage>(const audit::AuditQuery&)> audit_search;
  // Share links (POST /api/v1/shares, GET /s/{id}, reveals); null: 404.
  core::Shares* shares = nullptr;
  // The server's public base URL ("https://vault.example.com", no trailing slash): share links
  // are returned under it. Empty: the client builds the link from the address it used.
  std::string public_url;
  // Share pages and reveal attempts per client address (429 with Retry-After beyond it).
  core::RateLimits share_limits{1, 20};
};

// What the API counts (registered by the composition root).
struct ApiMetrics {
  metrics::Counter rate_limited;       // 429: a principal's request rate
  metrics::Counter auth_rate_limited;  // 429: failed authentications from one address
  metrics::Counter auth_failures;      // 401
  metrics::Counter unseal_refused;     // unseal attempts refused (wrong key, rate limited)
};

class Api {
 public:
  Api(core::Secrets& secrets, core::Vaults& vaults, core::Tokens& tokens, core::Keys& keys,
      core::SealKeeper& keeper, audit::AuditLog& audit, const Clock& clock, ApiOptions options);

  Response Handle(const Request& request);
  // Writes the summary records of refusal windows that have ended (all of them when `all`,
  // at shutdown). Called about once a second.
  void FlushRefusalSummaries(bool all = false);

  // Whether a request may block on a durable write (and so is better handled off the io
  // threads): the matched route's may_block (route table); an unknown route may. A
  // read-limited GET burns the secret in a write transaction, but stays inline. Only a
  // scheduling hint; any answer is correct.
  static bool MayBlock(std::string_view method, std::string_view target);

  // Every route: one entry per (method, path template), in match order (route.h).
  static const std::vector<Route>& Routes();

  const ApiMetrics& metrics() const { return metrics_; }

 private:
  // Authenticates the bearer credential and applies the rate limit. The error is a ready
  // response (401, 429 with Retry-After, 503 when the audit log fails).
  StatusOr<core::Principal> Authenticate(const Request& request, Response* refusal);
  // Matches `path` against the routes with `public_routes` access (public and auth-while-
  // sealed) or the others, and runs the handler; nullopt: no pattern matched.
  std::optional<Response> Dispatch(const Request& req, const ParsedTarget& target,
                                   std::string_view path, bool public_routes,
                                   const core::RequestContext* ctx);

  // seal_api.cc: health, seal state, unseal, seal, unsealerkey.
  StatusOr<Response> Health(const Call& call);
  StatusOr<Response> Metrics(const Call& call);
  StatusOr<Response> Ping(const Call& call);
  StatusOr<Response> SealStatus(const Call& call);
  StatusOr<Response> Unseal(const Call& call);
  StatusOr<Response> Seal(const Call& call);
  StatusOr<Response> UnsealerKey(const Call& call);
  Status AuditSeal(const Request& req, const core::RequestContext* ctx, std::string action,
                   std::string outcome, std::string detail);
  // vaults_api.cc
  StatusOr<Response> VaultCreate(const Call& call);
  StatusOr<Response> VaultList(const Call& call);
  StatusOr<Response> VaultGet(const Call& call);
  StatusOr<Response> VaultDelete(const Call& call);
  // tokens_api.cc
  StatusOr<Response> TokenCreate(const Call& call);
  StatusOr<Response> TokenList(const Call& call);
  StatusOr<Response> TokenGet(const Call& call);
  StatusOr<Response> TokenRevoke(const Call& call);
  // admin_api.cc: /api/v1/admin/rotate-keys (GET, POST; 404 without a rotation) and
  // /api/v1/admin/backup (POST; 404 without a backup function); admin only.
  StatusOr<Response> RotateStart(const Call& call);
  StatusOr<Response> RotateStatus(const Call& call);
  StatusOr<Response> Backup(const Call& call);
  StatusOr<Response> AuditSearch(const Call& call);
  // The audit event of an admin-only call; a principal without admin is refused (403) and the
  // refusal recorded under `action`.
  StatusOr<audit::Event> AdminOnly(const Call& call, std::string action);
  // secrets_api.cc
  StatusOr<Response> SecretPush(const Call& call);
  StatusOr<Response> SecretList(const Call& call);
  StatusOr<Response> SecretPull(const Call& call);
  StatusOr<Response> SecretHead(const Call& call);
  StatusOr<Response> SecretDelete(const Call& call);
  // shares_api.cc
  StatusOr<Response> ShareCreate(const Call& call);
  StatusOr<Response> SharePage(const Call& call);
  StatusOr<Response> ShareAsset(const Call& call);
  StatusOr<Response> ShareReveal(const Call& call);
  // keys_api.cc
  StatusOr<Response> KeyCreate(const Call& call);
  StatusOr<Response> KeyList(const Call& call);
  StatusOr<Response> KeyGet(const Call& call);
  StatusOr<Response> KeyDelete(const Call& call);
  StatusOr<Response> KeyEncrypt(const Call& call);
  StatusOr<Response> KeyDecrypt(const Call& call);
  StatusOr<Response> KeySign(const Call& call);
  StatusOr<Response> KeyVerify(const Call& call);
  StatusOr<Response> KeyDerive(const Call& call);
  StatusOr<Response> VerifyDetached(const Call& call);

  core::Secrets& secrets_;
  core::Vaults& vaults_;
  core::Tokens& tokens_;
  core::Keys& keys_;
  core::SealKeeper& keeper_;
  core::AttemptLimiter unseal_limiter_;
  core::RateLimiter rate_limiter_;
  core::RateLimiter auth_failure_limiter_;  // keyed by client address
  core::RefusalThrottle refusals_;
  const bool rate_limit_admin_;
  const std::shared_ptr<const JwtVerifier> jwt_;
  const std::function<void(const std::string&)> log_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  const std::array<uint8_t, 32> admin_token_hash_;
  const std::string version_;
  core::KeyRotation* const rotation_;
  const std::function<StatusOr<std::string>()> backup_;
  const std::function<std::string()> metrics_text_;
  const std::function<StatusOr<audit::AuditPage>(const audit::AuditQuery&)> audit_search_;
  core::Shares* const shares_;
  const std::string public_url_;
  core::RateLimiter share_limiter_;  // keyed by client address
  ApiMetrics metrics_;
};

}  // namespace sirr::api
