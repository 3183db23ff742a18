#include "cli/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.h"

namespace sirr::cli {
namespace {

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

}  // namespace

const Context* Config::Find(std::string_view name) const {
  for (const auto& c : contexts)
    if (c.name == name) return &c;
  return nullptr;
}

Context* Config::Find(std::string_view name) {
  for (auto& c : contexts)
    if (c.name == name) return &c;
  return nullptr;
}

std::string ConfigPath(const Console& console) {
  if (auto p = console.env("SIRR_CONFIG"); p && !p->empty()) return *p;
  if (auto x = console.env("XDG_CONFIG_HOME"); x && !x->empty()) return *x + "/sirr/config";
  if (auto h = console.env("HOME"); h && !h->empty()) return *h + "/.config/sirr/config";
  return "";
}

StatusOr<Config> LoadConfig(const std::string& path) {
  Config config;
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return config;
    return InvalidArgumentError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::string line;
  Context* current = nullptr;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto bad = [&](const std::string& why) {
      return InvalidArgumentError(path + " line " + std::to_string(n) + ": " + why);
    };
    if (t.starts_with("[")) {
      constexpr std::string_view kOpen = "[context \"";
      if (!t.starts_with(kOpen) || !t.ends_with("\"]")) return bad("expected [context \"NAME\"]");
      std::string name = t.substr(kOpen.size(), t.size() - kOpen.size() - 2);
      if (!ValidName(name)) return bad("context names are letters, digits and . _ -");
      if (config.Find(name)) return bad("context '" + name + "' is defined twice");
      config.contexts.emplace_back();
      current = &config.contexts.back();
      current->name = name;
      continue;
    }
    const size_t eq = t.find('=');
    if (eq == std::string::npos) return bad("expected KEY = VALUE");
    const std::string key = Trim(std::string_view(t).substr(0, eq));
    const std::string value = Trim(std::string_view(t).substr(eq + 1));
    if (!current) {
      if (key != "current-context") return bad("unknown setting '" + key + "'");
      config.current = value;
      continue;
    }
    if (key == "server")
      current->server = value;
    else if (key == "ca-cert")
      current->ca_cert = value;
    else if (key == "client-cert")
      current->client_cert = value;
    else if (key == "client-key")
      current->client_key = value;
    else if (key == "token-file")
      current->token_file = value;
    else if (key == "vault")
      current->vault = value;
    else
      return bad("unknown context setting '" + key +
                 "' (server, ca-cert, client-cert, client-key, token-file, vault)");
  }
  return config;
}

Status SaveConfig(const std::string& path, const Config& config) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return InvalidArgumentError("cannot create " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  std::ostringstream text;
  text << "# sirr CLI contexts (sirr context --help). Holds no secrets: token-file names a\n"
          "# file that holds the token.\n";
  if (!config.current.empty()) text << "current-context = " << config.current << "\n";
  for (const auto& c : config.contexts) {
    text << "\n[context \"" << c.name << "\"]\n";
    if (!c.server.empty()) text << "server = " << c.server << "\n";
    if (!c.ca_cert.empty()) text << "ca-cert = " << c.ca_cert << "\n";
    if (!c.client_cert.empty()) text << "client-cert = " << c.client_cert << "\n";
    if (!c.client_key.empty()) text << "client-key = " << c.client_key << "\n";
    if (!c.token_file.empty()) text << "token-file = " << c.token_file << "\n";
    if (!c.vault.empty()) text << "vault = " << c.vault << "\n";
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return InvalidArgumentError("cannot write " + tmp + ": " + std::strerror(errno));
  const std::string s = text.str();
  const bool ok =
      ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return InvalidArgumentError("cannot write " + path + ": " + why);
  }
  return OkStatus();
}

namespace {

class Contexts final : public Command {
 public:
  explicit Contexts(CLI::App& app) {
    root_ = app.add_subcommand(
        "context",
        "Named connection settings (server, CA certificate, token file, default vault) kept in "
        "the config file ($SIRR_CONFIG, else $XDG_CONFIG_HOME/sirr/config or "
        "~/.config/sirr/config); select one with --context or SIRR_CONTEXT, or make it current");
    root_->require_subcommand(1);
    Examples(root_, {"sirr context set prod --server https://vault.example.com:8443 \\",
                     "    --ca-cert /etc/sirr/ca.pem --token-file ~/.config/sirr/prod.token",
                     "sirr context use prod", "sirr --context staging list", "sirr context list"});
    list_ = root_->add_subcommand("list", "List the contexts (* marks the current one)");
    show_ = root_->add_subcommand("show", "Show a context (default: the current one)");
    show_->add_option("NAME", name_, "Context name");
    use_ = root_->add_subcommand("use", "Make a context the current one");
    use_->add_option("NAME", name_, "Context name")->required();
    set_ = root_->add_subcommand("set", "Create a context or change its settings");
    set_->add_option("NAME", name_, "Context name (letters, digits, . _ -)")->required();
    set_->add_option("--server", c_.server, "Server URL");
    set_->add_option("--ca-cert", c_.ca_cert, "CA certificate file (PEM) for https://");
    set_->add_option("--client-cert", c_.client_cert, "Client certificate (PEM) for mutual TLS");
    set_->add_option("--client-key", c_.client_key, "Client private key (PEM) for mutual TLS");
    set_->add_option("--token-file", c_.token_file, "File that holds the bearer token");
    set_->add_option("--vault", c_.vault, "Default vault");
    rm_ = root_->add_subcommand("rm", "Remove a context");
    rm_->add_option("NAME", name_, "Context name")->required();
    Examples(list_, {"sirr context list", "sirr --json context list"});
    Examples(show_, {"sirr context show", "sirr context show prod"});
    Examples(use_, {"sirr context use prod"});
    Examples(set_, {"sirr context set prod --server https://vault.example.com:8443 \\",
                    "    --ca-cert /etc/sirr/ca.pem --token-file ~/.config/sirr/prod.token",
                    "sirr context set prod --vault payments   # change one setting"});
    Examples(rm_, {"sirr context rm old"});
  }
  bool parsed() const override { return root_->parsed(); }

  int Run(Session& s) override {
    const std::string path = ConfigPath(s.io());
    if (path.empty()) return s.Usage("no config file path: set SIRR_CONFIG or HOME");
    auto loaded = LoadConfig(path);
    if (!loaded.ok()) return s.Usage(loaded.status().message());
    Config& config = *loaded;
    if (list_->parsed()) {
      if (s.json_output()) {
        json arr = json::array();
        for (const auto& c : config.contexts) arr.push_back(ToJson(c, config));
        s.PrintJson(arr);
        return 0;
      }
      if (config.contexts.empty())
        s.Err("no contexts in %s (create one with sirr context set NAME --server URL)\n",
              path.c_str());
      for (const auto& c : config.contexts)
        s.Out("%s %-16s %s\n", c.name == config.current ? "*" : " ", c.name.c_str(),
              c.server.c_str());
      return 0;
    }
    if (show_->parsed()) {
      const std::string name = name_.empty() ? config.current : name_;
      const Context* c = config.Find(name);
      if (!c) return s.Fail(kExitRefused, "no context named '" + name + "' (sirr context list)");
      if (s.json_output()) return s.PrintJson(ToJson(*c, config)), 0;
      s.Out(
          "name:        %s%s\nserver:      %s\nca-cert:     %s\nclient-cert: %s\n"
          "client-key:  %s\ntoken-file:  %s\nvault:       %s\n",
          c->name.c_str(), c->name == config.current ? " (current)" : "", c->server.c_str(),
          c->ca_cert.c_str(), c->client_cert.c_str(), c->client_key.c_str(), c->token_file.c_str(),
          c->vault.c_str());
      return 0;
    }
    if (use_->parsed()) {
      if (!config.Find(name_))
        return s.Fail(kExitRefused, "no context named '" + name_ + "' (sirr context list)");
      config.current = name_;
    } else if (rm_->parsed()) {
      if (!config.Find(name_))
        return s.Fail(kExitRefused, "no context named '" + name_ + "' (sirr context list)");
      std::erase_if(config.contexts, [&](const Context& c) { return c.name == name_; });
      if (config.current == name_) config.current.clear();
    } else {  // set
      if (!ValidName(name_)) return s.Usage("context names are 1 to 64 letters, digits and . _ -");
      for (const std::string* v :
           {&c_.server, &c_.ca_cert, &c_.client_cert, &c_.client_key, &c_.token_file, &c_.vault})
        if (v->find('\n') != std::string::npos) return s.Usage("values must be one line");
      Context* c = config.Find(name_);
      if (!c) {
        config.contexts.emplace_back();
        config.contexts.back().name = name_;
        c = &config.contexts.back();
      }
      for (auto [from, to] : {std::pair{&c_.server, &c->server},
                              {&c_.ca_cert, &c->ca_cert},
                              {&c_.client_cert, &c->client_cert},
                              {&c_.client_key, &c->client_key},
                              {&c_.token_file, &c->token_file},
                              {&c_.vault, &c->vault}})
        if (!from->empty()) *to = *from;
      if (config.current.empty()) config.current = name_;
    }
    Status saved = SaveConfig(path, config);
    if (!saved.ok()) return s.Usage(saved.message());
    if (s.json_output()) {
      const Context* c = config.Find(name_);
      return s.PrintJson(c ? ToJson(*c, config) : json{{"name", name_}, {"removed", true}}), 0;
    }
    if (use_->parsed()) s.Out("using context %s\n", name_.c_str());
    if (rm_->parsed()) s.Out("removed context %s\n", name_.c_str());
    if (set_->parsed())
      s.Out("context %s saved in %s%s\n", name_.c_str(), path.c_str(),
            config.current == name_ ? " (current)" : "");
    return 0;
  }

 private:
  static json ToJson(const Context& c, const Config& config) {
    auto opt = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
    return json{{"name", c.name},
                {"current", c.name == config.current},
                {"server", opt(c.server)},
                {"ca_cert", opt(c.ca_cert)},
                {"client_cert", opt(c.client_cert)},
                {"client_key", opt(c.client_key)},
                {"token_file", opt(c.token_file)},
                {"vault", opt(c.vault)}};
  }

  CLI::App *root_, *list_, *show_, *use_, *set_, *rm_;
  std::string name_;
  Context c_;
};

}  // namespace

std::unique_ptr<Command> ContextCommands(CLI::App& app) { return std::make_unique<Contexts>(app); }

}  // namespace sirr::cli
