// sirr: the Sirr command-line client.
//
// Exit codes: 0 success; 1 the server refused the request (unknown, burned or expired
// secret, conflict, invalid input, bad token); 2 usage error; 3 the server could not be
// reached or failed (5xx, including 503 sealed).

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/clock.h"
#include "base/encoding.h"
#include "cli_util.h"
#include "client/client.h"
#include "crypto/crypto.h"
#include "crypto/hd/bip39.h"
#include "seal/master_key.h"
#include "sirr_keys.h"
#include "sirr_operator.h"

namespace {

using sirr_cli::json;
using sirr_cli::kExitRefused;
using sirr_cli::kExitServer;
using sirr_cli::kExitUsage;
using sirr_cli::OrDash;
using sirr_cli::ReadAll;
using sirr_cli::Refused;
using sirr_cli::SecretBytes;
using sirr_cli::Usage;

struct Globals {
  std::string server = "http://127.0.0.1:39999";
  std::string vault = "default";
  std::string token_file;
};

sirr::StatusOr<SecretBytes> LoadToken(const Globals& g) {
  if (!g.token_file.empty()) {
    std::ifstream in(g.token_file);
    if (!in) return sirr::NotFoundError("cannot read token file " + g.token_file);
    std::string t;
    std::getline(in, t);
    SecretBytes s = SecretBytes::FromString(t);
    sirr::SecureWipe(t.data(), t.size());
    return s;
  }
  if (const char* t = std::getenv("SIRR_TOKEN")) return SecretBytes::FromString(t);
  return SecretBytes();
}

// "90", "90s", "15m", "2h", "7d" -> seconds.
sirr::StatusOr<int64_t> ParseDuration(const std::string& s) {
  if (s.empty()) return sirr::InvalidArgumentError("empty duration");
  int64_t mult = 1;
  std::string digits = s;
  switch (s.back()) {
    case 's':
      mult = 1;
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
    return sirr::InvalidArgumentError(
        "--ttl must be a number with an optional s, m, h or d suffix");
  return std::stoll(digits) * mult;
}

std::string SecretPath(const Globals& g, const std::string& name = "") {
  std::string p = "/api/v1/vaults/" + sirr::client::Client::UrlEncode(g.vault) + "/secrets";
  if (!name.empty()) p += "/" + sirr::client::Client::UrlEncode(name);
  return p;
}

// Reads the unseal phrase: from the terminal without echo, or from stdin when piped.
sirr::StatusOr<SecretBytes> ReadPhrase() {
  const bool tty = ::isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::fprintf(stderr, "Unseal key (24 words, not echoed): ");
    std::fflush(stderr);
    if (::tcgetattr(STDIN_FILENO, &old) == 0) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  }
  SecretBytes phrase;
  char c;
  while (::read(STDIN_FILENO, &c, 1) == 1) {
    if (tty && c == '\n') break;
    phrase.Append(sirr::AsBytes(std::string_view(&c, 1)));
    if (phrase.size() > 4096) break;
  }
  c = 0;
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::fprintf(stderr, "\n");
  }
  if (phrase.empty()) return sirr::InvalidArgumentError("no unseal key given");
  return phrase;
}

int Keygen(const std::string& out) {
  SecretBytes key = sirr::crypto::SecureRandom::Get().RandomSecret(32);
  auto mnemonic = sirr::crypto::hd::EntropyToMnemonic(key.reveal());
  if (!mnemonic.ok()) return Usage(mnemonic.status().message());
  const std::string hash = sirr::seal::ValidationHash(key);
  if (!out.empty()) {
    std::string err = sirr_cli::WriteKeyFile(out, key);
    if (!err.empty()) return Usage(err);
    std::printf(
        "Wrote the master key to %s (mode 0400). Keep it OUTSIDE the data directory\n"
        "and its backups; point SIRR_KEY_FILE at it.\n\n",
        out.c_str());
  }
  std::printf(
      "Unseal key (24-word BIP39 mnemonic), shown once:\n\n  %.*s\n\n"
      "Validation hash (SEAL_UNSEAL_VALIDATION_HASH; not secret):\n\n  %s\n\n"
      "The mnemonic IS the master key. Write it down and keep it offline (a safe, a sealed\n"
      "envelope, or split it with a Shamir backup), never in the database directory, a\n"
      "repository, a chat or a ticket. Anyone holding it can decrypt every secret.\n",
      static_cast<int>(mnemonic->size()), mnemonic->reveal_string().data(), hash.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Globals g;
  CLI::App app{
      "sirr - command-line client for the Sirr secrets vault.\n\n"
      "Environment: SIRR_SERVER (default http://127.0.0.1:39999), SIRR_TOKEN, SIRR_VAULT.\n"
      "Exit codes: 0 ok; 1 refused by the server (unknown, burned, expired, conflict, invalid,\n"
      "bad token); 2 usage error; 3 server unreachable or failing (5xx, 503 sealed)."};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--server", g.server, "Server URL")->envname("SIRR_SERVER")->capture_default_str();
  app.add_option("--vault", g.vault, "Vault id or name")
      ->envname("SIRR_VAULT")
      ->capture_default_str();
  app.add_option("--token-file", g.token_file,
                 "Read the bearer token from this file instead of SIRR_TOKEN");

  // push
  std::string push_name, push_value, push_file, push_ttl, push_type, push_description;
  int64_t push_reads = 0;
  bool push_overwrite = false;
  auto* push = app.add_subcommand("push", "Store a secret");
  push->add_option("NAME", push_name, "Secret name, e.g. db/prod")->required();
  auto* value_opt =
      push->add_option("--value", push_value, "The value, or - to read it from stdin");
  auto* file_opt = push->add_option("--file", push_file, "Read the value from this file");
  value_opt->excludes(file_opt);
  push->add_option("--ttl", push_ttl, "Expire after this long: 90, 90s, 15m, 2h, 7d");
  push->add_option("--reads", push_reads, "Burn after this many reads")->check(CLI::PositiveNumber);
  push->add_option("--type", push_type, "Free-form type label");
  push->add_option("--description", push_description, "Description (not secret)");
  push->add_flag("--overwrite", push_overwrite, "Replace a live secret of the same name");

  std::string name;
  auto* pull =
      app.add_subcommand("pull", "Print a secret's value (exactly, no newline); counts one read");
  pull->add_option("NAME", name, "Secret name or id")->required();
  auto* rm = app.add_subcommand("rm", "Delete a secret");
  rm->add_option("NAME", name, "Secret name or id")->required();
  bool json_out = false;
  auto* inspect = app.add_subcommand("inspect", "Show a secret's metadata without using up a read");
  inspect->add_option("NAME", name, "Secret name or id")->required();
  inspect->add_flag("--json", json_out, "Print JSON");
  std::string list_prefix, list_type;
  auto* list = app.add_subcommand("list", "List live secrets (metadata only, never values)");
  list->add_flag("--json", json_out, "Print JSON");
  list->add_option("--prefix", list_prefix, "Only names starting with this");
  list->add_option("--type", list_type, "Only this type");

  // vault
  auto* vault = app.add_subcommand("vault", "Vaults: create, list, show, rm");
  vault->require_subcommand(1);
  std::string vault_name, vault_description;
  bool vault_force = false;
  auto* vault_create = vault->add_subcommand("create", "Create a vault with its own master key");
  vault_create->add_option("NAME", vault_name, "Vault name (letters, digits, . _ -)")->required();
  vault_create->add_option("--description", vault_description, "Description (not secret)");
  vault_create->add_flag("--json", json_out, "Print JSON");
  auto* vault_list = vault->add_subcommand("list", "List the vaults this token can see");
  vault_list->add_flag("--json", json_out, "Print JSON");
  auto* vault_show = vault->add_subcommand("show", "Show one vault");
  vault_show->add_option("VAULT", vault_name, "Vault id or name")->required();
  vault_show->add_flag("--json", json_out, "Print JSON");
  auto* vault_rm = vault->add_subcommand(
      "rm", "Delete a vault (refused while it holds secrets, unless --force)");
  vault_rm->add_option("VAULT", vault_name, "Vault id or name")->required();
  vault_rm->add_flag("--force", vault_force,
                     "Destroy the vault key and every secret in the vault (crypto-shredding)");

  // token
  auto* tok = app.add_subcommand("token", "API tokens: create, list, revoke");
  tok->require_subcommand(1);
  std::string token_name, token_ttl, token_id;
  std::vector<std::string> token_vaults, token_caps;
  int64_t token_uses = 0;
  auto* token_create = tok->add_subcommand(
      "create",
      "Create an API token; prints the token (shown once) on stdout, its details on stderr");
  token_create->add_option("--name", token_name, "What the token is for")->required();
  token_create
      ->add_option("--cap", token_caps,
                   "Capability (repeat or comma-separate): secrets:read, secrets:write, "
                   "secrets:delete, secrets:list, keys:create, keys:read, keys:use, "
                   "keys:delete, vaults:create, vaults:delete, tokens:manage, admin")
      ->required()
      ->delimiter(',');
  token_create
      ->add_option("--vault", token_vaults,
                   "Vault id or name the token may use (repeat; '*' for every vault)")
      ->delimiter(',');
  token_create->add_option("--ttl", token_ttl, "Expire after this long: 90, 90s, 15m, 2h, 7d");
  token_create->add_option("--max-uses", token_uses, "Stop working after this many requests")
      ->check(CLI::PositiveNumber);
  token_create->add_flag("--json", json_out, "Print the whole response as JSON");
  auto* token_list = tok->add_subcommand("list", "List tokens (metadata only, never values)");
  token_list->add_flag("--json", json_out, "Print JSON");
  auto* token_revoke = tok->add_subcommand("revoke", "Revoke a token at once");
  token_revoke->add_option("ID", token_id, "Token id")->required();

  // operator, status
  sirr_cli::KeyCommands keys(app);

  auto* op = app.add_subcommand("operator",
                                "Operator commands: keygen, unseal, seal, shamir, rotate, backup");
  op->require_subcommand(1);
  std::string keygen_out;
  auto* keygen = op->add_subcommand(
      "keygen",
      "Generate a new master key locally: prints its 24-word mnemonic and validation hash once; "
      "with --out also writes the base64 key file (mode 0400)");
  keygen->add_option("--out", keygen_out, "Write the key file here (never overwrites)");
  std::string unseal_key_file;
  auto* unseal = op->add_subcommand(
      "unseal",
      "Unseal the server with the master key: the 24 words read from the terminal without "
      "echo, or from stdin when piped, or --key-file. Base64 and hex spellings are turned into "
      "the mnemonic locally. No token needed.");
  unseal->add_option("--key-file", unseal_key_file,
                     "Read the key from this file (base64, hex or 24 words)");
  auto* seal = op->add_subcommand("seal", "Seal the server now (admin token): wipes every key");
  bool rotate_no_wait = false;
  auto* rotate = op->add_subcommand(
      "rotate",
      "Rewrap every vault key under the new master key (sirrd started with SIRR_KEY_FILE and "
      "SIRR_KEY_FILE_NEW; admin token); shows progress until done");
  rotate->add_flag("--no-wait", rotate_no_wait, "Start the rotation and return at once");
  std::string backup_file;
  auto* backup = op->add_subcommand(
      "backup",
      "Take a consistent online snapshot of the server's database (admin token) into FILE "
      "(mode 0600, never overwritten); prints its SHA-256. It holds no plaintext secrets; the "
      "master key is NOT in it: back the key up separately and store it apart.");
  backup->add_option("FILE", backup_file, "Where to write the backup")->required();
  auto* shamir =
      op->add_subcommand("shamir",
                         "Split the master key into shares for custodians, or rebuild it (local; "
                         "share-compatible with Debian's ssss-split/ssss-combine in hex mode)");
  shamir->require_subcommand(1);
  int shamir_t = 0, shamir_n = 0;
  std::string shamir_in, shamir_out;
  auto* shamir_split =
      shamir->add_subcommand("split", "Print N shares of the key, any T of which rebuild it");
  shamir_split->add_option("-t,--threshold", shamir_t, "Shares needed to rebuild (2-255)")
      ->required();
  shamir_split->add_option("-n,--shares", shamir_n, "Shares to make (T-255)")->required();
  shamir_split->add_option("--in", shamir_in,
                           "Key file (base64, hex or 24 words); default: the key on stdin");
  auto* shamir_combine = shamir->add_subcommand(
      "combine", "Read T or more shares from stdin (one per line) and write the key file");
  shamir_combine->add_option("-t,--threshold", shamir_t, "The split's threshold")->required();
  shamir_combine->add_option("--out", shamir_out,
                             "Write the key file here (mode 0400, never overwrites); default "
                             "stdout");
  auto* status = app.add_subcommand("status", "Show the server's seal status and key versions");
  status->add_flag("--json", json_out, "Print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  if (shamir_split->parsed()) return sirr_cli::ShamirSplitCommand(shamir_t, shamir_n, shamir_in);
  if (shamir_combine->parsed()) return sirr_cli::ShamirCombineCommand(shamir_t, shamir_out);

  auto token = LoadToken(g);
  if (!token.ok()) return Usage(token.status().message());
  sirr::client::Client client(g.server, std::move(token).value());
  auto call = [&](const std::string& method, const std::string& path,
                  const std::string& body = "") -> sirr::StatusOr<sirr::client::HttpResponse> {
    return client.Do(method, path, body);
  };

  // Sends a request and checks the status: nullopt on success (the response in *out),
  // else the exit code after printing the error.
  auto expect = [&](const std::string& method, const std::string& path, int want,
                    sirr::client::HttpResponse* out,
                    const std::string& body = "") -> std::optional<int> {
    auto r = call(method, path, body);
    if (!r.ok()) {
      std::fprintf(stderr, "sirr: %s\n", r.status().message().c_str());
      return kExitServer;
    }
    if (r->status != want) return Refused(*r);
    *out = std::move(r).value();
    return std::nullopt;
  };

  // Every page of a listing route (rpp=1000) into *all; `query` is extra "&k=v" parameters.
  auto fetch_all = [&](const std::string& path, const std::string& query,
                       json* all) -> std::optional<int> {
    sirr::client::HttpResponse r;
    for (int page = 1;; ++page) {
      if (auto rc = expect("GET", path + "?rpp=1000&page=" + std::to_string(page) + query, 200, &r))
        return rc;
      auto j = json::parse(r.body, nullptr, false);
      if (!j.is_array()) return std::fprintf(stderr, "sirr: unexpected response\n"), kExitServer;
      for (auto& e : j) all->push_back(e);
      long total = std::atol(r.headers["x-total-results-count"].c_str());
      if (j.size() < 1000 || static_cast<long>(all->size()) >= total) return std::nullopt;
    }
  };

  if (keygen->parsed()) return Keygen(keygen_out);
  if (rotate->parsed()) {
    sirr::client::HttpResponse r;
    if (auto rc = expect("POST", "/api/v1/admin/rotate-keys", 202, &r, "{}")) return *rc;
    auto started = json::parse(r.body, nullptr, false);
    const std::string job = started.value("job_id", std::string());
    std::fprintf(stderr, "rotation job %s: %lld vault key(s) to rewrap\n", job.c_str(),
                 static_cast<long long>(started.value("total", 0)));
    if (rotate_no_wait) return std::printf("%s\n", job.c_str()), 0;
    const bool tty = ::isatty(STDERR_FILENO);
    for (;;) {
      if (auto rc = expect("GET", "/api/v1/admin/rotate-keys", 200, &r)) return *rc;
      auto st = json::parse(r.body, nullptr, false);
      const long long total = st.value("total", 0), done = st.value("done", 0);
      const std::string state = st.value("state", std::string());
      const int width = 40;
      const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
      std::string bar(static_cast<size_t>(filled), '#');
      bar.resize(width, '.');
      if (tty || state != "running")
        std::fprintf(stderr, "%s[%s] %lld/%lld rewrapped, %lld failed%s", tty ? "\r" : "",
                     bar.c_str(), done, total, static_cast<long long>(st.value("failed", 0)),
                     state == "running" ? "" : "\n");
      if (state != "running") {
        if (state == "completed") {
          std::printf("rotation completed: %lld vault key(s) now under key version %d\n", done,
                      st.value("to_version", 0));
          return 0;
        }
        std::fprintf(stderr, "sirr: rotation %s: %s\n", state.c_str(),
                     st.value("detail", std::string()).c_str());
        return kExitRefused;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  if (backup->parsed()) {
    int fd = ::open(backup_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      return Usage("cannot create " + backup_file + ": " + std::strerror(errno) +
                   " (an existing file is never overwritten)");
    sirr::client::HttpResponse r;
    if (auto rc = expect("POST", "/api/v1/admin/backup", 200, &r, "{}")) {
      ::close(fd);
      ::unlink(backup_file.c_str());
      return *rc;
    }
    const std::string sum = sirr::HexEncode(sirr::crypto::Sha256(sirr::AsBytes(r.body)));
    bool ok = sum == r.headers["x-sirr-backup-sha256"] &&
              ::write(fd, r.body.data(), r.body.size()) == static_cast<ssize_t>(r.body.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      ::unlink(backup_file.c_str());
      return std::fprintf(stderr,
                          "sirr: backup transfer failed (checksum mismatch or write error)\n"),
             kExitServer;
    }
    std::printf("wrote %s (%zu bytes, mode 0600)\nsha256 %s\n", backup_file.c_str(), r.body.size(),
                sum.c_str());
    std::fprintf(stderr,
                 "The backup holds no plaintext and is useless without the master key; keep the "
                 "key (or its Shamir shares) apart from database backups.\n");
    return 0;
  }
  if (keys.parsed()) return keys.Run(g.vault, expect, fetch_all);
  if (vault->parsed()) {
    sirr::client::HttpResponse r;
    const std::string base = "/api/v1/vaults";
    if (vault_create->parsed()) {
      json body{{"name", vault_name}};
      if (!vault_description.empty()) body["description"] = vault_description;
      if (auto rc = expect("POST", base, 201, &r, body.dump())) return *rc;
      auto j = json::parse(r.body, nullptr, false);
      if (json_out)
        std::printf("%s\n", j.dump(2).c_str());
      else
        std::printf("created vault %s (id %s)\n", vault_name.c_str(),
                    OrDash(j.value("id", json())).c_str());
      return 0;
    }
    if (vault_show->parsed()) {
      if (auto rc =
              expect("GET", base + "/" + sirr::client::Client::UrlEncode(vault_name), 200, &r))
        return *rc;
      auto j = json::parse(r.body, nullptr, false);
      if (json_out) {
        std::printf("%s\n", j.dump(2).c_str());
      } else {
        std::printf(
            "name:        %s\nid:          %s\ncreated:     %s\nowner:       %s\n"
            "description: %s\n",
            OrDash(j.value("name", json())).c_str(), OrDash(j.value("id", json())).c_str(),
            OrDash(j.value("created_at", json())).c_str(), OrDash(j.value("owner", json())).c_str(),
            OrDash(j.value("description", json())).c_str());
      }
      return 0;
    }
    if (vault_rm->parsed()) {
      if (auto rc = expect("DELETE",
                           base + "/" + sirr::client::Client::UrlEncode(vault_name) +
                               (vault_force ? "?force=true" : ""),
                           204, &r))
        return *rc;
      std::printf("deleted vault %s%s\n", vault_name.c_str(),
                  vault_force ? " (vault key destroyed with everything in it)" : "");
      return 0;
    }
    json all = json::array();
    if (auto rc = fetch_all(base, "", &all)) return *rc;
    if (json_out) return std::printf("%s\n", all.dump(2).c_str()), 0;
    std::printf("%-24s %-36s %-24s %s\n", "NAME", "ID", "CREATED", "OWNER");
    for (auto& e : all)
      std::printf("%-24s %-36s %-24s %s\n", OrDash(e.value("name", json())).c_str(),
                  OrDash(e.value("id", json())).c_str(),
                  OrDash(e.value("created_at", json())).c_str(),
                  OrDash(e.value("owner", json())).c_str());
    return 0;
  }
  if (tok->parsed()) {
    sirr::client::HttpResponse r;
    if (token_create->parsed()) {
      json body{{"name", token_name}, {"capabilities", token_caps}, {"vaults", token_vaults}};
      if (!token_ttl.empty()) {
        auto ttl = ParseDuration(token_ttl);
        if (!ttl.ok()) return Usage(ttl.status().message());
        body["ttl_seconds"] = *ttl;
      }
      if (token_uses > 0) body["max_uses"] = token_uses;
      if (auto rc = expect("POST", "/api/v1/tokens", 201, &r, body.dump())) return *rc;
      auto j = json::parse(r.body, nullptr, false);
      if (!j.is_object() || !j.contains("token") || !j["token"].is_string())
        return std::fprintf(stderr, "sirr: unexpected response\n"), kExitServer;
      std::string& value = j["token"].get_ref<std::string&>();
      if (json_out) {
        std::string text = j.dump(2);
        std::printf("%s\n", text.c_str());
        sirr::SecureWipe(text.data(), text.size());
      } else {
        std::printf("%s\n", value.c_str());
        std::fprintf(stderr,
                     "token %s (id %s): %s on %s; expires %s; max uses %s. Shown once: store it "
                     "now.\n",
                     token_name.c_str(), OrDash(j.value("id", json())).c_str(),
                     j.value("capabilities", json::array()).dump().c_str(),
                     j.value("vaults", json::array()).dump().c_str(),
                     OrDash(j.value("expires_at", json())).c_str(),
                     OrDash(j.value("max_uses", json())).c_str());
      }
      sirr::SecureWipe(value.data(), value.size());
      return 0;
    }
    if (token_revoke->parsed()) {
      if (auto rc = expect("DELETE", "/api/v1/tokens/" + sirr::client::Client::UrlEncode(token_id),
                           204, &r))
        return *rc;
      std::printf("revoked token %s\n", token_id.c_str());
      return 0;
    }
    if (auto rc = expect("GET", "/api/v1/tokens", 200, &r)) return *rc;
    auto all = json::parse(r.body, nullptr, false);
    if (!all.is_array()) return std::fprintf(stderr, "sirr: unexpected response\n"), kExitServer;
    if (json_out) return std::printf("%s\n", all.dump(2).c_str()), 0;
    std::printf("%-36s %-16s %-8s %-24s %s\n", "ID", "NAME", "STATE", "EXPIRES", "CAPABILITIES");
    for (auto& e : all) {
      std::string caps;
      for (auto& c : e.value("capabilities", json::array()))
        caps += (caps.empty() ? "" : ",") + OrDash(c);
      std::printf("%-36s %-16s %-8s %-24s %s\n", OrDash(e.value("id", json())).c_str(),
                  OrDash(e.value("name", json())).c_str(), OrDash(e.value("state", json())).c_str(),
                  OrDash(e.value("expires_at", json())).c_str(), caps.c_str());
    }
    return 0;
  }
  if (unseal->parsed()) {
    // The server takes the mnemonic. Whatever parses as a key here (a key file; base64, hex or
    // a valid 24-word phrase typed in) is sent in its mnemonic spelling; anything else is sent
    // as typed, so that the server judges (and rate-limits) it.
    SecretBytes phrase;
    sirr::StatusOr<SecretBytes> key = sirr::InvalidArgumentError("no key");
    if (!unseal_key_file.empty()) {
      auto file = sirr::seal::ReadKeyFile(unseal_key_file);
      if (!file.ok()) return Usage(file.status().message());
      key = std::move(file->key);
    } else {
      auto typed = ReadPhrase();
      if (!typed.ok()) return Usage(typed.status().message());
      phrase = std::move(typed).value();
      key = sirr::seal::ParseMasterKey(phrase.reveal_string());
    }
    if (key.ok()) {
      auto mnemonic = sirr::crypto::hd::EntropyToMnemonic(key->reveal());
      if (!mnemonic.ok()) return Usage(mnemonic.status().message());
      phrase = std::move(mnemonic).value();
    }
    json body = json::object();  // assigned (moved), so only body's copy needs wiping
    body["key"] = std::string(phrase.reveal_string());
    std::string text = body.dump();
    auto& sent = body["key"].get_ref<std::string&>();
    sirr::SecureWipe(sent.data(), sent.size());
    auto r = call("POST", "/api/v1/unseal", text);
    sirr::SecureWipe(text.data(), text.size());
    if (!r.ok())
      return std::fprintf(stderr, "sirr: %s\n", r.status().message().c_str()), kExitServer;
    if (r->status != 204) {
      if (r->status == 429 && !r->headers["retry-after"].empty())
        std::fprintf(stderr, "sirr: retry after %s s\n", r->headers["retry-after"].c_str());
      return Refused(*r);
    }
    std::printf("unsealed\n");
    return 0;
  }
  if (seal->parsed()) {
    sirr::client::HttpResponse r;
    if (auto rc = expect("POST", "/api/v1/seal", 204, &r)) return *rc;
    std::printf("sealed\n");
    return 0;
  }
  if (status->parsed()) {
    sirr::client::HttpResponse r;
    if (auto rc = expect("GET", "/api/v1/seal-status", 200, &r)) return *rc;
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_object()) return std::fprintf(stderr, "sirr: unexpected response\n"), kExitServer;
    if (json_out) {
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf(
        "server:          %s\nsealed:          %s\ninitialized:     %s\n"
        "provider:        %s\nvalidation hash: %s\n",
        g.server.c_str(), j.value("sealed", true) ? "yes" : "no",
        j.value("initialized", false) ? "yes" : "no", j.value("provider", std::string("?")).c_str(),
        j.value("validation_hash_configured", false) ? "configured" : "not configured");
    for (const auto& v : j.value("key_versions", json::array()))
      std::printf("key version %s:   id %s, %s\n", OrDash(v.value("version", json())).c_str(),
                  OrDash(v.value("key_id", json())).c_str(),
                  OrDash(v.value("state", json())).c_str());
    return 0;
  }

  if (push->parsed()) {
    SecretBytes value;
    if (*file_opt) {
      std::ifstream in(push_file, std::ios::binary);
      if (!in) return Usage("cannot read --file " + push_file);
      auto v = ReadAll(in);
      if (!v.ok()) return Usage(v.status().message());
      value = std::move(v).value();
    } else if (*value_opt && push_value == "-") {
      auto v = ReadAll(std::cin);
      if (!v.ok()) return Usage(v.status().message());
      value = std::move(v).value();
    } else if (*value_opt) {
      value = SecretBytes::FromString(push_value);
      sirr::SecureWipe(push_value.data(), push_value.size());
    } else {
      return Usage("push needs --value V, --value - (stdin) or --file F");
    }
    json body;
    body["name"] = push_name;
    // Binary values travel base64-encoded; text as is.
    std::string encoded = sirr::Base64Encode(value.reveal());
    body["value"] = encoded;
    body["encoding"] = "base64";
    sirr::SecureWipe(encoded.data(), encoded.size());
    if (!push_ttl.empty()) {
      auto ttl = ParseDuration(push_ttl);
      if (!ttl.ok()) return Usage(ttl.status().message());
      body["ttl_seconds"] = *ttl;
    }
    if (push_reads > 0) body["max_reads"] = push_reads;
    if (!push_type.empty()) body["type"] = push_type;
    if (!push_description.empty()) body["description"] = push_description;
    std::string payload = body.dump();
    auto& v = body["value"].get_ref<std::string&>();
    sirr::SecureWipe(v.data(), v.size());
    sirr::client::HttpResponse r;
    auto rc =
        expect("POST", SecretPath(g) + (push_overwrite ? "?overwrite=true" : ""), 201, &r, payload);
    sirr::SecureWipe(payload.data(), payload.size());
    if (rc) return *rc;
    auto meta = json::parse(r.body, nullptr, false);
    std::printf("pushed %s (id %s, expires %s, reads left %s)\n", push_name.c_str(),
                OrDash(meta.value("id", json())).c_str(),
                OrDash(meta.value("expires_at", json())).c_str(),
                OrDash(meta.value("reads_remaining", json())).c_str());
    return 0;
  }

  if (pull->parsed()) {
    sirr::client::HttpResponse r;
    if (auto rc = expect("GET", SecretPath(g, name), 200, &r)) return *rc;
    auto j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("value") || !j["value"].is_string())
      return std::fprintf(stderr, "sirr: unexpected response from the server\n"), kExitServer;
    std::string& v = j["value"].get_ref<std::string&>();
    int rc = 0;
    if (j.value("encoding", "") == "base64") {
      auto bytes = sirr::Base64DecodeSecret(v);
      if (!bytes.ok())
        rc = kExitServer;
      else
        std::fwrite(bytes->reveal().data(), 1, bytes->size(), stdout);
    } else {
      std::fwrite(v.data(), 1, v.size(), stdout);
    }
    sirr::SecureWipe(v.data(), v.size());
    std::fflush(stdout);
    return rc;
  }

  if (rm->parsed()) {
    sirr::client::HttpResponse r;
    if (auto rc = expect("DELETE", SecretPath(g, name), 204, &r)) return *rc;
    std::printf("deleted %s\n", name.c_str());
    return 0;
  }

  if (inspect->parsed()) {
    auto r = call("HEAD", SecretPath(g, name));
    if (!r.ok())
      return std::fprintf(stderr, "sirr: %s\n", r.status().message().c_str()), kExitServer;
    if (r->status != 200 && r->status != 410) {
      if (r->status == 404)
        return std::fprintf(stderr, "sirr: secret '%s' not found\n", name.c_str()), kExitRefused;
      if (r->status == 401)
        return std::fprintf(stderr, "sirr: invalid or missing token (set SIRR_TOKEN)\n"),
               kExitRefused;
      return std::fprintf(stderr, "sirr: HTTP %d\n", r->status),
             r->status >= 500 ? kExitServer : kExitRefused;
    }
    auto h = [&](const char* k) {
      auto it = r->headers.find(k);
      return it == r->headers.end() ? std::string("-") : it->second;
    };
    if (json_out) {
      json j{{"id", h("x-secret-id")},
             {"name", h("x-secret-name")},
             {"type", h("x-secret-type")},
             {"state", h("x-secret-state")},
             {"created_at", h("x-secret-created-at")},
             {"expires_at", h("x-secret-expires-at")},
             {"reads_remaining", h("x-secret-reads-remaining")}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf(
          "name:            %s\nid:              %s\ntype:            %s\nstate:           %s\n"
          "created:         %s\nexpires:         %s\nreads left:      %s\n",
          h("x-secret-name").c_str(), h("x-secret-id").c_str(), h("x-secret-type").c_str(),
          h("x-secret-state").c_str(), h("x-secret-created-at").c_str(),
          h("x-secret-expires-at").c_str(), h("x-secret-reads-remaining").c_str());
    }
    return r->status == 200 ? 0 : kExitRefused;
  }

  if (list->parsed()) {
    json all = json::array();
    std::string q;
    if (!list_prefix.empty()) q += "&prefix=" + sirr::client::Client::UrlEncode(list_prefix);
    if (!list_type.empty()) q += "&type=" + sirr::client::Client::UrlEncode(list_type);
    if (auto rc = fetch_all(SecretPath(g), q, &all)) return *rc;
    if (json_out) {
      std::printf("%s\n", all.dump(2).c_str());
      return 0;
    }
    std::printf("%-40s %-24s %-24s %s\n", "NAME", "CREATED", "EXPIRES", "READS LEFT");
    for (auto& e : all) {
      std::printf("%-40s %-24s %-24s %s\n", OrDash(e.value("name", json())).c_str(),
                  OrDash(e.value("created_at", json())).c_str(),
                  OrDash(e.value("expires_at", json())).c_str(),
                  e.value("reads_remaining", json()).is_null()
                      ? "unlimited"
                      : OrDash(e["reads_remaining"]).c_str());
    }
    return 0;
  }
  return kExitUsage;
}
