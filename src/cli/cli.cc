#include "cli/cli.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "base/encoding.h"
#include "base/version.h"
#include "cli/commands.h"
#include "cli/config.h"

namespace sirr::cli {
namespace {

class HttpTransport final : public Transport {
 public:
  HttpTransport(const Settings& settings, SecretBytes token)
      : client_(settings.server, std::move(token)) {
    if (!settings.ca_cert.empty()) client_.SetCaFile(settings.ca_cert);
    client_.SetClientCertificate(settings.client_cert, settings.client_key);
  }
  StatusOr<client::HttpResponse> Do(const std::string& method, const std::string& path,
                                    const std::string& body) override {
    return client_.Do(method, path, body);
  }

 private:
  client::Client client_;
};

StatusOr<SecretBytes> ReadHiddenFromTerminal(std::string_view prompt) {
  std::fprintf(stderr, "%.*s", static_cast<int>(prompt.size()), prompt.data());
  std::fflush(stderr);
  termios old{};
  const bool quiet = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (quiet) {
    termios noecho = old;
    noecho.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
  }
  SecretBytes line;
  char c = 0;
  while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') {
    line.Append(AsBytes(std::string_view(&c, 1)));
    if (line.size() > (1u << 20)) break;
  }
  c = 0;
  if (quiet) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::fprintf(stderr, "\n");
  return line;
}

// Server messages name API fields; the CLI user knows flags.
std::string CliAdvice(std::string message) {
  static const std::pair<const char*, const char*> kFields[] = {
      {"options.algorithm", "--algorithm"},
      {"ttl_seconds", "--ttl"},
      {"max_reads", "--reads"},
      {"max_uses", "--max-uses"},
      {"hd_derivation_path", "--hd-path"},
      {"public_key", "--public-key"},
  };
  for (const auto& [field, flag] : kFields)
    for (size_t at = message.find(field); at != std::string::npos;
         at = message.find(field, at + std::strlen(flag)))
      message.replace(at, std::strlen(field), flag);
  return message;
}

std::string ServerMessage(const client::HttpResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("message") && j["message"].is_string()) return j["message"];
    if (j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
        j["errors"][0].is_object() && j["errors"][0].contains("message") &&
        j["errors"][0]["message"].is_string())
      return j["errors"][0]["message"];
  }
  return "HTTP " + std::to_string(r.status);
}

void VPrint(std::ostream& os, const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (n <= 0) return;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), format, args);
  text.pop_back();
  os << text;
  SecureWipe(text.data(), text.size());
}

}  // namespace

Console StandardConsole() {
  return Console{std::cin,
                 std::cout,
                 std::cerr,
                 ::isatty(STDIN_FILENO) == 1,
                 ::isatty(STDERR_FILENO) == 1,
                 ReadHiddenFromTerminal,
                 [](const char* name) -> std::optional<std::string> {
                   const char* v = std::getenv(name);
                   return v ? std::optional<std::string>(v) : std::nullopt;
                 }};
}

TransportFactory HttpTransportFactory() {
  return [](const Settings& settings, SecretBytes token) -> std::unique_ptr<Transport> {
    return std::make_unique<HttpTransport>(settings, std::move(token));
  };
}

StatusOr<SecretBytes> Session::LoadToken() {
  if (!settings_.token_file.empty()) {
    std::ifstream in(settings_.token_file);
    if (!in)
      return NotFoundError("cannot read the token file " + settings_.token_file + ": " +
                           std::strerror(errno));
    std::string t;
    std::getline(in, t);
    SecretBytes s = SecretBytes::FromString(t);
    SecureWipe(t.data(), t.size());
    return s;
  }
  if (auto t = io_.env("SIRR_TOKEN")) {
    SecretBytes s = SecretBytes::FromString(*t);
    SecureWipe(t->data(), t->size());
    return s;
  }
  return SecretBytes();
}

StatusOr<client::HttpResponse> Session::Call(const std::string& method, const std::string& path,
                                             const std::string& body) {
  if (!transport_) {
    SIRR_ASSIGN_OR_RETURN(SecretBytes token, LoadToken());
    have_token_ = !token.empty();
    transport_ = factory_(settings_, std::move(token));
  }
  return transport_->Do(method, path, body);
}

StatusOr<client::HttpResponse> Session::CallServer(const std::string& server,
                                                   const std::string& method,
                                                   const std::string& path,
                                                   const std::string& body) {
  Settings other = settings_;
  other.server = server;
  return factory_(other, SecretBytes())->Do(method, path, body);
}

int Session::Fail(int code, std::string_view message) {
  io_.err << "sirr: " << message << "\n";
  return code;
}

int Session::Refused(const client::HttpResponse& r) {
  if (r.status == 401 && !have_token_)
    return Fail(kExitRefused,
                "no token given: set SIRR_TOKEN, pass --token-file FILE, or select a context "
                "with a token file (sirr context --help)");
  std::string message = CliAdvice(ServerMessage(r));
  if (r.status == 413)
    message +=
        " (the server's limit is SIRR_MAX_BODY_BYTES, default 1 MiB; values travel "
        "base64-encoded, 4/3 of their size, and age adds about 200 bytes)";
  if (r.status == 429) {
    auto it = r.headers.find("retry-after");
    if (it != r.headers.end()) message += " (retry after " + it->second + " s)";
  }
  return Fail(r.status >= 500 ? kExitServer : kExitRefused, message);
}

std::optional<int> Session::Expect(const std::string& method, const std::string& path, int want,
                                   client::HttpResponse* out, const std::string& body) {
  auto r = Call(method, path, body);
  if (!r.ok()) {
    const bool local = r.status().code() != StatusCode::kUnavailable;
    return Fail(local ? kExitUsage : kExitServer, r.status().message());
  }
  if (r->status != want) return Refused(*r);
  *out = std::move(r).value();
  return std::nullopt;
}

std::optional<int> Session::FetchAll(const std::string& path, const std::string& query, json* all) {
  client::HttpResponse r;
  for (int page = 1;; ++page) {
    if (auto rc = Expect("GET", path + "?rpp=1000&page=" + std::to_string(page) + query, 200, &r))
      return rc;
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_array()) return Fail(kExitServer, "unexpected response from the server");
    for (auto& e : j) all->push_back(e);
    const long total = std::atol(r.headers["x-total-results-count"].c_str());
    if (j.size() < 1000 || static_cast<long>(all->size()) >= total) return std::nullopt;
  }
}

void Session::PrintJson(const json& j) {
  std::string text = j.dump(2, ' ', false, json::error_handler_t::replace);
  io_.out << text << "\n";
  SecureWipe(text.data(), text.size());
}

void Session::Out(const char* format, ...) {
  va_list args;
  va_start(args, format);
  VPrint(io_.out, format, args);
  va_end(args);
}

void Session::Err(const char* format, ...) {
  va_list args;
  va_start(args, format);
  VPrint(io_.err, format, args);
  va_end(args);
}

StatusOr<SecretBytes> ReadAll(std::istream& in) {
  SecretBytes out;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.Append(AsBytes(std::string_view(buf, static_cast<size_t>(in.gcount()))));
    if (out.size() > (64u << 20)) {
      SecureWipe(buf, sizeof(buf));
      return TooLargeError("the value is larger than 64 MiB");
    }
  }
  SecureWipe(buf, sizeof(buf));
  return out;
}

StatusOr<SecretBytes> ReadFileSecret(const std::string& path, std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return InvalidArgumentError("cannot read " + std::string(flag) + " " + path + ": " +
                                std::strerror(errno));
  return ReadAll(in);
}

StatusOr<int64_t> ParseDuration(const std::string& s, std::string_view flag) {
  const std::string advice = std::string(flag) +
                             " must be a whole number of seconds with an optional s, m, h or d "
                             "suffix (90, 15m, 2h, 7d)";
  if (s.empty()) return InvalidArgumentError(advice);
  int64_t mult = 1;
  std::string digits = s;
  switch (s.back()) {
    case 's':
      digits.pop_back();
      break;
    case 'm':
      mult = 60;
      digits.pop_back();
      break;
    case 'h':
      mult = 3600;
      digits.pop_back();
      break;
    case 'd':
      mult = 86400;
      digits.pop_back();
      break;
    default:
      break;
  }
  if (digits.empty() || digits.size() > 12 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return InvalidArgumentError(advice);
  const int64_t n = std::stoll(digits) * mult;
  if (n < 1) return InvalidArgumentError(std::string(flag) + " must be at least 1 second");
  return n;
}

std::string Text(const json& v, std::string_view null_text) {
  if (v.is_null()) return std::string(null_text);
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string Enc(std::string_view s) { return client::Client::UrlEncode(s); }

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return std::string(s);
}

CLI::Validator AtLeastOne() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        const bool digits =
            !v.empty() && v.size() < 12 && v.find_first_not_of("0123456789") == std::string::npos;
        return digits && std::stoll(v) >= 1 ? "" : "must be at least 1 (a whole number)";
      },
      "N>=1");
}

std::string VaultPath(const std::string& vault, std::string_view suffix) {
  return "/api/v1/vaults/" + Enc(vault) + std::string(suffix);
}

void Examples(CLI::App* cmd, const std::vector<std::string>& lines) {
  std::string text = "\nExamples:\n";
  for (const auto& l : lines) text += "  " + l + "\n";
  cmd->footer(text);
}

namespace {

// Whether SIRR_TOKEN is set; the copy the lookup made is wiped.
bool HasToken(Console& io) {
  auto token = io.env("SIRR_TOKEN");
  if (!token) return false;
  SecureWipe(token->data(), token->size());
  return true;
}

// Flags > environment > the selected context > defaults.
Status ResolveSettings(Console& io, Settings& s, const Settings& flags) {
  const std::string& flag_token_file = flags.token_file;
  std::string context = flags.context;
  if (context.empty()) context = io.env("SIRR_CONTEXT").value_or("");
  const std::string path = ConfigPath(io);
  Config config;
  if (!path.empty()) {
    SIRR_ASSIGN_OR_RETURN(config, LoadConfig(path));
  }
  if (context.empty()) context = config.current;
  const Context* ctx = nullptr;
  if (!context.empty()) {
    ctx = config.Find(context);
    if (!ctx)
      return InvalidArgumentError("no context named '" + context + "' in " + path +
                                  " (sirr context list)");
    s.context = context;
  }
  auto pick = [&](std::string& field, const std::string& flag, const char* env,
                  const std::string* from_context) {
    if (!flag.empty()) {
      field = flag;
    } else if (auto v = io.env(env); v && !v->empty()) {
      field = *v;
    } else if (from_context && !from_context->empty()) {
      field = *from_context;
    }
  };
  pick(s.server, flags.server, "SIRR_SERVER", ctx ? &ctx->server : nullptr);
  pick(s.vault, flags.vault, "SIRR_VAULT", ctx ? &ctx->vault : nullptr);
  // SIRR_CACERT (as VAULT_CACERT); SIRR_CA_CERT, the earlier name, still works.
  pick(s.ca_cert, flags.ca_cert, "SIRR_CACERT", nullptr);
  pick(s.ca_cert, s.ca_cert, "SIRR_CA_CERT", ctx ? &ctx->ca_cert : nullptr);
  pick(s.client_cert, flags.client_cert, "SIRR_CLIENT_CERT", ctx ? &ctx->client_cert : nullptr);
  pick(s.client_key, flags.client_key, "SIRR_CLIENT_KEY", ctx ? &ctx->client_key : nullptr);
  if (s.client_cert.empty() != s.client_key.empty())
    return InvalidArgumentError(
        "a client certificate needs its key and the other way round (--client-cert and "
        "--client-key, or SIRR_CLIENT_CERT and SIRR_CLIENT_KEY)");
  // A token file from a flag wins; SIRR_TOKEN (read later) wins over a context's file.
  if (!flag_token_file.empty())
    s.token_file = flag_token_file;
  else if (auto v = io.env("SIRR_TOKEN_FILE"); v && !v->empty())
    s.token_file = *v;
  else if (ctx && !HasToken(io))
    s.token_file = ctx->token_file;
  return OkStatus();
}

}  // namespace

int RunCli(const std::vector<std::string>& args, Console& console, TransportFactory factory) {
  CLI::App app{
      "sirr - command-line client for the Sirr secrets vault.\n\n"
      "Connection: --server/SIRR_SERVER (default http://127.0.0.1:39999), --ca-cert/SIRR_CACERT,\n"
      "--client-cert/SIRR_CLIENT_CERT and --client-key/SIRR_CLIENT_KEY (mutual TLS),\n"
      "the token in SIRR_TOKEN or --token-file/SIRR_TOKEN_FILE, --vault/SIRR_VAULT, or a named\n"
      "context from the config file (--context/SIRR_CONTEXT; sirr context --help).\n"
      "Exit codes: 0 ok; 1 refused by the server (unknown, burned, expired, conflict, invalid,\n"
      "bad token); 2 usage error, or a sealed server for 'status'; 3 server unreachable or\n"
      "failing (5xx, 503 sealed).",
      "sirr"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", VersionLine("sirr"),
                       "Print the version, commit and build type");
  Settings settings;
  Settings flags;  // what the flags say; empty: not given
  flags.server.clear();
  flags.vault.clear();
  app.add_option("--server", flags.server, "Server URL (default http://127.0.0.1:39999)");
  app.add_option("--vault", flags.vault, "Vault id or name (default: default)");
  app.add_option("--token-file", flags.token_file,
                 "Read the bearer token from this file instead of SIRR_TOKEN");
  app.add_option("--ca-cert", flags.ca_cert,
                 "Trust this CA certificate (PEM) for an https:// server");
  app.add_option("--client-cert", flags.client_cert,
                 "Present this client certificate (PEM) to a server that requires mutual TLS");
  app.add_option("--client-key", flags.client_key, "The client certificate's private key (PEM)");
  app.add_option("--context", flags.context, "Use this named context from the config file");
  app.add_flag("--json", settings.json,
               "Machine-readable output: JSON with the API's field names (null: unlimited)");

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(SecretCommands(app));
  commands.push_back(VaultCommands(app));
  commands.push_back(TokenCommands(app));
  commands.push_back(KeyCommands(app));
  commands.push_back(OperatorCommands(app));
  commands.push_back(ShareCommand(app));
  commands.push_back(AgeCommands(app));
  commands.push_back(StatusCommand(app));
  commands.push_back(AuditCommands(app));
  commands.push_back(ContextCommands(app));
  commands.push_back(CompletionCommands(app));

  if (!args.empty() && args.front() == "__complete") {  // the completion scripts' helper
    CompleteWords(app, {args.begin() + 1, args.end()}, console.out);
    return 0;
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a reversed list
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    console.out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    console.out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    console.out << e.what() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    // Help for a subcommand: CLI11 reports it as CallForHelp on the subcommand; others are
    // usage errors. An unknown first word is named as an unknown command.
    if (e.get_exit_code() == 0) {
      const CLI::App* shown = &app;
      while (!shown->get_subcommands().empty()) shown = shown->get_subcommands().front();
      console.out << shown->help();
      return 0;
    }
    std::string message = e.what();
    const bool no_command = app.get_subcommands().empty();
    std::string first;  // the first word that is not an option or an option's value
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].starts_with("-")) {
        first = args[i];
        break;
      }
      if (args[i].find('=') == std::string::npos && args[i] != "--json") ++i;  // its value
    }
    if (no_command && !first.empty())
      message = "unknown command '" + first + "' (see sirr --help)";
    else if (no_command && dynamic_cast<const CLI::RequiredError*>(&e))
      message = "a command is required (see sirr --help)";
    else if (dynamic_cast<const CLI::ValidationError*>(&e) && message.starts_with("--"))
      message.replace(message.find(": "), 2, " ");  // "--reads must be at least 1"
    console.err << "sirr: " << message << "\n";
    return kExitUsage;
  }
  Status resolved = ResolveSettings(console, settings, flags);
  if (!resolved.ok()) {
    console.err << "sirr: " << resolved.message() << "\n";
    return kExitUsage;
  }
  Session session(std::move(settings), console, std::move(factory));
  for (auto& c : commands)
    if (c->parsed()) return c->Run(session);
  return session.Usage("a command is required (see sirr --help)");
}

}  // namespace sirr::cli
