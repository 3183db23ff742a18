#pragma once

// The HTTP API (DESIGN.md §6): routes requests to core services and maps Status to HTTP.
// Knows nothing of Beast: the http layer hands it a Request and writes back the Response.
//
// Thread safety: Handle() is thread-safe.

#include <functional>
#include <string>

#include "api/http_types.h"
#include "audit/audit_log.h"
#include "base/secret_bytes.h"
#include "core/attempt_limiter.h"
#include "core/seal_keeper.h"
#include "core/secrets.h"

namespace sirr::api {

struct ApiOptions {
  SecretBytes admin_token;  // required; compared in constant time (via SHA-256)
  std::string version;
  // Operator log lines (seal and unseal events); never given key material.
  std::function<void(const std::string&)> log;
};

class Api {
 public:
  Api(core::Secrets& secrets, core::SealKeeper& keeper, audit::AuditLog& audit, const Clock& clock,
      ApiOptions options);

  Response Handle(const Request& request);

 private:
  Status Authenticate(const Request& request, core::RequestContext* ctx);
  Response HandleSecrets(const Request& req, const ParsedTarget& target,
                         const core::RequestContext& ctx, std::string_view vault,
                         std::string_view secret, bool has_secret);

  Response HandleSeal(const Request& req, std::string_view route);
  Response Unseal(const Request& req);
  Status AuditSeal(const Request& req, const core::RequestContext* ctx, std::string action,
                   std::string outcome, std::string detail);

  core::Secrets& secrets_;
  core::SealKeeper& keeper_;
  core::AttemptLimiter unseal_limiter_;
  const std::function<void(const std::string&)> log_;
  audit::AuditLog& audit_;
  const std::array<uint8_t, 32> admin_token_hash_;
  const std::string version_;
};

}  // namespace sirr::api
