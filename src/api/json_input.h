#pragma once

// Parsing untrusted JSON at the boundary: no exceptions, duplicate keys rejected, nesting
// depth capped. Errors are Malformed (400) and never echo the input.

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sirr::api {

inline constexpr int kMaxJsonDepth = 32;

StatusOr<nlohmann::json> ParseJsonObject(std::string_view body);

// Typed field access: a present field of the wrong type is InvalidArgument naming the field.
StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& j, const char* field);
StatusOr<std::optional<bool>> OptionalBool(const nlohmann::json& j, const char* field);
// The member object, or null when absent.
StatusOr<const nlohmann::json*> OptionalObject(const nlohmann::json& j, const char* field);
StatusOr<std::optional<int64_t>> OptionalInt(const nlohmann::json& j, const char* field);
// An array of strings (at most `max_items`).
StatusOr<std::optional<std::vector<std::string>>> OptionalStringArray(const nlohmann::json& j,
                                                                      const char* field,
                                                                      size_t max_items = 1000);

// Overwrites the bytes of a string member in place (for secret values parsed from JSON).
void WipeStringMember(nlohmann::json& j, const char* field);

}  // namespace sirr::api
