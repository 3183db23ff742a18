// The API's dispatch (docs/architecture.md "Request path"): the route table, pattern matching,
// authentication and rate limits. The handlers live in one file per resource
// (vaults_api.cc, secrets_api.cc, keys_api.cc, tokens_api.cc, admin_api.cc, seal_api.cc).

#include "api/api.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "api/api_internal.h"
#include "base/encoding.h"
#include "crypto/crypto.h"

namespace sirr::api {

using core::Bit;
using core::Capability;

Api::Api(core::Secrets& secrets, core::Vaults& vaults, core::Tokens& tokens, core::Keys& keys,
         core::SealKeeper& keeper, audit::AuditLog& audit, const Clock& clock, ApiOptions options)
    : secrets_(secrets),
      vaults_(vaults),
      tokens_(tokens),
      keys_(keys),
      keeper_(keeper),
      unseal_limiter_(clock),
      rate_limiter_(clock, options.rate_limits),
      auth_failure_limiter_(clock, options.auth_failure_limits),
      refusals_(clock, options.refusal_audit),
      rate_limit_admin_(options.rate_limit_admin),
      jwt_(std::move(options.jwt)),
      log_(std::move(options.log)),
      audit_(audit),
      clock_(clock),
      admin_token_hash_(crypto::Sha256(options.admin_token.reveal())),
      version_(std::move(options.version)),
      rotation_(options.rotation),
      backup_(std::move(options.backup)),
      metrics_text_(std::move(options.metrics)),
      audit_search_(std::move(options.audit_search)),
      shares_(options.shares),
      public_url_(std::move(options.public_url)),
      share_limiter_(clock, options.share_limits) {}

StatusOr<core::Principal> Api::Authenticate(const Request& req, Response* refusal) {
  std::string_view auth = req.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  StatusOr<core::Principal> principal = UnauthenticatedError("invalid token");
  std::string token_id;
  if (auth.empty()) {
    principal = UnauthenticatedError("authentication required: send Authorization: Bearer <token>");
  } else if (auth.starts_with(kBearer)) {
    std::string_view credential = auth.substr(kBearer.size());
    const auto digest = crypto::Sha256(AsBytes(credential));  // once: admin check and token lookup
    if (ConstantTimeEquals(digest, admin_token_hash_)) {
      principal = core::Principal::Admin();
    } else if (credential.starts_with(core::kTokenPrefix) && credential.size() <= 256) {
      principal = tokens_.AuthenticateDigest(digest, &token_id);
    } else if (LooksLikeJwt(credential)) {
      principal = jwt_ ? jwt_->Verify(credential)
                       : StatusOr<core::Principal>(UnauthenticatedError(
                             "JWT bearer tokens are not enabled on this server "
                             "(SIRR_JWT_PUBLIC_KEY_FILE)"));
    }
  }
  // The audit event is built only for refusals: the accepted path allocates nothing here.
  // Refusals cost bounded audit bytes: a capped detail, a few records per client address and
  // window, then one summary record with the count (RefusalThrottle).
  auto refuse = [&](const Status& st, const char* action, const char* outcome,
                    std::string principal_id) {
    FlushRefusalSummaries();
    if (!refusals_.Admit(req.client, action)) {
      *refusal = ErrorResponse(st);
      return true;
    }
    audit::Event e;
    e.action = action;
    e.outcome = outcome;
    e.request_id = req.request_id;
    e.client = req.client.substr(0, 64);
    e.principal = std::move(principal_id);
    constexpr size_t kMaxPath = 128;
    std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
    e.detail = st.message().substr(0, 160) + "; " + req.method.substr(0, 16) + " " +
               std::string(path.substr(0, kMaxPath)) + (path.size() > kMaxPath ? "..." : "");
    Status logged = audit_.Append(e);
    *refusal = ErrorResponse(logged.ok() ? st : logged);
    return logged.ok();
  };
  if (!principal.ok()) {
    // Failed authentication is limited per client address, so guessing or flooding is slow.
    if (auto wait = auth_failure_limiter_.Take(req.client)) {
      metrics_.auth_rate_limited.Inc();
      Status limited =
          ResourceExhaustedError("too many failed authentications from this address; retry after " +
                                 std::to_string(*wait) + " s");
      if (refuse(limited, "auth.rate_limited", "rate_limited", ""))
        refusal->SetHeader("Retry-After", std::to_string(*wait));
      return limited;
    }
    metrics_.auth_failures.Inc();
    refuse(principal.status(), "auth.denied", "unauthenticated",
           token_id.empty() ? "" : "token:" + token_id);
    return principal.status();
  }
  if (principal->kind == core::PrincipalKind::kAdmin && !rate_limit_admin_) return principal;
  if (auto wait = rate_limiter_.Take(principal->id)) {
    metrics_.rate_limited.Inc();
    Status limited = ResourceExhaustedError("rate limit exceeded for " + principal->id +
                                            "; retry after " + std::to_string(*wait) + " s");
    if (refuse(limited, "auth.rate_limited", "rate_limited", principal->id))
      refusal->SetHeader("Retry-After", std::to_string(*wait));
    return limited;
  }
  return principal;
}

void Api::FlushRefusalSummaries(bool all) {
  for (const auto& s : refusals_.TakeEnded(all)) {
    audit::Event e;
    e.action = s.action;
    e.outcome = "repeated";
    e.client = s.client;
    e.detail = std::to_string(s.suppressed) + " more refusal(s) from this address since " +
               FormatRfc3339(s.window_start_ms) + ", not recorded one by one";
    (void)audit_.Append(e);  // best effort: the refusals changed nothing
  }
}

const std::vector<Route>& Api::Routes() {
  constexpr core::CapabilitySet kAdmin = Bit(Capability::kAdmin);
  constexpr core::CapabilitySet kTokens = Bit(Capability::kTokensManage);
  constexpr core::CapabilitySet kSecretMeta =
      Bit(Capability::kSecretsRead) | Bit(Capability::kSecretsList);
  constexpr Access kPublic = Access::kPublic, kSealedOk = Access::kAuthWhileSealed,
                   kAuth = Access::kAuthenticated;
  // clang-format off
  static const std::vector<Route> kRoutes = {
    // method  pattern                                        handler           access     capability                        may block  audit action
    {"GET",    "/health",                                     &Api::Health,      kPublic,   0,                                  false, ""},
    {"HEAD",   "/health",                                     &Api::Health,      kPublic,   0,                                  false, ""},
    {"*",      "/status",                                     &Api::Ping,        kPublic,   0,                                  false, ""},
    {"GET",    "/metrics",                                    &Api::Metrics,     kSealedOk, Bit(Capability::kMetricsRead),      false, ""},
    {"GET",    "/api/v1/seal-status",                         &Api::SealStatus,  kPublic,   0,                                  false, ""},
    {"HEAD",   "/api/v1/seal-status",                         &Api::SealStatus,  kPublic,   0,                                  false, ""},
    {"POST",   "/api/v1/unseal",                              &Api::Unseal,      kPublic,   0,                                  true,  "seal.unseal"},
    {"POST",   "/api/v1/seal",                                &Api::Seal,        kSealedOk, kAdmin,                             true,  "seal.seal"},
    {"POST",   "/api/v1/unsealerkey",                         &Api::UnsealerKey, kSealedOk, 0,                                  true,  "seal.unsealerkey"},
    {"GET",    "/s/assets/{id}",                              &Api::ShareAsset,  kPublic,   0,                                  false, ""},
    {"GET",    "/s/{id}",                                     &Api::SharePage,   kPublic,   0,                                  false, ""},
    {"POST",   "/api/v1/shares/{id}/reveal",                  &Api::ShareReveal, kPublic,   0,                                  true,  "share.reveal"},
    {"POST",   "/api/v1/shares",                              &Api::ShareCreate, kAuth,     Bit(Capability::kSharesCreate),     true,  "share.create"},
    {"POST",   "/api/v1/tokens",                              &Api::TokenCreate, kAuth,     kTokens,                            true,  "token.create"},
    {"GET",    "/api/v1/tokens",                              &Api::TokenList,   kAuth,     kTokens,                            false, "token.list"},
    {"GET",    "/api/v1/tokens/{id}",                         &Api::TokenGet,    kAuth,     kTokens,                            false, "token.read"},
    {"DELETE", "/api/v1/tokens/{id}",                         &Api::TokenRevoke, kAuth,     kTokens,                            true,  "token.revoke"},
    {"POST",   "/api/v1/verify",                              &Api::VerifyDetached, kAuth,  0,                                  false, "key.verify_detached"},
    {"POST",   "/api/v1/admin/rotate-keys",                   &Api::RotateStart, kAuth,     kAdmin,                             true,  ""},
    {"GET",    "/api/v1/admin/rotate-keys",                   &Api::RotateStatus, kAuth,    kAdmin,                             false, ""},
    {"POST",   "/api/v1/admin/backup",                        &Api::Backup,      kAuth,     kAdmin,                             true,  "admin.backup"},
    {"GET",    "/api/v1/admin/audit",                         &Api::AuditSearch, kAuth,     kAdmin,                             true,  "audit.search"},
    {"POST",   "/api/v1/vaults",                              &Api::VaultCreate, kAuth,     Bit(Capability::kVaultsCreate),     true,  "vault.create"},
    {"GET",    "/api/v1/vaults",                              &Api::VaultList,   kAuth,     0,                                  false, "vault.list"},
    {"GET",    "/api/v1/vaults/{vault}",                      &Api::VaultGet,    kAuth,     0,                                  false, "vault.read"},
    {"DELETE", "/api/v1/vaults/{vault}",                      &Api::VaultDelete, kAuth,     Bit(Capability::kVaultsDelete),     true,  "vault.delete"},
    {"POST",   "/api/v1/vaults/{vault}/secrets",              &Api::SecretPush,  kAuth,     Bit(Capability::kSecretsWrite),     true,  "secret.create"},
    {"GET",    "/api/v1/vaults/{vault}/secrets",              &Api::SecretList,  kAuth,     Bit(Capability::kSecretsList),      false, "secret.list"},
    {"GET",    "/api/v1/vaults/{vault}/secrets/{secret...}",  &Api::SecretPull,  kAuth,     Bit(Capability::kSecretsRead),      false, "secret.read"},
    {"HEAD",   "/api/v1/vaults/{vault}/secrets/{secret...}",  &Api::SecretHead,  kAuth,     kSecretMeta,                        false, "secret.inspect"},
    {"DELETE", "/api/v1/vaults/{vault}/secrets/{secret...}",  &Api::SecretDelete, kAuth,    Bit(Capability::kSecretsDelete),    true,  "secret.delete"},
    {"POST",   "/api/v1/vaults/{vault}/keys",                 &Api::KeyCreate,   kAuth,     Bit(Capability::kKeysCreate),       true,  "key.create"},
    {"GET",    "/api/v1/vaults/{vault}/keys",                 &Api::KeyList,     kAuth,     Bit(Capability::kKeysRead),         false, "key.list"},
    {"GET",    "/api/v1/vaults/{vault}/keys/{key}",           &Api::KeyGet,      kAuth,     Bit(Capability::kKeysRead),         false, "key.read"},
    {"DELETE", "/api/v1/vaults/{vault}/keys/{key}",           &Api::KeyDelete,   kAuth,     Bit(Capability::kKeysDelete),       true,  "key.delete"},
    {"POST",   "/api/v1/vaults/{vault}/keys/{key}/encrypt",   &Api::KeyEncrypt,  kAuth,     Bit(Capability::kKeysUse),          false, "key.encrypt"},
    {"POST",   "/api/v1/vaults/{vault}/keys/{key}/decrypt",   &Api::KeyDecrypt,  kAuth,     Bit(Capability::kKeysUse),          false, "key.decrypt"},
    {"POST",   "/api/v1/vaults/{vault}/keys/{key}/sign",      &Api::KeySign,     kAuth,     Bit(Capability::kKeysUse),          false, "key.sign"},
    {"POST",   "/api/v1/vaults/{vault}/keys/{key}/verify",    &Api::KeyVerify,   kAuth,     Bit(Capability::kKeysUse),          false, "key.verify"},
    {"POST",   "/api/v1/vaults/{vault}/keys/{key}/derive",    &Api::KeyDerive,   kAuth,     Bit(Capability::kKeysUse),          true,  "key.derive"},
  };
  // clang-format on
  return kRoutes;
}

std::optional<std::vector<std::string_view>> MatchPattern(std::string_view pattern,
                                                          std::string_view path) {
  std::vector<std::string_view> captures;
  while (!pattern.empty()) {
    if (path.empty() || pattern[0] != '/' || path[0] != '/') return std::nullopt;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const size_t pe = pattern.find('/');
    std::string_view want = pattern.substr(0, pe);
    pattern = pe == std::string_view::npos ? std::string_view() : pattern.substr(pe);
    if (want.starts_with('{') && want.ends_with("...}")) {
      if (path.empty()) return std::nullopt;
      captures.push_back(path);
      return pattern.empty() ? std::optional(captures) : std::nullopt;
    }
    const size_t se = path.find('/');
    std::string_view seg = path.substr(0, se);
    path = se == std::string_view::npos ? std::string_view() : path.substr(se);
    if (want.starts_with('{')) {
      if (seg.empty()) return std::nullopt;
      captures.push_back(seg);
    } else if (want != seg) {
      return std::nullopt;
    }
  }
  if (!path.empty()) return std::nullopt;
  return captures;
}

std::optional<Response> Api::Dispatch(const Request& req, const ParsedTarget& target,
                                      std::string_view path, bool public_routes,
                                      const core::RequestContext* ctx) {
  std::vector<std::string_view> allowed;  // methods of the routes whose pattern matched
  for (const Route& route : Routes()) {
    if ((route.access != Access::kAuthenticated) != public_routes) continue;
    auto captures = MatchPattern(route.pattern, path);
    if (!captures) continue;
    if (route.method != "*" && route.method != req.method) {
      allowed.push_back(route.method);
      continue;
    }
    Response refusal;
    std::optional<core::RequestContext> authenticated;
    if (route.access == Access::kAuthWhileSealed) {
      auto principal = Authenticate(req, &refusal);
      if (!principal.ok()) {
        refusal.route = route.pattern;
        return refusal;
      }
      authenticated.emplace(
          core::RequestContext{req.request_id, std::move(principal).value(), req.client});
      ctx = &*authenticated;
    }
    Call call{req, target, ctx, {}, {}};
    // Captures in pattern order: {vault} first where present, then the resource reference.
    std::string* slots[2] = {&call.vault, &call.ref};
    const bool has_vault = route.pattern.find("{vault}") != std::string_view::npos;
    for (size_t i = 0; i < captures->size(); ++i) {
      auto decoded = PercentDecode((*captures)[i], false);
      if (!decoded.ok()) return ErrorResponse(decoded.status());
      *slots[has_vault ? i : i + 1] = std::move(decoded).value();
    }
    StatusOr<Response> response = (this->*route.handler)(call);
    Response out = response.ok() ? std::move(response).value() : ErrorResponse(response.status());
    out.route = route.pattern;
    if (ctx) out.principal = ctx->principal.id;
    return out;
  }
  if (allowed.empty()) return std::nullopt;
  std::string allow;  // in a fixed order, whatever the table's
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
    if (std::find(allowed.begin(), allowed.end(), m) != allowed.end())
      allow += (allow.empty() ? "" : ", ") + std::string(m);
  return MethodNotAllowed(allow);
}

Response Api::Handle(const Request& req) {
  auto target = ParseTarget(req.target);
  if (!target.ok()) return ErrorResponse(target.status());
  // "/admin/..." is an alias of "/api/v1/admin/...".
  std::string path = target->path.starts_with("/admin/") ? "/api/v1" + target->path : target->path;
  // A trailing slash names the same resource ("/api/v1/vaults/"); a secret name captured by
  // {secret...} keeps its own.
  auto dispatch = [&](bool public_routes, const core::RequestContext* ctx) {
    auto response = Dispatch(req, *target, path, public_routes, ctx);
    if (!response && path.size() > 1 && path.ends_with('/'))
      response = Dispatch(req, *target, std::string_view(path).substr(0, path.size() - 1),
                          public_routes, ctx);
    return response;
  };
  if (auto response = dispatch(true, nullptr)) return std::move(*response);
  if (!path.starts_with("/api/v1/")) return ErrorResponse(NotFoundError("no such route"));
  // The template of the route a refusal stops (metrics and the access log only).
  auto route_of = [&]() -> std::string_view {
    for (const Route& route : Routes())
      if ((route.method == req.method || route.method == "*") && MatchPattern(route.pattern, path))
        return route.pattern;
    return {};
  };
  // Sealed: refuse before authentication or any body parsing.
  if (keeper_.sealed()) {
    Response sealed = ErrorResponse(UnavailableError(std::string(core::kSealedMessage)));
    sealed.route = route_of();
    return sealed;
  }
  Response refusal;
  auto principal = Authenticate(req, &refusal);
  if (!principal.ok()) {
    refusal.route = route_of();
    return refusal;
  }
  const std::string principal_id = principal->id;
  const core::RequestContext ctx{req.request_id, std::move(principal).value(), req.client};
  if (auto response = dispatch(false, &ctx)) return std::move(*response);
  Response none = ErrorResponse(NotFoundError("no such route"));
  none.principal = principal_id;
  return none;
}

bool Api::MayBlock(std::string_view method, std::string_view target) {
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  std::string alias;
  if (path.starts_with("/admin/")) path = alias = "/api/v1" + std::string(path);
  for (const Route& route : Routes())
    if ((route.method == method || route.method == "*") && MatchPattern(route.pattern, path))
      return route.may_block;
  return method != "GET" && method != "HEAD";
}

}  // namespace sirr::api
