// Vault routes (docs/api.md "Vaults"): /api/v1/vaults[/{vault}].

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/json_input.h"

namespace sirr::api {
namespace {

using internal::Dump;
using nlohmann::json;

json VaultJson(const storage::VaultRow& v) {
  return json{{"id", v.id},
              {"created_at", FormatRfc3339(v.created_at)},
              {"name", v.name},
              {"description", v.description},
              {"owner", v.owner.empty() ? json(nullptr) : json(v.owner)}};
}

}  // namespace

StatusOr<Response> Api::VaultCreate(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(json j, ParseJsonObject(call.req.body));
  auto name = OptionalString(j, "name");
  auto description = OptionalString(j, "description");
  for (const Status& st : {name.status(), description.status()}) SIRR_RETURN_IF_ERROR(st);
  if (!*name) return InvalidArgumentError("name is required");
  SIRR_ASSIGN_OR_RETURN(auto row,
                        vaults_.Create(*call.ctx, {std::move(**name), description->value_or("")}));
  return JsonResponse(201, Dump(VaultJson(row)));
}

StatusOr<Response> Api::VaultList(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(auto window, internal::PageWindowOf(call.target));
  SIRR_ASSIGN_OR_RETURN(auto result, vaults_.List(*call.ctx, window.offset, window.limit));
  return internal::ListResponse(result.rows, result.total, VaultJson);
}

StatusOr<Response> Api::VaultGet(const Call& call) {
  SIRR_ASSIGN_OR_RETURN(auto row, vaults_.Get(*call.ctx, call.vault));
  return JsonResponse(200, Dump(VaultJson(row)));
}

StatusOr<Response> Api::VaultDelete(const Call& call) {
  std::string_view force = call.target.Query("force");
  if (!force.empty() && force != "true" && force != "false" && force != "1" && force != "0")
    return InvalidArgumentError("force must be true or false");
  SIRR_ASSIGN_OR_RETURN(auto deleted,
                        vaults_.Delete(*call.ctx, call.vault, force == "true" || force == "1"));
  if (log_)
    log_("vault '" + deleted.vault.name + "' (" + deleted.vault.id + ") deleted by " +
         call.ctx->principal.id + "; vault key destroyed, " +
         std::to_string(deleted.secrets_destroyed) + " secret and key row(s) removed");
  return internal::NoContent();
}

}  // namespace sirr::api
