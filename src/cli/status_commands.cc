// sirr status: the server's seal state. Exits 0 when unsealed, 2 when sealed (as `vault
// status`), 3 when the server cannot be reached.

#include "cli/commands.h"

namespace sirr::cli {
namespace {

class Status final : public Command {
 public:
  explicit Status(CLI::App& app) {
    cmd_ = app.add_subcommand(
        "status",
        "Show the server's seal status and key versions; exit 0 unsealed, 2 sealed, 3 "
        "unreachable");
    Examples(cmd_, {"sirr status", "sirr status >/dev/null || echo sealed or down",
                    "sirr --json status"});
  }
  bool parsed() const override { return cmd_->parsed(); }

  int Run(Session& s) override {
    client::HttpResponse r;
    if (auto rc = s.Expect("GET", "/api/v1/seal-status", 200, &r)) return *rc;
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_object()) return s.Fail(kExitServer, "unexpected response from the server");
    const bool sealed = j.value("sealed", true);
    if (s.json_output()) {
      s.PrintJson(j);
    } else {
      s.Out(
          "server:          %s\nsealed:          %s\ninitialized:     %s\n"
          "provider:        %s\nvalidation hash: %s\n",
          s.settings().server.c_str(), sealed ? "yes" : "no",
          j.value("initialized", false) ? "yes" : "no",
          j.value("provider", std::string("?")).c_str(),
          j.value("validation_hash_configured", false) ? "configured" : "not configured");
      for (const auto& v : j.value("key_versions", json::array()))
        s.Out("key version %s:   id %s, %s\n", Text(v.value("version", json())).c_str(),
              Text(v.value("key_id", json())).c_str(), Text(v.value("state", json())).c_str());
    }
    return sealed ? kExitSealed : 0;
  }

 private:
  CLI::App* cmd_;
};

}  // namespace

std::unique_ptr<Command> StatusCommand(CLI::App& app) { return std::make_unique<Status>(app); }

}  // namespace sirr::cli
