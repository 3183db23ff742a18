// Helpers shared by the API's translation units (api_internal.h).

#include "api/api_internal.h"

#include "api/json_input.h"
#include "base/clock.h"
#include "base/encoding.h"

namespace sirr::api {

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

nlohmann::json NullableTime(const std::optional<int64_t>& t) {
  return t ? nlohmann::json(FormatRfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json NullableInt(const std::optional<int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

StatusOr<Encoding> EncodingOf(const nlohmann::json& j) {
  SIRR_ASSIGN_OR_RETURN(auto encoding, OptionalString(j, "encoding"));
  if (!encoding || *encoding == "text" || *encoding == "utf-8") return Encoding::kText;
  if (*encoding == "base64") return Encoding::kBase64;
  return InvalidArgumentError("encoding must be \"base64\" or \"text\"");
}

StatusOr<std::optional<SecretBytes>> SecretField(nlohmann::json& j, const char* field,
                                                 Encoding encoding) {
  auto value = OptionalString(j, field);
  if (!value.ok() || !*value) {
    WipeStringMember(j, field);
    if (!value.ok()) return value.status();
    return std::optional<SecretBytes>();
  }
  std::string& text = **value;
  StatusOr<SecretBytes> out = SecretBytes();
  if (encoding == Encoding::kBase64) {
    out = Base64DecodeSecret(text);
    if (!out.ok()) out = InvalidArgumentError(std::string(field) + " is not valid base64");
  } else {
    out = SecretBytes::FromString(text);
  }
  WipeStringMember(j, field);
  SecureWipe(text.data(), text.size());
  if (!out.ok()) return out.status();
  return std::optional<SecretBytes>(std::move(out).value());
}

void PutSecretValue(nlohmann::json& j, const char* field, const SecretBytes& value, bool text_ok) {
  if (text_ok && IsValidUtf8(value.reveal_string())) {
    j[field] = std::string(value.reveal_string());
  } else {
    j[field] = Base64Encode(value.reveal());
    j["encoding"] = "base64";
  }
}

StatusOr<Bytes> RequiredHex(const nlohmann::json& j, const char* field) {
  SIRR_ASSIGN_OR_RETURN(auto text, OptionalString(j, field));
  if (!text) return InvalidArgumentError(std::string(field) + " is required");
  return DecodeHexField(*text, field);
}

StatusOr<std::string> RequiredString(const nlohmann::json& j, const char* field) {
  SIRR_ASSIGN_OR_RETURN(auto text, OptionalString(j, field));
  if (!text) return InvalidArgumentError(std::string(field) + " is required");
  return std::move(*text);
}

}  // namespace internal

}  // namespace sirr::api
