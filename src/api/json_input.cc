#include "api/json_input.h"

#include <set>
#include <string>
#include <vector>

#include "base/secret_bytes.h"

namespace sirr::api {
namespace {

// Nesting depth of the document, counting brackets outside strings.
int MaxDepth(std::string_view s) {
  int depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      max = std::max(max, ++depth);
    else if (c == '}' || c == ']')
      --depth;
  }
  return max;
}

}  // namespace

StatusOr<nlohmann::json> ParseJsonObject(std::string_view body) {
  if (MaxDepth(body) > kMaxJsonDepth) return MalformedError("JSON is nested too deeply");
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start)
      keys.emplace_back();
    else if (event == E::object_end && !keys.empty())
      keys.pop_back();
    else if (event == E::key && !keys.empty() && parsed.is_string()) {
      if (!keys.back().insert(parsed.get<std::string>()).second) duplicate = true;
    }
    return true;
  };
  nlohmann::json j = nlohmann::json::parse(body, callback, /*allow_exceptions=*/false);
  if (j.is_discarded()) return MalformedError("request body is not valid JSON");
  if (duplicate) return MalformedError("request body has a duplicate key");
  if (!j.is_object()) return MalformedError("request body must be a JSON object");
  return j;
}

StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return InvalidArgumentError(std::string(field) + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

StatusOr<std::optional<bool>> OptionalBool(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return InvalidArgumentError(std::string(field) + " must be true or false");
  return std::optional<bool>(it->get<bool>());
}

StatusOr<const nlohmann::json*> OptionalObject(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return static_cast<const nlohmann::json*>(nullptr);
  if (!it->is_object()) return InvalidArgumentError(std::string(field) + " must be an object");
  return &*it;
}

StatusOr<std::optional<int64_t>> OptionalInt(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX))
      return InvalidArgumentError(std::string(field) + " is out of range");
    return std::optional<int64_t>(static_cast<int64_t>(v));
  }
  if (!it->is_number_integer())
    return InvalidArgumentError(std::string(field) + " must be an integer");
  return std::optional<int64_t>(it->get<int64_t>());
}

StatusOr<std::optional<std::vector<std::string>>> OptionalStringArray(const nlohmann::json& j,
                                                                      const char* field,
                                                                      size_t max_items) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::optional<std::vector<std::string>>();
  if (!it->is_array()) return InvalidArgumentError(std::string(field) + " must be an array");
  if (it->size() > max_items)
    return InvalidArgumentError(std::string(field) + " has more than " + std::to_string(max_items) +
                                " items");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) return InvalidArgumentError(std::string(field) + " must hold strings");
    out.push_back(v.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

void WipeStringMember(nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return;
  std::string& s = it->get_ref<std::string&>();
  SecureWipe(s.data(), s.size());
}

}  // namespace sirr::api
