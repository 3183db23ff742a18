// Health and seal routes (docs/sealing.md): /health, /status, /api/v1/seal-status, unseal,
// seal, unsealerkey. Served while sealed; unseal and seal-status need no credential.

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/json_input.h"
#include "base/version.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"
#include "seal/master_key.h"

namespace sirr::api {

using internal::Dump;
using nlohmann::json;

// Vault's sys/health convention: 200 unsealed and serving, 503 sealed, 501 not initialised (no
// keyring yet: the api provider before its first unseal); ?sealedcode= and ?uninitcode= choose
// other codes for probes that need them (e.g. 200 for a liveness probe while sealed).
StatusOr<Response> Api::Health(const Call& call) {
  const bool sealed = keeper_.sealed();
  bool initialized = true;
  if (sealed) {
    SIRR_ASSIGN_OR_RETURN(auto status, keeper_.Status());
    initialized = status.initialized;
  }
  int code = 200;
  std::string_view override_name;
  if (!initialized) code = 501, override_name = "uninitcode";
  if (initialized && sealed) code = 503, override_name = "sealedcode";
  if (!override_name.empty() && call.target.HasQuery(override_name)) {
    const std::string_view v = call.target.Query(override_name);
    if (v.size() != 3 || v.find_first_not_of("0123456789") != std::string_view::npos ||
        v[0] < '1' || v[0] > '5')
      return InvalidArgumentError(std::string(override_name) +
                                  " must be an HTTP status code from 100 to 599");
    code = std::stoi(std::string(v));
  }
  json j{{"status", !initialized ? "uninitialized"
                    : sealed     ? "sealed"
                                 : "ok"},
         {"initialized", initialized},
         {"sealed", sealed},
         {"version", version_},
         {"commit", Commit()},
         {"build_type", BuildType()}};
  return JsonResponse(code, Dump(j));
}

StatusOr<Response> Api::Ping(const Call&) { return internal::NoContent(); }

// GET /metrics on the main listener: a principal with metrics:read (admin has it); served
// while sealed, so a scrape shows the seal state. SIRR_METRICS_ADDR serves the same text
// without a credential on a separate listener.
StatusOr<Response> Api::Metrics(const Call& call) {
  if (!call.ctx->principal.Has(core::Capability::kMetricsRead))
    return PermissionDeniedError("reading metrics needs the metrics:read capability");
  if (!metrics_text_) return NotFoundError("metrics are turned off (SIRR_METRICS=false)");
  Response r;
  r.status = 200;
  r.body = metrics_text_();
  r.SetHeader("Content-Type", std::string(metrics::Registry::kContentType));
  return r;
}

Status Api::AuditSeal(const Request& req, const core::RequestContext* ctx, std::string action,
                      std::string outcome, std::string detail) {
  audit::Event e;
  e.action = std::move(action);
  e.outcome = std::move(outcome);
  e.request_id = req.request_id;
  e.principal = ctx ? ctx->principal.id : "";
  e.client = req.client;
  e.detail = std::move(detail);
  return audit_.Append(e);
}

StatusOr<Response> Api::SealStatus(const Call&) {
  SIRR_ASSIGN_OR_RETURN(auto st, keeper_.Status());
  json versions = json::array();
  for (const auto& v : st.key_versions)
    versions.push_back({{"version", v.version}, {"key_id", v.key_id}, {"state", v.state}});
  json j{{"sealed", st.sealed},
         {"initialized", st.initialized},
         {"provider", st.provider},
         {"key_versions", versions},
         {"validation_hash_configured", st.validation_hash_configured}};
  return JsonResponse(200, Dump(j));
}

StatusOr<Response> Api::Seal(const Call& call) {
  const core::RequestContext& ctx = *call.ctx;
  if (!ctx.principal.is_admin()) {
    Status denied = core::Require(ctx.principal, core::Capability::kAdmin);
    SIRR_RETURN_IF_ERROR(AuditSeal(call.req, &ctx, "seal.seal", "denied", "missing admin"));
    return denied;
  }
  // Recorded while the audit key is still there; then every key is wiped.
  SIRR_RETURN_IF_ERROR(AuditSeal(call.req, &ctx, "seal.seal", "success", ""));
  keeper_.Seal();
  if (log_) log_("sealed by " + ctx.principal.id + " from " + call.req.client);
  return internal::NoContent();
}

StatusOr<Response> Api::UnsealerKey(const Call& call) {
  // A fresh 256-bit mnemonic and its validation hash; changes nothing here.
  SecretBytes entropy = crypto::SecureRandom::Get().RandomSecret(32);
  SIRR_ASSIGN_OR_RETURN(auto mnemonic, crypto::hd::EntropyToMnemonic(entropy.reveal()));
  SIRR_RETURN_IF_ERROR(AuditSeal(call.req, call.ctx, "seal.unsealerkey", "success", ""));
  // Assigned (moved) into the json, so no unwiped temporary copy of the phrase is left behind.
  json j = json::object();
  j["key"] = std::string(mnemonic.reveal_string());
  j["validation_hash"] = seal::ValidationHash(entropy);
  Response r = JsonResponse(201, Dump(j));
  WipeStringMember(j, "key");
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

StatusOr<Response> Api::Unseal(const Call& call) {
  const Request& req = call.req;
  if (auto wait = unseal_limiter_.RetryAfter(req.client)) {
    metrics_.unseal_refused.Inc();
    SIRR_RETURN_IF_ERROR(AuditSeal(req, nullptr, "seal.unseal", "rate_limited",
                                   "retry after " + std::to_string(*wait) + " s"));
    Response r = ErrorResponse(
        ResourceExhaustedError("too many failed unseal attempts from this address; retry after " +
                               std::to_string(*wait) + " s"));
    r.SetHeader("Retry-After", std::to_string(*wait));
    return r;
  }
  auto fail = [&](const Status& st, const char* outcome, bool counts) -> Status {
    if (counts) unseal_limiter_.RecordFailure(req.client);
    metrics_.unseal_refused.Inc();
    Status logged = AuditSeal(req, nullptr, "seal.unseal", outcome, st.message());
    if (log_) log_("unseal attempt from " + req.client + " refused: " + st.message());
    return logged.ok() ? st : logged;
  };
  auto parsed = ParseJsonObject(req.body);
  if (!parsed.ok()) return fail(parsed.status(), "malformed", false);
  auto key = internal::SecretField(*parsed, "key", internal::Encoding::kText);
  if (!key.ok()) return fail(key.status(), "invalid", false);
  if (!*key || (*key)->reveal_string().find_first_not_of(" \t\r\n") == std::string_view::npos)
    return fail(InvalidArgumentError("unsealer key material required"), "invalid", false);
  auto words = crypto::hd::MnemonicToEntropy((*key)->reveal_string());
  key->reset();
  if (!words.ok())
    return fail(InvalidArgumentError("unsealer key is not a valid BIP39 mnemonic: " +
                                     words.status().message()),
                "invalid", true);
  if (words->size() != 32)
    return fail(InvalidArgumentError("unsealer key must be a 24-word mnemonic (256 bits of "
                                     "entropy); this one has " +
                                     std::to_string(words->size() * 8) + " bits"),
                "invalid", true);
  auto result = keeper_.Unseal(std::move(words).value());
  if (!result.ok()) {
    const bool denied = result.status().code() == StatusCode::kPermissionDenied;
    return fail(result.status(), denied ? "denied" : "error", denied);
  }
  unseal_limiter_.RecordSuccess(req.client);
  std::string detail = result->already_unsealed ? "key verified; already unsealed"
                       : result->initialized_now
                           ? "initialised keyring version 1 and the default vault"
                           : "key version " + std::to_string(result->key_version);
  Status logged = AuditSeal(req, nullptr, "seal.unseal", "success", detail);
  if (log_ && !result->already_unsealed) log_("unsealed from " + req.client + ": " + detail);
  SIRR_RETURN_IF_ERROR(logged);
  return internal::NoContent();
}

}  // namespace sirr::api
