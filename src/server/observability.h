#pragma once

// The composition root's metrics and request log (docs/operator.md "Monitoring", "Logging"):
// one Registry with every module's metrics under Prometheus names, the per-request observer
// the HTTP server calls (request counter and latency by route template, method and code; the
// access line), and the live-row gauges refreshed by the background loop.
//
// Thread safety: Observe() and Render() are thread-safe; RefreshLiveCounts() is called by one
// thread (the background loop).

#include <string>

#include "api/api.h"
#include "audit/audit_log.h"
#include "base/metrics.h"
#include "core/rotation.h"
#include "core/seal_keeper.h"
#include "http/http_server.h"
#include "storage/storage.h"

namespace sirr::server {

class Observability {
 public:
  // `collect`: false (SIRR_METRICS=false) records nothing and renders nothing; the access log
  // is written either way (when on).
  explicit Observability(bool collect);

  // Registers the modules' metrics and the scrape-time gauges (seal state, key version,
  // rotation progress, process_*). The objects must outlive this.
  void Register(const storage::Storage& storage, const audit::AuditLog& audit, const api::Api& api,
                const core::SealKeeper& keeper, const core::KeyRotation& rotation);

  // The HTTP server's observer: metrics and the access line.
  void Observe(const http::RequestInfo& r);
  metrics::Gauge* in_flight() { return collect_ ? &in_flight_ : nullptr; }

  // Live secrets, vaults, keys and tokens (a COUNT each; the background loop calls this every
  // kLiveCountSeconds, never a scrape).
  void RefreshLiveCounts(storage::Storage& storage, int64_t now_ms);
  static constexpr int kLiveCountSeconds = 15;

  bool collecting() const { return collect_; }
  std::string Render() const { return registry_.Render(); }
  metrics::Registry& registry() { return registry_; }

 private:
  const bool collect_;
  metrics::Registry registry_;
  metrics::Family<metrics::Counter> requests_{{"route", "method", "code"}};
  metrics::Family<metrics::Histogram> durations_{
      {"route", "method"},
      [] { return std::make_unique<metrics::Histogram>(metrics::Histogram::LatencyBounds()); }};
  metrics::Gauge in_flight_;
  metrics::Gauge live_secrets_, live_vaults_, live_keys_, live_tokens_;
};

}  // namespace sirr::server
