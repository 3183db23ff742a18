// Load driver for bench/rotate.sh: fills a running sirrd with vaults and secrets through the HTTP
// API, and drives random secret reads while recording each request's start time and latency, so
// that the latency of the reads that ran during a key rotation can be set beside the reads that
// ran without one. The admin token comes from SIRR_TOKEN.
//
//   sirr_rotation_bench populate SERVER VAULTS SECRETS CONNECTIONS
//   sirr_rotation_bench read SERVER VAULTS SECRETS CONNECTIONS SECONDS SAMPLES_FILE
//   sirr_rotation_bench stats SAMPLES_FILE[@FROM_MS-TO_MS]...   (pooled)
//
// Vault i is "bench-v<i>"; secret j lives in vault j % VAULTS under the name "s<j>". Samples are
// binary records (start: Unix milliseconds·1000 + µs, latency µs, HTTP status).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"

namespace {

using sirr::client::Client;

struct Sample {
  int64_t start_us;  // Unix time in microseconds
  int32_t latency_us;
  int32_t status;  // HTTP status, 0 when the request failed
};

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string VaultName(int64_t i) { return "bench-v" + std::to_string(i); }

Client MakeClient(const std::string& server) {
  const char* token = std::getenv("SIRR_TOKEN");
  return Client(server, sirr::SecretBytes::FromString(token ? token : ""));
}

int Populate(const std::string& server, int64_t vaults, int64_t secrets, int connections) {
  Client admin = MakeClient(server);
  for (int64_t v = 0; v < vaults; ++v) {
    auto r = admin.Do("POST", "/api/v1/vaults", "{\"name\":\"" + VaultName(v) + "\"}");
    if (!r.ok() || (r->status != 201 && r->status != 409)) {
      std::fprintf(stderr, "creating vault %s failed: %s\n", VaultName(v).c_str(),
                   r.ok() ? r->body.c_str() : r.status().message().c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "%" PRId64 " vaults present\n", vaults);
  std::atomic<int64_t> next{0}, failed{0};
  const int64_t start = NowUs();
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&] {
      Client c = MakeClient(server);
      for (int64_t j; (j = next.fetch_add(1)) < secrets;) {
        const std::string path = "/api/v1/vaults/" + VaultName(j % vaults) + "/secrets";
        const std::string body = "{\"name\":\"s" + std::to_string(j) +
                                 "\",\"value\":\"bench-value-" + std::to_string(j) +
                                 "-0123456789abcdef\"}";
        auto r = c.Do("POST", path, body);
        // 409: already there from an interrupted earlier run.
        if (!r.ok() || (r->status != 201 && r->status != 409)) {
          if (failed.fetch_add(1) < 5)
            std::fprintf(stderr, "push s%" PRId64 " failed: %s\n", j,
                         r.ok() ? std::to_string(r->status).c_str() : r.status().message().c_str());
        }
        if (j % 100000 == 0 && j > 0)
          std::fprintf(stderr, "  %" PRId64 "/%" PRId64 " secrets, %.0f/s\n", j, secrets,
                       static_cast<double>(j) * 1e6 / static_cast<double>(NowUs() - start));
      }
    });
  }
  for (auto& th : threads) th.join();
  const double seconds = std::max(1e-6, static_cast<double>(NowUs() - start) / 1e6);
  std::printf("populated %" PRId64 " vaults, %" PRId64
              " secrets in %.0f s (%.0f pushes/s), %" PRId64 " failed\n",
              vaults, secrets, seconds, static_cast<double>(secrets) / seconds, failed.load());
  return failed.load() == 0 ? 0 : 1;
}

int Read(const std::string& server, int64_t vaults, int64_t secrets, int connections,
         double seconds, const std::string& out) {
  const int64_t end = NowUs() + static_cast<int64_t>(seconds * 1e6);
  std::vector<std::vector<Sample>> per_thread(connections);
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      Client c = MakeClient(server);
      std::mt19937_64 rng(static_cast<uint64_t>(t) * 7919 + 1);
      std::uniform_int_distribution<int64_t> pick(0, secrets - 1);
      auto& samples = per_thread[t];
      for (int64_t now; (now = NowUs()) < end;) {
        const int64_t j = pick(rng);
        auto r = c.Do("GET",
                      "/api/v1/vaults/" + VaultName(j % vaults) + "/secrets/s" + std::to_string(j));
        const int64_t done = NowUs();
        samples.push_back({now, static_cast<int32_t>(done - now), r.ok() ? r->status : 0});
      }
    });
  }
  for (auto& th : threads) th.join();
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  size_t n = 0;
  for (const auto& samples : per_thread) {
    f.write(reinterpret_cast<const char*>(samples.data()),
            static_cast<std::streamsize>(samples.size() * sizeof(Sample)));
    n += samples.size();
  }
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("%zu reads recorded in %s\n", n, out.c_str());
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: sirr_rotation_bench populate SERVER VAULTS SECRETS CONNECTIONS\n"
               "       sirr_rotation_bench read SERVER VAULTS SECRETS CONNECTIONS SECONDS FILE\n"
               "       sirr_rotation_bench stats FILE[@FROM_MS-TO_MS]...\n"
               "The admin token is read from SIRR_TOKEN.\n");
  return 2;
}

int64_t Percentile(const std::vector<int32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()));
  return sorted[std::min(i, sorted.size() - 1)];
}

// Pools the reads of each SPEC ("FILE": every read in it; "FILE@FROM_MS-TO_MS": the reads in
// flight at some moment of that window) and prints count, rate, non-200s and latency.
int Stats(const std::vector<std::string>& specs) {
  std::vector<int32_t> latencies;
  int64_t errors = 0;
  double seconds = 0;
  for (const std::string& spec : specs) {
    const size_t at = spec.rfind('@');
    const std::string file = spec.substr(0, at);
    int64_t from_us = INT64_MIN, to_us = INT64_MAX;
    if (at != std::string::npos) {
      const size_t dash = spec.find('-', at);
      if (dash == std::string::npos) return Usage();
      from_us = std::stoll(spec.substr(at + 1, dash - at - 1)) * 1000;
      to_us = std::stoll(spec.substr(dash + 1)) * 1000;
    }
    std::ifstream f(file, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "cannot read %s\n", file.c_str());
      return 1;
    }
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (Sample s; f.read(reinterpret_cast<char*>(&s), sizeof s);) {
      if (s.start_us > to_us || s.start_us + s.latency_us < from_us) continue;
      latencies.push_back(s.latency_us);
      if (s.status != 200) ++errors;
      first = std::min(first, s.start_us);
      last = std::max(last, s.start_us + s.latency_us);
    }
    if (at != std::string::npos)
      seconds += static_cast<double>(to_us - from_us) / 1e6;
    else if (last > first)
      seconds += static_cast<double>(last - first) / 1e6;
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf("reads=%zu over %.2f s (%.0f/s) non200=%" PRId64 " p50_us=%" PRId64 " p99_us=%" PRId64
              " p999_us=%" PRId64 " max_us=%" PRId64 "\n",
              latencies.size(), seconds,
              seconds > 0 ? static_cast<double>(latencies.size()) / seconds : 0, errors,
              Percentile(latencies, 50), Percentile(latencies, 99), Percentile(latencies, 99.9),
              latencies.empty() ? 0 : int64_t{latencies.back()});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  Client first = MakeClient("http://127.0.0.1");  // libcurl's global set-up, before any thread
  try {
    const bool populate = a.size() == 5 && a[0] == "populate",
               read = a.size() == 7 && a[0] == "read";
    if (populate || read) {
      const int64_t vaults = std::stoll(a[2]), secrets = std::stoll(a[3]);
      const int connections = std::stoi(a[4]);
      if (vaults < 1 || secrets < (read ? 1 : 0) || connections < 1) return Usage();
      return populate ? Populate(a[1], vaults, secrets, connections)
                      : Read(a[1], vaults, secrets, connections, std::stod(a[5]), a[6]);
    }
    if (a.size() >= 2 && a[0] == "stats") return Stats({a.begin() + 1, a.end()});
  } catch (const std::exception&) {  // std::stoll on a non-number
  }
  return Usage();
}
