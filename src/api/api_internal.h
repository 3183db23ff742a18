#pragma once

// Helpers shared by the API's translation units (api.cc, keys_api.cc). Not a public interface.

#include <nlohmann/json.hpp>
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

}  // namespace sirr::api::internal
