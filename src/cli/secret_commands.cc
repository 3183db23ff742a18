// sirr push | pull | rm | inspect | list: secrets in the selected vault.

#include <istream>

#include "base/encoding.h"
#include "cli/commands.h"

namespace sirr::cli {
namespace {

std::string SecretPath(const Session& s, const std::string& name = "") {
  return VaultPath(s.settings().vault, "/secrets") + (name.empty() ? "" : "/" + Enc(name));
}

class Secrets final : public Command {
 public:
  explicit Secrets(CLI::App& app) {
    push_ = app.add_subcommand("push", "Store a secret");
    push_->add_option("NAME", name_, "Secret name, e.g. db/prod")->required();
    value_ = push_->add_option(
        "--value", value_text_,
        "The value, or - for stdin. Lands in shell history: prefer the prompt or --file");
    file_ = push_->add_option("--file", file_path_, "Read the value from this file");
    value_->excludes(file_);
    push_->add_option("--ttl", ttl_, "Expire after this long: 90, 90s, 15m, 2h, 7d");
    push_->add_option("--reads", reads_, "Burn after this many reads")->check(AtLeastOne());
    push_->add_option("--type", type_, "Free-form type label");
    push_->add_option("--description", description_, "Description (not secret)");
    push_->add_flag("--overwrite", overwrite_, "Replace a live secret of the same name");
    Examples(push_, {"sirr push db/prod                       # prompts for the value, not echoed",
                     "sirr push api/key --file key.pem --ttl 1h --reads 1",
                     "printf %s \"$VALUE\" | sirr push ci/token --value -"});

    pull_ = app.add_subcommand("pull",
                               "Print a secret's value exactly (no added newline); counts a read");
    pull_->add_option("NAME", name_, "Secret name or id")->required();
    Examples(pull_, {"sirr pull db/prod", "export DB_URL=\"$(sirr pull db/prod)\"",
                     "sirr --json pull db/prod   # value and metadata as JSON"});
    rm_ = app.add_subcommand("rm", "Delete a secret");
    rm_->add_option("NAME", name_, "Secret name or id")->required();
    Examples(rm_, {"sirr rm db/prod"});
    inspect_ = app.add_subcommand("inspect", "Show a secret's metadata without using up a read");
    inspect_->add_option("NAME", name_, "Secret name or id")->required();
    Examples(inspect_, {"sirr inspect db/prod", "sirr --json inspect db/prod"});
    list_ = app.add_subcommand("list", "List live secrets (metadata only, never values)");
    list_->add_option("--prefix", prefix_, "Only names starting with this");
    list_->add_option("--type", type_, "Only this type");
    Examples(list_, {"sirr list", "sirr list --prefix db/ --json"});
  }

  bool parsed() const override {
    return push_->parsed() || pull_->parsed() || rm_->parsed() || inspect_->parsed() ||
           list_->parsed();
  }

  int Run(Session& s) override {
    if (push_->parsed()) return Push(s);
    if (pull_->parsed()) return Pull(s);
    if (rm_->parsed()) return Remove(s);
    if (inspect_->parsed()) return Inspect(s);
    return List(s);
  }

 private:
  // The value: --file, --value (- for stdin), else the no-echo prompt on a terminal, else stdin.
  StatusOr<SecretBytes> Value(Session& s) {
    if (*file_) return ReadFileSecret(file_path_, "--file");
    if (*value_ && value_text_ != "-") {
      SecretBytes v = SecretBytes::FromString(value_text_);
      SecureWipe(value_text_.data(), value_text_.size());
      return v;
    }
    if (!*value_ && s.io().in_tty) {
      SIRR_ASSIGN_OR_RETURN(SecretBytes v,
                            s.io().read_hidden("Value for " + name_ + " (not echoed): "));
      if (v.empty()) return InvalidArgumentError("no value given");
      return v;
    }
    SIRR_ASSIGN_OR_RETURN(SecretBytes piped, ReadAll(s.io().in));
    if (!*value_ && piped.empty())
      return InvalidArgumentError(
          "no value: type it at the prompt (on a terminal), pipe it on stdin, or give --file F "
          "or --value V");
    return piped;
  }

  int Push(Session& s) {
    json body;
    body["name"] = name_;
    {
      auto value = Value(s);
      if (!value.ok()) return s.Usage(value.status().message());
      // Sent base64-encoded, so binary values travel unchanged.
      std::string encoded = Base64Encode(value->reveal());
      body["value"] = encoded;
      SecureWipe(encoded.data(), encoded.size());
    }
    body["encoding"] = "base64";
    if (!ttl_.empty()) {
      auto ttl = ParseDuration(ttl_, "--ttl");
      if (!ttl.ok()) return s.Usage(ttl.status().message());
      body["ttl_seconds"] = *ttl;
    }
    if (reads_ > 0) body["max_reads"] = reads_;
    if (!type_.empty()) body["type"] = type_;
    if (!description_.empty()) body["description"] = description_;
    std::string payload = body.dump();
    auto& v = body["value"].get_ref<std::string&>();
    SecureWipe(v.data(), v.size());
    client::HttpResponse r;
    auto rc =
        s.Expect("POST", SecretPath(s) + (overwrite_ ? "?overwrite=true" : ""), 201, &r, payload);
    SecureWipe(payload.data(), payload.size());
    if (rc) return *rc;
    auto meta = json::parse(r.body, nullptr, false);
    if (s.json_output()) return s.PrintJson(meta), 0;
    s.Out("pushed %s (id %s, expires %s, reads left %s)\n", name_.c_str(),
          Text(meta.value("id", json())).c_str(),
          Text(meta.value("expires_at", json()), "never").c_str(),
          Text(meta.value("reads_remaining", json()), "unlimited").c_str());
    return 0;
  }

  int Pull(Session& s) {
    client::HttpResponse r;
    if (auto rc = s.Expect("GET", SecretPath(s, name_), 200, &r)) return *rc;
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("value") || !j["value"].is_string())
      return s.Fail(kExitServer, "unexpected response from the server");
    std::string& v = j["value"].get_ref<std::string&>();
    int rc = 0;
    if (s.json_output()) {
      s.PrintJson(j);
    } else if (j.value("encoding", "") == "base64") {
      auto bytes = Base64DecodeSecret(v);
      if (!bytes.ok())
        rc = s.Fail(kExitServer, "unexpected response from the server");
      else
        s.io().out.write(reinterpret_cast<const char*>(bytes->reveal().data()),
                         static_cast<std::streamsize>(bytes->size()));
    } else {
      s.io().out.write(v.data(), static_cast<std::streamsize>(v.size()));
    }
    SecureWipe(v.data(), v.size());
    s.io().out.flush();
    return rc;
  }

  int Remove(Session& s) {
    client::HttpResponse r;
    if (auto rc = s.Expect("DELETE", SecretPath(s, name_), 204, &r)) return *rc;
    if (s.json_output()) return s.PrintJson(json{{"name", name_}, {"deleted", true}}), 0;
    s.Out("deleted %s\n", name_.c_str());
    return 0;
  }

  int Inspect(Session& s) {
    auto r = s.Call("HEAD", SecretPath(s, name_));
    if (!r.ok()) return s.Fail(kExitServer, r.status().message());
    if (r->status == 404)
      return s.Fail(kExitRefused,
                    "secret '" + name_ + "' not found in vault '" + s.settings().vault + "'");
    if (r->status != 200 && r->status != 410) {
      r->body = json{{"message", "HTTP " + std::to_string(r->status)}}.dump();  // HEAD: no body
      return s.Refused(*r);
    }
    auto h = [&](const char* k) -> json {
      auto it = r->headers.find(k);
      return it == r->headers.end() ? json(nullptr) : json(it->second);
    };
    auto number = [&](const char* k) -> json {
      json v = h(k);
      return v.is_null() ? v : json(std::atoll(v.get<std::string>().c_str()));
    };
    json j{{"id", h("x-secret-id")},
           {"created_at", h("x-secret-created-at")},
           {"vault_id", h("x-secret-vault-id")},
           {"type", h("x-secret-type")},
           {"name", h("x-secret-name")},
           {"description", h("x-secret-description")},
           {"expires_at", h("x-secret-expires-at")},
           {"max_reads", number("x-secret-max-reads")},
           {"reads_remaining", number("x-secret-reads-remaining")},
           {"state", h("x-secret-state")}};
    if (s.json_output()) {
      s.PrintJson(j);
    } else {
      s.Out(
          "name:        %s\nid:          %s\nvault:       %s\ntype:        %s\n"
          "description: %s\nstate:       %s\ncreated:     %s\nexpires:     %s\n"
          "max reads:   %s\nreads left:  %s\n",
          Text(j["name"]).c_str(), Text(j["id"]).c_str(), Text(j["vault_id"]).c_str(),
          Text(j["type"]).c_str(), Text(j["description"]).c_str(), Text(j["state"]).c_str(),
          Text(j["created_at"]).c_str(), Text(j["expires_at"], "never").c_str(),
          Text(j["max_reads"], "unlimited").c_str(),
          Text(j["reads_remaining"], "unlimited").c_str());
    }
    return r->status == 200 ? 0 : kExitRefused;
  }

  int List(Session& s) {
    json all = json::array();
    std::string q;
    if (!prefix_.empty()) q += "&prefix=" + Enc(prefix_);
    if (!type_.empty()) q += "&type=" + Enc(type_);
    if (auto rc = s.FetchAll(SecretPath(s), q, &all)) return *rc;
    if (s.json_output()) return s.PrintJson(all), 0;
    s.Out("%-40s %-24s %-24s %s\n", "NAME", "CREATED", "EXPIRES", "READS LEFT");
    for (auto& e : all)
      s.Out("%-40s %-24s %-24s %s\n", Text(e.value("name", json())).c_str(),
            Text(e.value("created_at", json())).c_str(),
            Text(e.value("expires_at", json()), "never").c_str(),
            Text(e.value("reads_remaining", json()), "unlimited").c_str());
    return 0;
  }

  CLI::App *push_, *pull_, *rm_, *inspect_, *list_;
  CLI::Option *value_, *file_;
  std::string name_, value_text_, file_path_, ttl_, type_, description_, prefix_;
  int64_t reads_ = 0;
  bool overwrite_ = false;
};

}  // namespace

std::unique_ptr<Command> SecretCommands(CLI::App& app) { return std::make_unique<Secrets>(app); }

}  // namespace sirr::cli
