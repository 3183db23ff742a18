// sirr token create | list | revoke.

#include "cli/commands.h"

namespace sirr::cli {
namespace {

class Tokens final : public Command {
 public:
  explicit Tokens(CLI::App& app) {
    root_ = app.add_subcommand("token", "API tokens: create, list, revoke");
    root_->require_subcommand(1);
    create_ = root_->add_subcommand(
        "create",
        "Create an API token; prints the token (shown once) on stdout, its details on stderr");
    create_->add_option("--name", name_, "What the token is for")->required();
    create_
        ->add_option(
            "--cap", caps_,
            "Capability (repeat or comma-separate): secrets:read, secrets:write, "
            "secrets:delete, secrets:list, keys:create, keys:read, keys:use, "
            "keys:delete, vaults:create, vaults:delete, tokens:manage, metrics:read, admin")
        ->required()
        ->delimiter(',');
    create_
        ->add_option("--vault", vaults_,
                     "Vault id or name the token may use (repeat; '*' for every vault)")
        ->delimiter(',');
    create_->add_option("--ttl", ttl_, "Expire after this long: 90, 90s, 15m, 2h, 7d");
    create_->add_option("--max-uses", uses_, "Stop working after this many requests")
        ->check(AtLeastOne());
    Examples(create_, {"sirr token create --name ci --cap secrets:read --vault payments --ttl 30d",
                       "TOKEN=$(sirr token create --name deploy --cap secrets:read,secrets:list \\",
                       "    --vault '*' --max-uses 100)"});
    list_ = root_->add_subcommand("list", "List tokens (metadata only, never values)");
    Examples(list_, {"sirr token list", "sirr --json token list"});
    revoke_ = root_->add_subcommand("revoke", "Revoke a token (and the tokens it created) at once");
    revoke_->add_option("ID", id_, "Token id")->required();
    Examples(revoke_, {"sirr token revoke 3f1c…"});
  }
  bool parsed() const override { return root_->parsed(); }

  int Run(Session& s) override {
    client::HttpResponse r;
    if (create_->parsed()) return Create(s);
    if (revoke_->parsed()) {
      if (auto rc = s.Expect("DELETE", "/api/v1/tokens/" + Enc(id_), 204, &r)) return *rc;
      if (s.json_output()) return s.PrintJson(json{{"id", id_}, {"revoked", true}}), 0;
      s.Out("revoked token %s\n", id_.c_str());
      return 0;
    }
    if (auto rc = s.Expect("GET", "/api/v1/tokens", 200, &r)) return *rc;
    auto all = json::parse(r.body, nullptr, false);
    if (!all.is_array()) return s.Fail(kExitServer, "unexpected response from the server");
    if (s.json_output()) return s.PrintJson(all), 0;
    s.Out("%-36s %-16s %-8s %-24s %s\n", "ID", "NAME", "STATE", "EXPIRES", "CAPABILITIES");
    for (auto& e : all) {
      std::string caps;
      for (auto& c : e.value("capabilities", json::array()))
        caps += (caps.empty() ? "" : ",") + Text(c);
      s.Out("%-36s %-16s %-8s %-24s %s\n", Text(e.value("id", json())).c_str(),
            Text(e.value("name", json())).c_str(), Text(e.value("state", json())).c_str(),
            Text(e.value("expires_at", json()), "never").c_str(), caps.c_str());
    }
    return 0;
  }

 private:
  int Create(Session& s) {
    client::HttpResponse r;
    json body{{"name", name_}, {"capabilities", caps_}, {"vaults", vaults_}};
    if (!ttl_.empty()) {
      auto ttl = ParseDuration(ttl_, "--ttl");
      if (!ttl.ok()) return s.Usage(ttl.status().message());
      body["ttl_seconds"] = *ttl;
    }
    if (uses_ > 0) body["max_uses"] = uses_;
    if (auto rc = s.Expect("POST", "/api/v1/tokens", 201, &r, body.dump())) return *rc;
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("token") || !j["token"].is_string())
      return s.Fail(kExitServer, "unexpected response from the server");
    std::string& value = j["token"].get_ref<std::string&>();
    if (s.json_output()) {
      s.PrintJson(j);
    } else {
      s.Out("%s\n", value.c_str());
      s.Err("token %s (id %s): %s on %s; expires %s; max uses %s. Shown once: store it now.\n",
            name_.c_str(), Text(j.value("id", json())).c_str(),
            j.value("capabilities", json::array()).dump().c_str(),
            j.value("vaults", json::array()).dump().c_str(),
            Text(j.value("expires_at", json()), "never").c_str(),
            Text(j.value("max_uses", json()), "unlimited").c_str());
    }
    SecureWipe(value.data(), value.size());
    SecureWipe(r.body.data(), r.body.size());
    return 0;
  }

  CLI::App *root_, *create_, *list_, *revoke_;
  std::string name_, ttl_, id_;
  std::vector<std::string> vaults_, caps_;
  int64_t uses_ = 0;
};

}  // namespace

std::unique_ptr<Command> TokenCommands(CLI::App& app) { return std::make_unique<Tokens>(app); }

}  // namespace sirr::cli
