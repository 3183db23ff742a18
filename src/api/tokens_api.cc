// API token routes (docs/access.md): /api/v1/tokens[/{id}].

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/json_input.h"

namespace sirr::api {
namespace {

using internal::Dump;
using internal::NullableInt;
using internal::NullableTime;
using nlohmann::json;

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

}  // namespace

StatusOr<Response> Api::TokenCreate(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json body, ParseJsonObject(call.req.body));
  auto name = OptionalString(body, "name");
  auto vaults = OptionalStringArray(body, "vaults");
  auto caps = OptionalStringArray(body, "capabilities", 64);
  auto ttl = OptionalInt(body, "ttl_seconds");
  auto uses = OptionalInt(body, "max_uses");
  for (const Status& st :
       {name.status(), vaults.status(), caps.status(), ttl.status(), uses.status()})
    SIRR_RETURN_IF_ERROR(st);
  core::CreateTokenRequest request{name->value_or(""), vaults->value_or(std::vector<std::string>()),
                                   caps->value_or(std::vector<std::string>()), *ttl, *uses};
  SIRR_ASSIGN_OR_RETURN(auto created, tokens_.Create(*call.ctx, std::move(request)));
  json j = TokenJson(created.row, clock_.NowMillis());
  j["token"] = std::string(created.value.reveal_string());
  Response r = JsonResponse(201, Dump(j));
  WipeStringMember(j, "token");
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

StatusOr<Response> Api::TokenList(const Call& call) {
  const int64_t now = clock_.NowMillis();
  SIRR_ASSIGN_OR_RETURN(auto rows, tokens_.List(*call.ctx));
  return internal::ListResponse(rows, static_cast<int64_t>(rows.size()),
                                [now](const storage::TokenRow& t) { return TokenJson(t, now); });
}

StatusOr<Response> Api::TokenGet(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(auto row, tokens_.Get(*call.ctx, call.ref));
  return JsonResponse(200, Dump(TokenJson(row, clock_.NowMillis())));
}

StatusOr<Response> Api::TokenRevoke(const Call& call) {
  SIRR_RETURN_IF_ERROR(tokens_.Revoke(*call.ctx, call.ref));
  return internal::NoContent();
}

}  // namespace sirr::api
