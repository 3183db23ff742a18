#pragma once

// Test-only: the real API over a real core (SQLite in a temporary directory, audit log, seal
// keeper) in this process, and a CLI transport that calls it directly — no sirrd, no sockets.
// For the CLI's unit tests (src/cli/cli_test.cc).

#include <map>
#include <memory>
#include <string>

#include "api/api.h"
#include "cli/cli.h"
#include "core/core_test_env.h"

namespace sirr::testing {

inline constexpr char kInProcessAdminToken[] = "in-process-admin-token-0123456789abcdef";

class InProcessServer {
 public:
  explicit InProcessServer(bool unsealed = true) : env_("sirr-cli") {
    if (unsealed) Unseal();
    api::ApiOptions options;
    options.admin_token = SecretBytes::FromString(kInProcessAdminToken);
    options.version = "test";
    options.rate_limits = {0, 0};
    options.auth_failure_limits = {0, 0};
    api_ = std::make_unique<api::Api>(*env_.secrets_, *env_.vaults_, *env_.tokens_, *env_.keys_,
                                      *env_.keeper_, *env_.audit_, env_.clock_, std::move(options));
  }

  void Unseal() {
    if (!key_) key_ = crypto::SecureRandom::Get().RandomSecret(32);
    auto st = env_.keeper_->Unseal(key_->Clone());
    if (!st.ok()) throw std::runtime_error(st.status().message());
  }
  void Seal() { env_.keeper_->Seal(); }

  // Makes transports; records the settings of the last one (server, CA certificate, vault).
  cli::TransportFactory Factory() {
    return [this](const cli::Settings& settings, SecretBytes token) {
      last_settings_ = settings;
      last_token_ = std::string(token.reveal_string());
      return std::unique_ptr<cli::Transport>(new Transport(*api_, std::move(token)));
    };
  }
  const cli::Settings& last_settings() const { return last_settings_; }
  const std::string& last_token() const { return last_token_; }
  core::testing::CoreEnv& env() { return env_; }

 private:
  class Transport final : public cli::Transport {
   public:
    Transport(api::Api& api, SecretBytes token) : api_(api), token_(std::move(token)) {}
    StatusOr<client::HttpResponse> Do(const std::string& method, const std::string& path,
                                      const std::string& body) override {
      api::Request req;
      req.method = method;
      req.target = path;
      req.body = body;
      req.client = "127.0.0.1";
      req.request_id = "cli-test";
      if (!token_.empty())
        req.headers.push_back({"authorization", "Bearer " + std::string(token_.reveal_string())});
      api::Response resp = api_.Handle(req);
      client::HttpResponse out;
      out.status = resp.status;
      for (auto& [name, value] : resp.headers) {
        std::string lower = name;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[lower] = value;
      }
      out.body = method == "HEAD" ? "" : std::move(resp.body);
      return out;
    }

   private:
    api::Api& api_;
    SecretBytes token_;
  };

  core::testing::CoreEnv env_;
  std::optional<SecretBytes> key_;
  std::unique_ptr<api::Api> api_;
  cli::Settings last_settings_;
  std::string last_token_;
};

}  // namespace sirr::testing
