#include "server/observability.h"

#include <chrono>

#include "base/log.h"

namespace sirr::server {
namespace {

// Arbitrary method strings never become label values.
std::string_view MethodLabel(std::string_view m) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    if (m == known) return known;
  return m.empty() ? "-" : "other";
}

}  // namespace

Observability::Observability(bool collect) : collect_(collect) {}

void Observability::Register(const storage::Storage& storage, const audit::AuditLog& audit,
                             const api::Api& api, const core::SealKeeper& keeper,
                             const core::KeyRotation& rotation) {
  if (!collect_) return;
  metrics::Registry& r = registry_;
  r.Add("sirr_http_requests_total",
        "HTTP requests answered, by route template, method and status code.", requests_);
  r.Add("sirr_http_request_duration_seconds",
        "Time from a request read in full to its answer, by route template and method.",
        durations_);
  r.Add("sirr_http_requests_in_flight", "Requests being handled.", in_flight_);

  r.AddGaugeFn("sirr_sealed", "1 while the vault is sealed, 0 while unsealed.",
               [&keeper] { return keeper.sealed() ? 1.0 : 0.0; });
  r.AddGaugeFn("sirr_key_version_active", "The active master key version (0 while sealed).",
               [&keeper] {
                 auto inst = keeper.Acquire();
                 return inst.ok() ? static_cast<double>((*inst)->key_version()) : 0.0;
               });
  r.AddGaugeFn("sirr_rotation_running", "1 while a master key rotation job runs.",
               [&rotation] { return rotation.Status().state == "running" ? 1.0 : 0.0; });
  r.AddGaugeFn("sirr_rotation_vault_keys_total", "Vault keys the last rotation job has to rewrap.",
               [&rotation] { return static_cast<double>(rotation.Status().total); });
  r.AddGaugeFn("sirr_rotation_vault_keys_done", "Vault keys the last rotation job rewrapped.",
               [&rotation] { return static_cast<double>(rotation.Status().done); });
  r.AddGaugeFn("sirr_rotation_vault_keys_failed",
               "Vault keys the last rotation job could not rewrap.",
               [&rotation] { return static_cast<double>(rotation.Status().failed); });

  const audit::AuditMetrics& a = audit.metrics();
  r.Add("sirr_audit_records_total", "Audit records written.", a.records);
  r.Add("sirr_audit_bytes_total", "Audit bytes written.", a.bytes);
  r.Add("sirr_audit_write_failures_total",
        "Audit writes that failed (the request failed closed with 503).", a.failures);
  r.Add("sirr_audit_write_duration_seconds", "Time to write one audit record.", a.write_seconds);
  r.Add("sirr_audit_sink_records_total", "Audit records delivered to a sink besides the file.",
        a.sink_records);
  r.Add("sirr_audit_sink_failures_total",
        "Audit records a sink could not take (required: requests fail closed; optional: lost).",
        a.sink_failures);
  r.Add("sirr_audit_rotations_total", "Audit log rotations by sirrd.", a.rotations);

  const storage::StorageMetrics& s = storage.metrics();
  r.Add("sirr_storage_commit_duration_seconds", "Time of one group commit (one transaction).",
        s.commit_seconds);
  r.Add("sirr_storage_commit_batch_size", "Writes committed together in one transaction.",
        s.batch_size);
  r.Add("sirr_storage_cache_hits_total", "Reads served from the read cache.", s.cache_hits);
  r.Add("sirr_storage_cache_misses_total", "Reads that went to the database.", s.cache_misses);
  r.Add("sirr_storage_checkpoints_total", "Background WAL checkpoints that copied pages.",
        s.checkpoints);
  r.Add("sirr_storage_checkpoint_duration_seconds", "Time of one background WAL checkpoint.",
        s.checkpoint_seconds);

  const api::ApiMetrics& m = api.metrics();
  r.Add("sirr_rate_limited_total", "Requests refused with 429, by reason.", m.rate_limited,
        {{"reason", "principal_rate"}});
  r.Add("sirr_rate_limited_total", "Requests refused with 429, by reason.", m.auth_rate_limited,
        {{"reason", "failed_auth_rate"}});
  r.Add("sirr_auth_failures_total", "Requests refused with 401.", m.auth_failures);
  r.Add("sirr_unseal_refused_total", "Unseal attempts refused (wrong key or rate limited).",
        m.unseal_refused);

  r.Add("sirr_secrets", "Live secrets (refreshed every 15 s).", live_secrets_);
  r.Add("sirr_vaults", "Vaults (refreshed every 15 s).", live_vaults_);
  r.Add("sirr_keys", "Keys (refreshed every 15 s).", live_keys_);
  r.Add("sirr_tokens", "API tokens neither revoked nor expired (refreshed every 15 s).",
        live_tokens_);
  r.AddProcessMetrics();
}

void Observability::Observe(const http::RequestInfo& r) {
  const std::string_view route =
      !r.route.empty() ? r.route : (r.method.empty() ? std::string_view("-") : "unmatched");
  if (collect_) {
    const std::string_view method = MethodLabel(r.method);
    char code[8];
    const int n = std::snprintf(code, sizeof code, "%d", r.status);
    requests_.With({route, method, std::string_view(code, static_cast<size_t>(n))}).Inc();
    durations_.With({route, method}).Observe(std::chrono::duration<double>(r.duration).count());
  }
  log::Access({r.request_id, r.method.empty() ? "-" : r.method, route, r.status,
               std::chrono::duration<double, std::milli>(r.duration).count(), r.principal,
               r.client});
}

void Observability::RefreshLiveCounts(storage::Storage& storage, int64_t now_ms) {
  if (!collect_) return;
  auto counts = storage.CountLive(now_ms);
  if (!counts.ok()) return;  // the next refresh tries again; the gauges keep their values
  live_secrets_.Set(static_cast<double>(counts->secrets));
  live_vaults_.Set(static_cast<double>(counts->vaults));
  live_keys_.Set(static_cast<double>(counts->keys));
  live_tokens_.Set(static_cast<double>(counts->tokens));
}

}  // namespace sirr::server
