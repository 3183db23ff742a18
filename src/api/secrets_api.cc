// Secret routes (docs/api.md "Secrets"): /api/v1/vaults/{vault}/secrets[/{secret...}].

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/json_input.h"
#include "base/encoding.h"

namespace sirr::api {
namespace {

using internal::Dump;
using internal::NullableInt;
using internal::NullableTime;
using nlohmann::json;

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
  j["content_type"] = r.content_type.empty() ? json(nullptr) : json(r.content_type);
  j["expires_at"] = NullableTime(r.expires_at);
  j["max_reads"] = NullableInt(r.max_reads);
  j["reads_remaining"] = NullableInt(r.reads_remaining);
  j["state"] = StateName(r.state);
  return j;
}

// Everything GET returns but the value (HEAD; `sirr inspect`).
void SetMetaHeaders(Response& r, const storage::SecretRow& s) {
  r.SetHeader("X-Secret-Id", s.id);
  r.SetHeader("X-Secret-Vault-Id", s.vault_id);
  r.SetHeader("X-Secret-Description", s.description);
  if (s.max_reads) r.SetHeader("X-Secret-Max-Reads", std::to_string(*s.max_reads));
  r.SetHeader("X-Secret-Name", s.name);
  r.SetHeader("X-Secret-Type", s.type);
  if (!s.content_type.empty()) r.SetHeader("X-Secret-Content-Type", s.content_type);
  r.SetHeader("X-Secret-State", std::string(StateName(s.state)));
  r.SetHeader("X-Secret-Created-At", FormatRfc3339(s.created_at));
  if (s.expires_at) r.SetHeader("X-Secret-Expires-At", FormatRfc3339(*s.expires_at));
  if (s.reads_remaining)
    r.SetHeader("X-Secret-Reads-Remaining", std::to_string(*s.reads_remaining));
}

// The push body (name, value, encoding, type, description, ttl_seconds, max_reads); the
// JSON copy of the value is wiped on every path.
StatusOr<core::PushRequest> ParsePush(json& j) {
  auto encoding = internal::EncodingOf(j);
  if (!encoding.ok()) {
    WipeStringMember(j, "value");
    return encoding.status();
  }
  auto value = internal::SecretField(j, "value", *encoding);
  auto name = OptionalString(j, "name");
  auto type = OptionalString(j, "type");
  auto description = OptionalString(j, "description");
  auto content_type = OptionalString(j, "content_type");
  auto ttl = OptionalInt(j, "ttl_seconds");
  auto reads = OptionalInt(j, "max_reads");
  for (const Status& st : {name.status(), value.status(), type.status(), description.status(),
                           content_type.status(), ttl.status(), reads.status()})
    SIRR_RETURN_IF_ERROR(st);
  if (!*name) return InvalidArgumentError("name is required");
  if (!*value) return InvalidArgumentError("value is required");
  core::PushRequest p;
  p.name = std::move(**name);
  p.value = std::move(**value);
  p.type = type->value_or("");
  p.description = description->value_or("");
  p.content_type = content_type->value_or("");
  p.ttl_seconds = *ttl;
  p.max_reads = *reads;
  return p;
}

}  // namespace

StatusOr<Response> Api::SecretPush(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  SIRR_ASSIGN_OR_RETURN(core::PushRequest p, ParsePush(j));
  p.vault = call.vault;
  p.overwrite = call.target.Query("overwrite") == "true" || call.target.Query("overwrite") == "1";
  SIRR_ASSIGN_OR_RETURN(auto row, secrets_.Push(*call.ctx, std::move(p)));
  return JsonResponse(201, Dump(SecretMetaJson(row)));
}

StatusOr<Response> Api::SecretList(const Call& call) {
  storage::SecretFilter filter;
  filter.type = std::string(call.target.Query("type"));
  filter.prefix = std::string(call.target.Query("prefix"));
  SIRR_ASSIGN_OR_RETURN(auto window, internal::PageWindowOf(call.target));
  filter.offset = window.offset;
  filter.limit = window.limit;
  SIRR_ASSIGN_OR_RETURN(auto result, secrets_.List(*call.ctx, call.vault, filter));
  return internal::ListResponse(result.rows, result.total, SecretMetaJson);
}

StatusOr<Response> Api::SecretPull(const Call& call) {
  auto pulled =
      secrets_.Pull(*call.ctx, call.vault, call.ref, call.target.Query("unless_content_type"));
  if (!pulled.ok()) {
    Response r = ErrorResponse(pulled.status());
    if (pulled.status().code() == StatusCode::kGone) {
      // 410 says what happened to the secret (burned or expired, and when).
      auto meta = secrets_.Inspect(*call.ctx, call.vault, call.ref);
      if (meta.ok())
        r.body =
            Dump(json{{"message", pulled.status().message()}, {"secret", SecretMetaJson(*meta)}});
    }
    return r;
  }
  json j = SecretMetaJson(pulled->meta);
  internal::PutSecretValue(j, "value", pulled->value, /*text_ok=*/true);
  Response r = JsonResponse(200, Dump(j));
  WipeStringMember(j, "value");
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

StatusOr<Response> Api::SecretHead(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(auto meta, secrets_.Inspect(*call.ctx, call.vault, call.ref));
  Response r;
  r.status = meta.state == storage::SecretState::kLive ? 200 : 410;
  SetMetaHeaders(r, meta);
  return r;
}

StatusOr<Response> Api::SecretDelete(const Call& call) {
  SIRR_RETURN_IF_ERROR(secrets_.Delete(*call.ctx, call.vault, call.ref).status());
  return internal::NoContent();
}

}  // namespace sirr::api
