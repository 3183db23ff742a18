// sirr vault create | list | show | rm.

#include "cli/commands.h"

namespace sirr::cli {
namespace {

class Vaults final : public Command {
 public:
  explicit Vaults(CLI::App& app) {
    root_ = app.add_subcommand("vault", "Vaults: create, list, show, rm");
    root_->require_subcommand(1);
    create_ = root_->add_subcommand("create", "Create a vault with its own master key");
    create_->add_option("NAME", name_, "Vault name (letters, digits, spaces and . _ -)")
        ->required();
    create_->add_option("--description", description_, "Description (not secret)");
    Examples(create_, {"sirr vault create payments --description 'card processing'",
                       "sirr --vault payments push stripe/key --file key.txt"});
    list_ = root_->add_subcommand("list", "List the vaults this token can see");
    Examples(list_, {"sirr vault list", "sirr --json vault list"});
    show_ = root_->add_subcommand("show", "Show one vault");
    show_->add_option("VAULT", name_, "Vault id or name")->required();
    Examples(show_, {"sirr vault show payments"});
    rm_ = root_->add_subcommand("rm",
                                "Delete a vault (refused while it holds secrets, unless --force)");
    rm_->add_option("VAULT", name_, "Vault id or name")->required();
    rm_->add_flag("--force", force_,
                  "Destroy the vault key and every secret in the vault (crypto-shredding)");
    Examples(rm_, {"sirr vault rm old-team", "sirr vault rm old-team --force"});
  }
  bool parsed() const override { return root_->parsed(); }

  int Run(Session& s) override {
    client::HttpResponse r;
    const std::string base = "/api/v1/vaults";
    if (create_->parsed()) {
      json body{{"name", name_}};
      if (!description_.empty()) body["description"] = description_;
      if (auto rc = s.Expect("POST", base, 201, &r, body.dump())) return *rc;
      auto j = json::parse(r.body, nullptr, false);
      if (s.json_output()) return s.PrintJson(j), 0;
      s.Out("created vault %s (id %s)\n", name_.c_str(), Text(j.value("id", json())).c_str());
      return 0;
    }
    if (show_->parsed()) {
      if (auto rc = s.Expect("GET", VaultPath(name_), 200, &r)) return *rc;
      auto j = json::parse(r.body, nullptr, false);
      if (s.json_output()) return s.PrintJson(j), 0;
      s.Out("name:        %s\nid:          %s\ncreated:     %s\nowner:       %s\ndescription: %s\n",
            Text(j.value("name", json())).c_str(), Text(j.value("id", json())).c_str(),
            Text(j.value("created_at", json())).c_str(), Text(j.value("owner", json())).c_str(),
            Text(j.value("description", json())).c_str());
      return 0;
    }
    if (rm_->parsed()) {
      if (auto rc = s.Expect("DELETE", VaultPath(name_, force_ ? "?force=true" : ""), 204, &r))
        return *rc;
      if (s.json_output()) return s.PrintJson(json{{"name", name_}, {"deleted", true}}), 0;
      s.Out("deleted vault %s%s\n", name_.c_str(),
            force_ ? " (vault key destroyed with everything in it)" : "");
      return 0;
    }
    json all = json::array();
    if (auto rc = s.FetchAll(base, "", &all)) return *rc;
    if (s.json_output()) return s.PrintJson(all), 0;
    s.Out("%-24s %-36s %-24s %s\n", "NAME", "ID", "CREATED", "OWNER");
    for (auto& e : all)
      s.Out("%-24s %-36s %-24s %s\n", Text(e.value("name", json())).c_str(),
            Text(e.value("id", json())).c_str(), Text(e.value("created_at", json())).c_str(),
            Text(e.value("owner", json())).c_str());
    return 0;
  }

 private:
  CLI::App *root_, *create_, *list_, *show_, *rm_;
  std::string name_, description_;
  bool force_ = false;
};

}  // namespace

std::unique_ptr<Command> VaultCommands(CLI::App& app) { return std::make_unique<Vaults>(app); }

}  // namespace sirr::cli
