#pragma once

// The API's route table entries (docs/architecture.md "Adding a route"). One table
// (Api::Routes, api.cc) drives dispatch, the scheduling hint MayBlock, 405's Allow header, and
// the route x capability tests; handlers return StatusOr<Response>.
//
// Pattern syntax: literal segments separated by '/', "{name}" captures one non-empty segment,
// "{name...}" (last only) captures the rest of the path, slashes included. Captures are
// percent-decoded after matching, so an encoded "%2F" stays inside its segment.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "core/principal.h"

namespace sirr::api {

class Api;

// Who may call a route.
enum class Access {
  kPublic,           // no credential; served while sealed (health, seal status, unseal)
  kAuthWhileSealed,  // a credential; served while sealed (seal, unsealerkey)
  kAuthenticated,    // a credential; 503 while sealed
};

// What a handler gets: the request, its parsed target, the caller (null on public routes) and
// the decoded captures.
struct Call {
  const Request& req;
  const ParsedTarget& target;
  const core::RequestContext* ctx;
  std::string vault;  // {vault}
  std::string ref;    // {secret...}, {key}, {id}
};

struct Route {
  std::string_view method;   // "GET", "POST", ...; "*": any
  std::string_view pattern;  // "/api/v1/vaults/{vault}/secrets/{secret...}"
  StatusOr<Response> (Api::*handler)(const Call&);
  Access access = Access::kAuthenticated;
  // The capabilities of which the principal needs one (the core services check them, with the
  // vault scope, and audit a refusal under `action`); 0: any authenticated principal.
  core::CapabilitySet capability = 0;
  // May block on a durable write (handled off the io threads); only a scheduling hint.
  bool may_block = false;
  // The audit action the request's record carries ("secret.read"); "" when it writes none.
  std::string_view action;
};

// Raw (still percent-encoded) captures of `pattern` in `path`, in order; nullopt: no match.
std::optional<std::vector<std::string_view>> MatchPattern(std::string_view pattern,
                                                          std::string_view path);

}  // namespace sirr::api
