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

StatusOr<Response> Api::Backup(const Call& call) {
  if (!backup_) return NotFoundError("no such route");
  audit::Event e;
  e.action = "admin.backup";
  e.request_id = call.req.request_id;
  e.principal = call.ctx->principal.id;
  e.client = call.req.client;
  if (Status st = core::Require(call.ctx->principal, core::Capability::kAdmin); !st.ok()) {
    e.outcome = "denied";
    SIRR_RETURN_IF_ERROR(audit_.Append(e));
    return st;
  }
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
