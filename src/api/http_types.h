#pragma once

// Transport-neutral HTTP request/response, so that api/ does not depend on Beast.
// Bodies may carry secret values: the http layer wipes request bodies after handling and
// response bodies after writing them.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sirr::api {

struct Request {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // raw path and query, as received
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string client;      // peer address
  std::string request_id;  // set by the http layer

  std::string_view Header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For metrics and the access log (never sent): the matched route's template ("" when none
  // matched) and the authenticated principal's id ("" when none).
  std::string_view route;
  std::string principal;

  void SetHeader(std::string name, std::string value);
};

int HttpStatusFor(StatusCode code);
// {"message": ...} with the mapped status; 422 uses {"errors":[{"message":...}]}.
Response ErrorResponse(const Status& status);
Response JsonResponse(int status, std::string body);
// 405 with the Allow header naming the methods the route accepts (RFC 9110 §15.5.6).
Response MethodNotAllowed(std::string_view allow);

// Percent-decoding of one path segment or query component ('+' is a space only in queries).
StatusOr<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// Splits target into path and decoded query parameters.
struct ParsedTarget {
  std::string path;  // still percent-encoded
  std::vector<std::pair<std::string, std::string>> query;
  std::string_view Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const;
};
StatusOr<ParsedTarget> ParseTarget(std::string_view target);

}  // namespace sirr::api
