// Admin routes (docs/api.md "Admin"): master key rotation and online backups. Also reached as
// /admin/... (an alias the dispatcher maps).

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/api_internal.h"
#include "base/encoding.h"
#include "crypto/crypto.h"

namespace sirr::api {
namespace {

using internal::Dump;
using nlohmann::json;

json RotationJson(const core::RotationStatus& s) {
  auto time = [](int64_t ms) { return ms > 0 ? json(FormatRfc3339(ms)) : json(nullptr); };
  json j{{"job_id", s.job_id.empty() ? json(nullptr) : json(s.job_id)},
         {"state", s.state},
         {"total", s.total},
         {"done", s.done},
         {"failed", s.failed},
         {"started_at", time(s.started_at)},
         {"finished_at", time(s.finished_at)}};
  if (s.from_version > 0) {
    j["from_version"] = s.from_version;
    j["to_version"] = s.to_version;
  }
  if (!s.detail.empty()) j["detail"] = s.detail;
  if (s.remaining >= 0) j["remaining"] = s.remaining;
  return j;
}

}  // namespace

StatusOr<Response> Api::RotateStart(const Call& call) {
  if (!rotation_) return NotFoundError("no such route");
  SIRR_ASSIGN_OR_RETURN(auto started, rotation_->Start(*call.ctx));
  return JsonResponse(202, Dump(json{{"job_id", started.job_id}, {"total", started.total}}));
}

StatusOr<Response> Api::RotateStatus(const Call& call) {
  if (!rotation_) return NotFoundError("no such route");
  SIRR_RETURN_IF_ERROR(core::Require(call.ctx->principal, core::Capability::kAdmin));
  return JsonResponse(200, Dump(RotationJson(rotation_->Status())));
}

StatusOr<audit::Event> Api::AdminOnly(const Call& call, std::string action) {
  audit::Event e;
  e.action = std::move(action);
  e.request_id = call.req.request_id;
  e.principal = call.ctx->principal.id;
  e.client = call.req.client;
  if (Status st = core::Require(call.ctx->principal, core::Capability::kAdmin); !st.ok()) {
    e.outcome = "denied";
    SIRR_RETURN_IF_ERROR(audit_.Append(e));
    return st;
  }
  return e;
}

// GET /api/v1/admin/audit?since=&until=&action=&principal=&vault=&secret=&key=&outcome=
// &after=&limit=&tail= : admin only; reading the trail is itself recorded (audit.search, with
// the filters). Records come back as they are in the log, in sequence order.
StatusOr<Response> Api::AuditSearch(const Call& call) {
  if (!audit_search_) return NotFoundError("no such route");
  SIRR_ASSIGN_OR_RETURN(audit::Event e, AdminOnly(call, "audit.search"));
  audit::AuditQuery q;
  const ParsedTarget& t = call.target;
  q.since = t.Query("since");
  q.until = t.Query("until");
  q.action = t.Query("action");
  q.principal = t.Query("principal");
  q.outcome = t.Query("outcome");
  q.vault = t.Query("vault");
  q.secret = t.Query("secret");
  q.key = t.Query("key");
  auto number = [&](std::string_view name, int64_t fallback) -> StatusOr<int64_t> {
    if (!t.HasQuery(name)) return fallback;
    const std::string_view v = t.Query(name);
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string_view::npos)
      return InvalidArgumentError(std::string(name) + " must be a whole number");
    return std::stoll(std::string(v));
  };
  SIRR_ASSIGN_OR_RETURN(q.after, number("after", 0));
  SIRR_ASSIGN_OR_RETURN(int64_t limit, number("limit", 100));
  q.limit = static_cast<int>(std::min<int64_t>(limit, 1'000'000));
  const std::string_view tail = t.Query("tail");
  if (t.HasQuery("tail") && tail != "true" && tail != "false")
    return InvalidArgumentError("tail must be true or false");
  q.tail = tail == "true";
  SIRR_RETURN_IF_ERROR(audit::ValidateQuery(q));
  std::string filters;
  for (const auto& [k, v] : t.query)
    filters += (filters.empty() ? "" : " ") + k.substr(0, 16) + "=" + v.substr(0, 64);
  e.detail = filters.substr(0, 300);
  e.outcome = "success";
  SIRR_RETURN_IF_ERROR(audit_.Append(e));  // fail closed: no record, no reading
  SIRR_ASSIGN_OR_RETURN(audit::AuditPage page, audit_search_(q));
  std::string body = "{\"records\":[";
  for (size_t i = 0; i < page.records.size(); ++i) {
    if (i) body.push_back(',');
    body += page.records[i];
  }
  body += "],\"next_after\":";
  body += page.next_after > 0 ? std::to_string(page.next_after) : "null";
  body += "}";
  return JsonResponse(200, std::move(body));
}

StatusOr<Response> Api::Backup(const Call& call) {
  if (!backup_) return NotFoundError("no such route");
  SIRR_ASSIGN_OR_RETURN(audit::Event e, AdminOnly(call, "admin.backup"));
  auto snapshot = backup_();
  const std::string sha256 =
      snapshot.ok() ? HexEncode(crypto::Sha256(AsBytes(*snapshot))) : std::string();
  e.outcome = snapshot.ok() ? "success" : "error";
  e.detail = snapshot.ok() ? std::to_string(snapshot->size()) + " bytes, sha256 " + sha256
                           : snapshot.status().message();
  SIRR_RETURN_IF_ERROR(audit_.Append(e));
  if (!snapshot.ok()) return snapshot.status();
  Response r;
  r.status = 200;
  r.SetHeader("Content-Type", "application/vnd.sqlite3");
  r.SetHeader("X-Sirr-Backup-Sha256", sha256);
  r.SetHeader("Cache-Control", "no-store");
  r.body = std::move(snapshot).value();
  return r;
}

}  // namespace sirr::api
