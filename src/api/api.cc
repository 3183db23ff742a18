#include "api/api.h"

#include <nlohmann/json.hpp>

#include "api/api_internal.h"
#include "api/json_input.h"
#include "base/encoding.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"

namespace sirr::api {
namespace {

using internal::Dump;
using internal::IsValidUtf8;
using internal::ListResponse;
using internal::NoContent;
using internal::PageWindowOf;
using nlohmann::json;

json NullableTime(const std::optional<int64_t>& t) {
  return t ? json(FormatRfc3339(*t)) : json(nullptr);
}
json NullableInt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

std::string_view StateName(storage::SecretState s) {
  switch (s) {
    case storage::SecretState::kLive:
      return "live";
    case storage::SecretState::kBurned:
      return "burned";
    case storage::SecretState::kExpired:
      return "expired";
  }
  return "unknown";
}

json SecretMetaJson(const storage::SecretRow& r) {
  json j;
  j["id"] = r.id;
  j["created_at"] = FormatRfc3339(r.created_at);
  j["vault_id"] = r.vault_id;
  j["type"] = r.type;
  j["name"] = r.name;
  j["description"] = r.description;
  j["expires_at"] = NullableTime(r.expires_at);
  j["max_reads"] = NullableInt(r.max_reads);
  j["reads_remaining"] = NullableInt(r.reads_remaining);
  j["state"] = StateName(r.state);
  return j;
}

void SetMetaHeaders(Response& r, const storage::SecretRow& s) {
  r.SetHeader("X-Secret-Id", s.id);
  r.SetHeader("X-Secret-Name", s.name);
  r.SetHeader("X-Secret-Type", s.type);
  r.SetHeader("X-Secret-State", std::string(StateName(s.state)));
  r.SetHeader("X-Secret-Created-At", FormatRfc3339(s.created_at));
  if (s.expires_at) r.SetHeader("X-Secret-Expires-At", FormatRfc3339(*s.expires_at));
  if (s.reads_remaining)
    r.SetHeader("X-Secret-Reads-Remaining", std::to_string(*s.reads_remaining));
}

json VaultJson(const storage::VaultRow& v) {
  return json{{"id", v.id},
              {"created_at", FormatRfc3339(v.created_at)},
              {"name", v.name},
              {"description", v.description},
              {"owner", v.owner.empty() ? json(nullptr) : json(v.owner)}};
}

std::string TokenState(const storage::TokenRow& t, int64_t now) {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && *t.expires_at <= now) return "expired";
  if (t.max_uses && t.uses >= *t.max_uses) return "used_up";
  return "active";
}

json TokenJson(const storage::TokenRow& t, int64_t now) {
  json vaults = json::array();
  if (t.all_vaults) vaults.push_back("*");
  for (const auto& id : t.vault_ids) vaults.push_back(id);
  return json{{"id", t.id},
              {"name", t.name},
              {"capabilities", core::SplitCapabilities(t.capabilities)},
              {"vaults", vaults},
              {"created_at", FormatRfc3339(t.created_at)},
              {"created_by", t.created_by},
              {"expires_at", NullableTime(t.expires_at)},
              {"max_uses", NullableInt(t.max_uses)},
              {"uses", t.max_uses ? json(t.uses) : json(nullptr)},
              {"revoked_at", NullableTime(t.revoked_at)},
              {"state", TokenState(t, now)}};
}

// Splits "a/b" into ("a", "b", true); "a" into ("a", "", false).
struct Segments {
  std::string_view head;
  std::string_view tail;
  bool has_tail = false;
};
Segments SplitFirst(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return {s, {}, false};
  return {s.substr(0, slash), s.substr(slash + 1), true};
}

}  // namespace

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
      backup_(std::move(options.backup)) {}

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
      Status limited =
          ResourceExhaustedError("too many failed authentications from this address; retry after " +
                                 std::to_string(*wait) + " s");
      if (refuse(limited, "auth.rate_limited", "rate_limited", ""))
        refusal->SetHeader("Retry-After", std::to_string(*wait));
      return limited;
    }
    refuse(principal.status(), "auth.denied", "unauthenticated",
           token_id.empty() ? "" : "token:" + token_id);
    return principal.status();
  }
  if (principal->kind == core::PrincipalKind::kAdmin && !rate_limit_admin_) return principal;
  if (auto wait = rate_limiter_.Take(principal->id)) {
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

bool Api::MayBlock(std::string_view method, std::string_view target) {
  if (method == "GET" || method == "HEAD") return false;
  if (method != "POST") return true;
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/api/v1/verify") return false;
  if (path.find("/keys/") == std::string_view::npos) return true;
  for (std::string_view op : {"/encrypt", "/decrypt", "/sign", "/verify"})
    if (path.ends_with(op)) return false;
  return true;
}

Response Api::Handle(const Request& req) {
  auto target = ParseTarget(req.target);
  if (!target.ok()) return ErrorResponse(target.status());
  const std::string& path = target->path;

  if (path == "/health") {
    if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET, HEAD");
    json j{{"status", "ok"}, {"sealed", keeper_.sealed()}, {"version", version_}};
    return JsonResponse(200, Dump(j));
  }
  if (path == "/status") return NoContent();
  constexpr std::string_view kApi = "/api/v1/";
  // "/admin/…" is accepted as an alias of "/api/v1/admin/…".
  const bool admin_alias = path.starts_with("/admin/");
  if (!path.starts_with(kApi) && !admin_alias) return ErrorResponse(NotFoundError("no such route"));
  std::string_view route = std::string_view(path).substr(admin_alias ? 1 : kApi.size());
  if (route == "seal-status" || route == "unseal" || route == "unsealerkey" || route == "seal")
    return HandleSeal(req, route);
  // Sealed: refuse before authentication or any body parsing.
  if (keeper_.sealed()) return ErrorResponse(UnavailableError(std::string(core::kSealedMessage)));

  Response refusal;
  auto principal = Authenticate(req, &refusal);
  if (!principal.ok()) return refusal;
  core::RequestContext ctx{req.request_id, std::move(principal).value(), req.client};

  Segments top = SplitFirst(route);
  if (top.head == "tokens") {
    auto id = PercentDecode(top.tail, false);
    if (!id.ok()) return ErrorResponse(id.status());
    if (top.has_tail && id->empty()) return ErrorResponse(NotFoundError("no such route"));
    return HandleTokens(req, ctx, *id, top.has_tail);
  }
  if (top.head == "verify" && !top.has_tail) return HandleVerifyDetached(req, ctx);
  if (top.head == "admin" && top.has_tail) return HandleAdmin(req, ctx, top.tail);
  if (top.head != "vaults") return ErrorResponse(NotFoundError("no such route"));
  if (!top.has_tail || top.tail.empty()) return HandleVaults(req, *target, ctx, "", false);
  // /api/v1/vaults/{vault}[/secrets[/{secret...}]]
  Segments rest = SplitFirst(top.tail);
  auto vault = PercentDecode(rest.head, false);
  if (!vault.ok()) return ErrorResponse(vault.status());
  if (!rest.has_tail || rest.tail.empty()) return HandleVaults(req, *target, ctx, *vault, true);
  if (rest.tail == "keys") return HandleKeys(req, *target, ctx, *vault, "");
  if (rest.tail.starts_with("keys/"))
    return HandleKeys(req, *target, ctx, *vault, rest.tail.substr(5));
  constexpr std::string_view kSecrets = "secrets";
  if (rest.tail == kSecrets || rest.tail == "secrets/")
    return HandleSecrets(req, *target, ctx, *vault, "", false);
  if (rest.tail.starts_with("secrets/")) {
    // Everything after secrets/ is the name: "db%2Fprod" and "db/prod" both work.
    auto secret = PercentDecode(rest.tail.substr(kSecrets.size() + 1), false);
    if (!secret.ok()) return ErrorResponse(secret.status());
    return HandleSecrets(req, *target, ctx, *vault, *secret, true);
  }
  return ErrorResponse(NotFoundError("no such route"));
}

Response Api::HandleVaults(const Request& req, const ParsedTarget& target,
                           const core::RequestContext& ctx, std::string_view vault,
                           bool has_vault) {
  if (!has_vault && req.method == "POST") {
    auto parsed = ParseJsonObject(req.body);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    auto name = OptionalString(*parsed, "name");
    auto description = OptionalString(*parsed, "description");
    for (const Status& st : {name.status(), description.status()})
      if (!st.ok()) return ErrorResponse(st);
    if (!*name) return ErrorResponse(InvalidArgumentError("name is required"));
    auto row = vaults_.Create(ctx, {std::move(**name), description->value_or("")});
    if (!row.ok()) return ErrorResponse(row.status());
    return JsonResponse(201, Dump(VaultJson(*row)));
  }
  if (!has_vault && req.method == "GET") {
    auto window = PageWindowOf(target);
    if (!window.ok()) return ErrorResponse(window.status());
    auto result = vaults_.List(ctx, window->offset, window->limit);
    if (!result.ok()) return ErrorResponse(result.status());
    return ListResponse(result->rows, result->total, VaultJson);
  }
  if (!has_vault) return MethodNotAllowed("GET, POST");
  if (req.method == "GET") {
    auto row = vaults_.Get(ctx, vault);
    if (!row.ok()) return ErrorResponse(row.status());
    return JsonResponse(200, Dump(VaultJson(*row)));
  }
  if (req.method == "DELETE") {
    std::string_view force = target.Query("force");
    if (!force.empty() && force != "true" && force != "false" && force != "1" && force != "0")
      return ErrorResponse(InvalidArgumentError("force must be true or false"));
    auto deleted = vaults_.Delete(ctx, vault, force == "true" || force == "1");
    if (!deleted.ok()) return ErrorResponse(deleted.status());
    if (log_)
      log_("vault '" + deleted->vault.name + "' (" + deleted->vault.id + ") deleted by " +
           ctx.principal.id + "; vault key destroyed, " +
           std::to_string(deleted->secrets_destroyed) + " secret and key row(s) removed");
    return NoContent();
  }
  return MethodNotAllowed("GET, DELETE");
}

Response Api::HandleTokens(const Request& req, const core::RequestContext& ctx, std::string_view id,
                           bool has_id) {
  const int64_t now = clock_.NowMillis();
  if (!has_id && req.method == "POST") {
    auto parsed = ParseJsonObject(req.body);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    auto name = OptionalString(*parsed, "name");
    auto vaults = OptionalStringArray(*parsed, "vaults");
    auto caps = OptionalStringArray(*parsed, "capabilities", 64);
    auto ttl = OptionalInt(*parsed, "ttl_seconds");
    auto uses = OptionalInt(*parsed, "max_uses");
    for (const Status& st :
         {name.status(), vaults.status(), caps.status(), ttl.status(), uses.status()})
      if (!st.ok()) return ErrorResponse(st);
    core::CreateTokenRequest request{name->value_or(""),
                                     vaults->value_or(std::vector<std::string>()),
                                     caps->value_or(std::vector<std::string>()), *ttl, *uses};
    auto created = tokens_.Create(ctx, std::move(request));
    if (!created.ok()) return ErrorResponse(created.status());
    json j = TokenJson(created->row, now);
    j["token"] = std::string(created->value.reveal_string());
    Response r = JsonResponse(201, Dump(j));
    WipeStringMember(j, "token");
    r.SetHeader("Cache-Control", "no-store");
    return r;
  }
  if (!has_id && req.method == "GET") {
    auto rows = tokens_.List(ctx);
    if (!rows.ok()) return ErrorResponse(rows.status());
    return ListResponse(*rows, static_cast<int64_t>(rows->size()),
                        [now](const storage::TokenRow& t) { return TokenJson(t, now); });
  }
  if (!has_id) return MethodNotAllowed("GET, POST");
  if (req.method == "GET") {
    auto row = tokens_.Get(ctx, id);
    if (!row.ok()) return ErrorResponse(row.status());
    return JsonResponse(200, Dump(TokenJson(*row, now)));
  }
  if (req.method == "DELETE") {
    Status st = tokens_.Revoke(ctx, id);
    if (!st.ok()) return ErrorResponse(st);
    return NoContent();
  }
  return MethodNotAllowed("GET, DELETE");
}

namespace {

json RotationJson(const core::RotationStatus& s) {
  auto time = [](int64_t ms) { return ms > 0 ? json(FormatRfc3339(ms)) : json(nullptr); };
  json j{{"job_id", s.job_id.empty() ? json(nullptr) : json(s.job_id)},
         {"state", s.state},
         {"total", s.total},
         {"done", s.done},
         {"failed", s.failed},
         {"started_at", time(s.started_at)},
         {"finished_at", time(s.finished_at)}};
  if (s.from_version > 0) {
    j["from_version"] = s.from_version;
    j["to_version"] = s.to_version;
  }
  if (!s.detail.empty()) j["detail"] = s.detail;
  return j;
}

}  // namespace

Response Api::HandleAdmin(const Request& req, const core::RequestContext& ctx,
                          std::string_view route) {
  if (route == "rotate-keys" && rotation_) {
    if (req.method == "POST") {
      auto started = rotation_->Start(ctx);
      if (!started.ok()) return ErrorResponse(started.status());
      return JsonResponse(202, Dump(json{{"job_id", started->job_id}, {"total", started->total}}));
    }
    if (req.method != "GET") return MethodNotAllowed("GET, POST");
    if (Status st = core::Require(ctx.principal, core::Capability::kAdmin); !st.ok())
      return ErrorResponse(st);
    return JsonResponse(200, Dump(RotationJson(rotation_->Status())));
  }
  if (route == "backup" && backup_) {
    if (req.method != "POST") return MethodNotAllowed("POST");
    audit::Event e;
    e.action = "admin.backup";
    e.request_id = req.request_id;
    e.principal = ctx.principal.id;
    e.client = req.client;
    if (Status st = core::Require(ctx.principal, core::Capability::kAdmin); !st.ok()) {
      e.outcome = "denied";
      Status logged = audit_.Append(e);
      return ErrorResponse(logged.ok() ? st : logged);
    }
    auto snapshot = backup_();
    const std::string sha256 =
        snapshot.ok() ? HexEncode(crypto::Sha256(AsBytes(*snapshot))) : std::string();
    e.outcome = snapshot.ok() ? "success" : "error";
    e.detail = snapshot.ok() ? std::to_string(snapshot->size()) + " bytes, sha256 " + sha256
                             : snapshot.status().message();
    if (Status logged = audit_.Append(e); !logged.ok()) return ErrorResponse(logged);
    if (!snapshot.ok()) return ErrorResponse(snapshot.status());
    Response r;
    r.status = 200;
    r.SetHeader("Content-Type", "application/vnd.sqlite3");
    r.SetHeader("X-Sirr-Backup-Sha256", sha256);
    r.SetHeader("Cache-Control", "no-store");
    r.body = std::move(snapshot).value();
    return r;
  }
  return ErrorResponse(NotFoundError("no such route"));
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

Response Api::HandleSeal(const Request& req, std::string_view route) {
  if (route == "seal-status") {
    if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed("GET, HEAD");
    auto st = keeper_.Status();
    if (!st.ok()) return ErrorResponse(st.status());
    json versions = json::array();
    for (const auto& v : st->key_versions)
      versions.push_back({{"version", v.version}, {"key_id", v.key_id}, {"state", v.state}});
    json j{{"sealed", st->sealed},
           {"initialized", st->initialized},
           {"provider", st->provider},
           {"key_versions", versions},
           {"validation_hash_configured", st->validation_hash_configured}};
    return JsonResponse(200, Dump(j));
  }
  if (req.method != "POST") return MethodNotAllowed("POST");
  if (route == "unseal") return Unseal(req);

  Response refusal;
  auto principal = Authenticate(req, &refusal);
  if (!principal.ok()) return refusal;
  core::RequestContext ctx{req.request_id, std::move(principal).value(), req.client};
  if (route == "seal") {
    if (!ctx.principal.is_admin()) {
      Status denied = core::Require(ctx.principal, core::Capability::kAdmin);
      Status logged = AuditSeal(req, &ctx, "seal.seal", "denied", "missing admin");
      return ErrorResponse(logged.ok() ? denied : logged);
    }
    // Recorded while the audit key is still there; then every key is wiped.
    Status logged = AuditSeal(req, &ctx, "seal.seal", "success", "");
    if (!logged.ok()) return ErrorResponse(logged);
    keeper_.Seal();
    if (log_) log_("sealed by " + ctx.principal.id + " from " + req.client);
    return NoContent();
  }
  // unsealerkey: a fresh 256-bit mnemonic and its validation hash; changes nothing here.
  SecretBytes entropy = crypto::SecureRandom::Get().RandomSecret(32);
  auto mnemonic = crypto::hd::EntropyToMnemonic(entropy.reveal());
  if (!mnemonic.ok()) return ErrorResponse(mnemonic.status());
  Status logged = AuditSeal(req, &ctx, "seal.unsealerkey", "success", "");
  if (!logged.ok()) return ErrorResponse(logged);
  // Assigned (moved) into the json, so no unwiped temporary copy of the phrase is left behind.
  json j = json::object();
  j["key"] = std::string(mnemonic->reveal_string());
  j["validation_hash"] = seal::ValidationHash(entropy);
  Response r = JsonResponse(201, Dump(j));
  WipeStringMember(j, "key");
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

Response Api::Unseal(const Request& req) {
  if (auto wait = unseal_limiter_.RetryAfter(req.client)) {
    Status logged = AuditSeal(req, nullptr, "seal.unseal", "rate_limited",
                              "retry after " + std::to_string(*wait) + " s");
    if (!logged.ok()) return ErrorResponse(logged);
    Response r = ErrorResponse(
        ResourceExhaustedError("too many failed unseal attempts from this address; retry after " +
                               std::to_string(*wait) + " s"));
    r.SetHeader("Retry-After", std::to_string(*wait));
    return r;
  }
  auto fail = [&](const Status& st, const char* outcome, bool counts) {
    if (counts) unseal_limiter_.RecordFailure(req.client);
    Status logged = AuditSeal(req, nullptr, "seal.unseal", outcome, st.message());
    if (log_) log_("unseal attempt from " + req.client + " refused: " + st.message());
    return ErrorResponse(logged.ok() ? st : logged);
  };
  auto parsed = ParseJsonObject(req.body);
  if (!parsed.ok()) return fail(parsed.status(), "malformed", false);
  json& j = *parsed;
  auto key = OptionalString(j, "key");
  if (!key.ok()) {
    WipeStringMember(j, "key");
    return fail(key.status(), "invalid", false);
  }
  if (!*key || (*key)->find_first_not_of(" \t\r\n") == std::string::npos)
    return fail(InvalidArgumentError("unsealer key material required"), "invalid", false);
  auto words = crypto::hd::MnemonicToEntropy(**key);
  WipeStringMember(j, "key");
  SecureWipe((*key)->data(), (*key)->size());
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
  if (!logged.ok()) return ErrorResponse(logged);
  return NoContent();
}

Response Api::HandleSecrets(const Request& req, const ParsedTarget& target,
                            const core::RequestContext& ctx, std::string_view vault,
                            std::string_view secret, bool has_secret) {
  if (!has_secret && req.method == "POST") {
    auto parsed = ParseJsonObject(req.body);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    json& j = *parsed;
    core::PushRequest p;
    p.vault = std::string(vault);
    auto name = OptionalString(j, "name");
    auto value = OptionalString(j, "value");
    auto type = OptionalString(j, "type");
    auto description = OptionalString(j, "description");
    auto encoding = OptionalString(j, "encoding");
    auto ttl = OptionalInt(j, "ttl_seconds");
    auto reads = OptionalInt(j, "max_reads");
    for (const Status& st : {name.status(), value.status(), type.status(), description.status(),
                             encoding.status(), ttl.status(), reads.status()}) {
      if (!st.ok()) {
        WipeStringMember(j, "value");
        return ErrorResponse(st);
      }
    }
    if (!*name) return ErrorResponse(InvalidArgumentError("name is required"));
    if (!*value) return ErrorResponse(InvalidArgumentError("value is required"));
    if (*encoding && **encoding == "base64") {
      auto decoded = Base64DecodeSecret(**value);
      WipeStringMember(j, "value");
      SecureWipe((*value)->data(), (*value)->size());
      if (!decoded.ok()) return ErrorResponse(InvalidArgumentError("value is not valid base64"));
      p.value = std::move(decoded).value();
    } else if (!*encoding || **encoding == "utf-8" || **encoding == "text") {
      p.value = SecretBytes::FromString(**value);
      WipeStringMember(j, "value");
      SecureWipe((*value)->data(), (*value)->size());
    } else {
      WipeStringMember(j, "value");
      return ErrorResponse(InvalidArgumentError("encoding must be \"base64\" or \"text\""));
    }
    p.name = std::move(**name);
    p.type = type->value_or("");
    p.description = description->value_or("");
    p.ttl_seconds = *ttl;
    p.max_reads = *reads;
    p.overwrite = target.Query("overwrite") == "true" || target.Query("overwrite") == "1";
    auto row = secrets_.Push(ctx, std::move(p));
    if (!row.ok()) return ErrorResponse(row.status());
    return JsonResponse(201, Dump(SecretMetaJson(*row)));
  }
  if (!has_secret && req.method == "GET") {
    storage::SecretFilter filter;
    filter.type = std::string(target.Query("type"));
    filter.prefix = std::string(target.Query("prefix"));
    auto window = PageWindowOf(target);
    if (!window.ok()) return ErrorResponse(window.status());
    filter.offset = window->offset;
    filter.limit = window->limit;
    auto result = secrets_.List(ctx, vault, filter);
    if (!result.ok()) return ErrorResponse(result.status());
    return ListResponse(result->rows, result->total, SecretMetaJson);
  }
  if (!has_secret) return MethodNotAllowed("GET, POST");

  if (req.method == "GET") {
    auto pulled = secrets_.Pull(ctx, vault, secret);
    if (!pulled.ok()) {
      Response r = ErrorResponse(pulled.status());
      if (pulled.status().code() == StatusCode::kGone) {
        auto meta = secrets_.Inspect(ctx, vault, secret);
        if (meta.ok()) {
          json j{{"message", pulled.status().message()}, {"secret", SecretMetaJson(*meta)}};
          r.body = Dump(j);
        }
      }
      return r;
    }
    json j = SecretMetaJson(pulled->meta);
    std::string_view value = pulled->value.reveal_string();
    if (IsValidUtf8(value)) {
      j["value"] = std::string(value);
    } else {
      j["value"] = Base64Encode(pulled->value.reveal());
      j["encoding"] = "base64";
    }
    Response r = JsonResponse(200, Dump(j));
    WipeStringMember(j, "value");
    r.SetHeader("Cache-Control", "no-store");
    return r;
  }
  if (req.method == "HEAD") {
    auto meta = secrets_.Inspect(ctx, vault, secret);
    if (!meta.ok()) return ErrorResponse(meta.status());
    Response r;
    r.status = meta->state == storage::SecretState::kLive ? 200 : 410;
    SetMetaHeaders(r, *meta);
    return r;
  }
  if (req.method == "DELETE") {
    auto deleted = secrets_.Delete(ctx, vault, secret);
    if (!deleted.ok()) return ErrorResponse(deleted.status());
    return NoContent();
  }
  return MethodNotAllowed("GET, HEAD, DELETE");
}

namespace internal {

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as JSON strings require.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (size_t k = 2; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}

static StatusOr<int64_t> PageParam(const ParsedTarget& t, const char* name, int64_t dflt,
                                   int64_t max) {
  if (!t.HasQuery(name)) return dflt;
  std::string_view v = t.Query(name);
  int64_t n = 0;
  if (v.empty() || v.size() > 9)
    return InvalidArgumentError(std::string(name) + " must be a positive integer");
  for (char c : v) {
    if (c < '0' || c > '9')
      return InvalidArgumentError(std::string(name) + " must be a positive integer");
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > max)
    return InvalidArgumentError(std::string(name) + " must be between 1 and " +
                                std::to_string(max));
  return n;
}

Response NoContent() {
  Response r;
  r.status = 204;
  return r;
}

// The page window from ?page=&rpp= (defaults 1 and 25, rpp at most 1000).
StatusOr<PageWindow> PageWindowOf(const ParsedTarget& t) {
  SIRR_ASSIGN_OR_RETURN(int64_t page, PageParam(t, "page", 1, 1'000'000'000));
  SIRR_ASSIGN_OR_RETURN(int64_t rpp, PageParam(t, "rpp", 25, 1000));
  return PageWindow{(page - 1) * rpp, rpp};
}

StatusOr<Bytes> DecodeHexField(std::string_view text, std::string_view field) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  auto bytes = HexDecode(text);
  if (!bytes.ok()) return InvalidArgumentError(std::string(field) + " is not valid hex");
  return bytes;
}

}  // namespace internal

}  // namespace sirr::api
