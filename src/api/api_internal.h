#pragma once

// Helpers shared by the API's translation units (api.cc and one file per resource). Not a
// public interface.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::api::internal {

// Compact JSON; invalid UTF-8 is replaced rather than thrown.
std::string Dump(const nlohmann::json& j);
// Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as JSON strings require.
bool IsValidUtf8(std::string_view s);
Response NoContent();

// The page window from ?page=&rpp= (defaults 1 and 25, rpp at most 1000).
struct PageWindow {
  int64_t offset = 0;
  int64_t limit = 25;
};
StatusOr<PageWindow> PageWindowOf(const ParsedTarget& t);

// 200 with a JSON array and X-Total-Results-Count.
template <typename Rows, typename ToJson>
Response ListResponse(const Rows& rows, int64_t total, ToJson to_json) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& row : rows) arr.push_back(to_json(row));
  Response r = JsonResponse(200, Dump(arr));
  r.SetHeader("X-Total-Results-Count", std::to_string(total));
  return r;
}

// Hex with an optional 0x prefix; InvalidArgument "<field> is not valid hex".
StatusOr<Bytes> DecodeHexField(std::string_view text, std::string_view field);
// A required hex member ("<field> is required" when absent).
StatusOr<Bytes> RequiredHex(const nlohmann::json& j, const char* field);
// A required string member.
StatusOr<std::string> RequiredString(const nlohmann::json& j, const char* field);

// RFC 3339 text or null; a number or null (null: unlimited).
nlohmann::json NullableTime(const std::optional<int64_t>& t);
nlohmann::json NullableInt(const std::optional<int64_t>& v);

// The one parser of secret string members (secret values, key plaintext and aad, mnemonics,
// passphrases, the unsealer key). `encoding` from the request's "encoding" member: text
// (UTF-8, the default; "utf-8" is a synonym) or base64.
enum class Encoding { kText, kBase64 };
StatusOr<Encoding> EncodingOf(const nlohmann::json& j);
// The member decoded per `encoding` (nullopt when absent); the JSON copy is wiped either way,
// and an error never echoes the value.
StatusOr<std::optional<SecretBytes>> SecretField(nlohmann::json& j, const char* field,
                                                 Encoding encoding);
// Sets j[field] to a secret value: as text when `text_ok` and it is valid UTF-8, else base64
// with "encoding":"base64". The caller wipes j[field] after serialising.
void PutSecretValue(nlohmann::json& j, const char* field, const SecretBytes& value, bool text_ok);

}  // namespace sirr::api::internal
