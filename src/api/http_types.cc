#include "api/http_types.h"

#include <nlohmann/json.hpp>

#include "core/seal_keeper.h"

namespace sirr::api {

std::string_view Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

void Response::SetHeader(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kMalformed:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kGone:
      return 410;
    case StatusCode::kTooLarge:
      return 413;
    case StatusCode::kInvalidArgument:
      return 422;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return 500;
  }
  return 500;
}

Response MethodNotAllowed(std::string_view allow) {
  Response r = JsonResponse(
      405, "{\"message\":\"method not allowed; this route accepts " + std::string(allow) + "\"}");
  r.SetHeader("Allow", std::string(allow));
  return r;
}

Response JsonResponse(int status, std::string body) {
  Response r;
  r.status = status;
  r.SetHeader("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response ErrorResponse(const Status& status) {
  nlohmann::json j;
  int code = HttpStatusFor(status.code());
  if (code == 422) {
    j["errors"] = nlohmann::json::array({{{"message", status.message()}}});
  } else {
    j["message"] = status.message();
  }
  Response r = JsonResponse(code, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  // Unavailable is temporary (the database or the audit log could not take the request; nothing
  // changed): say when to retry. A sealed server is not, until an operator unseals it.
  if (code == 503 && status.message() != core::kSealedMessage) r.SetHeader("Retry-After", "1");
  return r;
}

StatusOr<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return MalformedError("bad percent-encoding");
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return MalformedError("bad percent-encoding");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view ParsedTarget::Query(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return {};
}

bool ParsedTarget::HasQuery(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return true;
  return false;
}

StatusOr<ParsedTarget> ParseTarget(std::string_view target) {
  ParsedTarget t;
  size_t q = target.find('?');
  t.path = std::string(target.substr(0, q));
  if (t.path.empty() || t.path[0] != '/') return MalformedError("bad request target");
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    SIRR_ASSIGN_OR_RETURN(std::string k, PercentDecode(part.substr(0, eq), true));
    std::string v;
    if (eq != std::string_view::npos) {
      SIRR_ASSIGN_OR_RETURN(v, PercentDecode(part.substr(eq + 1), true));
    }
    t.query.emplace_back(std::move(k), std::move(v));
  }
  return t;
}

}  // namespace sirr::api
