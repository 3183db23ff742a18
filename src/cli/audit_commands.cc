// sirr audit search|tail: the audit trail through GET /api/v1/admin/audit (admin token).
// Reading the trail is itself recorded by the server (audit.search).

#include <chrono>
#include <thread>

#include "cli/commands.h"
#include "client/client.h"

namespace sirr::cli {
namespace {

// "TIME #SEQ ACTION OUTCOME PRINCIPAL [vault=… secret=… key=…] [CLIENT] [— detail]"
std::string Line(const json& r) {
  std::string out = r.value("time", std::string("?")) + " #" + Text(r.value("seq", json())) + " " +
                    r.value("action", std::string("?")) + " " +
                    r.value("outcome", std::string("?"));
  const std::string principal = r.value("principal", std::string());
  out += " " + (principal.empty() ? std::string("-") : principal);
  if (auto t = r.find("target"); t != r.end() && t->is_object())
    for (const char* k : {"vault", "secret", "key"})
      if (t->contains(k)) out += std::string(" ") + k + "=" + Text((*t)[k]);
  const std::string client = r.value("client", std::string());
  if (!client.empty()) out += " from " + client;
  const std::string detail = r.value("detail", std::string());
  if (!detail.empty()) out += " - " + detail;
  return out;
}

class Audit final : public Command {
 public:
  explicit Audit(CLI::App& app) {
    root_ = app.add_subcommand("audit", "Read the audit trail (admin token)");
    root_->require_subcommand(1);
    search_ = root_->add_subcommand(
        "search", "Records matching the filters, oldest first (--json: one JSON record per line)");
    Filters(search_);
    search_->add_option("--limit", limit_, "At most this many records")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    search_->add_option("--after", after_, "Only records after this sequence number");
    Examples(search_,
             {"sirr audit search --action 'secret.*' --vault payments --since 2026-11-30T00:00:00Z",
              "sirr audit search --outcome denied --limit 50",
              "sirr --json audit search --principal admin | jq .action"});
    tail_ = root_->add_subcommand("tail",
                                  "The newest records (and, with --follow, new ones as "
                                  "they are written)");
    Filters(tail_);
    tail_->add_option("-n,--lines", lines_, "How many of the newest records")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    tail_->add_flag("-f,--follow", follow_, "Keep printing new records (Ctrl-C stops)");
    Examples(tail_, {"sirr audit tail -n 50", "sirr audit tail --follow --action 'auth.*'"});
  }
  bool parsed() const override { return root_->parsed(); }

  int Run(Session& s) override {
    if (search_->parsed()) return Search(s);
    return Tail(s);
  }

 private:
  void Filters(CLI::App* cmd) {
    cmd->add_option("--since", since_, "From this time (RFC 3339 UTC, e.g. 2026-11-30T10:00:00Z)");
    cmd->add_option("--until", until_, "Before this time (RFC 3339 UTC)");
    cmd->add_option("--action", action_, "Action, or a prefix with '*': secret.read, 'secret.*'");
    cmd->add_option("--principal", principal_, "admin, token:<id>, a JWT subject");
    cmd->add_option("--vault", vault_, "Vault name or id");
    cmd->add_option("--secret", secret_, "Secret name or id");
    cmd->add_option("--key", key_, "Key name or id");
    cmd->add_option("--outcome", outcome_, "success, denied, error, ...");
  }

  std::string Query(int64_t after, int limit, bool tail) const {
    std::string q = "?limit=" + std::to_string(limit);
    if (after > 0) q += "&after=" + std::to_string(after);
    if (tail) q += "&tail=true";
    auto add = [&](const char* k, const std::string& v) {
      if (!v.empty()) q += std::string("&") + k + "=" + client::Client::UrlEncode(v);
    };
    add("since", since_);
    add("until", until_);
    add("action", action_);
    add("principal", principal_);
    add("vault", vault_);
    add("secret", secret_);
    add("key", key_);
    add("outcome", outcome_);
    return q;
  }

  // One page; prints it and returns the last seq seen (or an exit code via *rc).
  std::optional<int> Page(Session& s, int64_t after, int limit, bool tail, int64_t* last,
                          int64_t* next, int* printed = nullptr) {
    client::HttpResponse r;
    if (auto rc = s.Expect("GET", "/api/v1/admin/audit" + Query(after, limit, tail), 200, &r))
      return rc;
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("records") || !j["records"].is_array())
      return s.Fail(kExitServer, "unexpected response from the server");
    for (const auto& rec : j["records"]) {
      if (s.json_output())
        s.Out("%s\n", rec.dump().c_str());
      else
        s.Out("%s\n", Line(rec).c_str());
      if (rec.contains("seq") && rec["seq"].is_number_integer())
        *last = std::max(*last, rec["seq"].get<int64_t>());
      if (printed) ++*printed;
    }
    *next = j["next_after"].is_number_integer() ? j["next_after"].get<int64_t>() : 0;
    return std::nullopt;
  }

  int Search(Session& s) {
    int64_t after = after_, last = 0, next = 0;
    int left = limit_;
    while (left > 0) {
      int printed = 0;
      if (auto rc = Page(s, after, std::min(left, 1000), false, &last, &next, &printed)) return *rc;
      left -= printed;
      if (next == 0 || printed == 0) break;
      after = next;
    }
    return 0;
  }

  int Tail(Session& s) {
    int64_t last = 0, next = 0;
    if (auto rc = Page(s, 0, lines_, true, &last, &next)) return *rc;
    while (follow_) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      // Without filters the server's own audit.search records (one per poll) show too.
      do {
        if (auto rc = Page(s, last, 1000, false, &last, &next)) return *rc;
      } while (next != 0);
    }
    return 0;
  }

  CLI::App* root_;
  CLI::App* search_;
  CLI::App* tail_;
  std::string since_, until_, action_, principal_, vault_, secret_, key_, outcome_;
  int limit_ = 100;
  int64_t after_ = 0;
  int lines_ = 20;
  bool follow_ = false;
};

}  // namespace

std::unique_ptr<Command> AuditCommands(CLI::App& app) { return std::make_unique<Audit>(app); }

}  // namespace sirr::cli
