// The sirr CLI in process: RunCli with string streams and a transport that calls the real API
// over a real core (testing/in_process_server.h). No binary is forked, no socket opened.

#include "cli/cli.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "base/version.h"
#include "cli/config.h"
#include "testing/in_process_server.h"
#include "testing/temp_dir.h"

namespace sirr::cli {
namespace {

using sirr::testing::InProcessServer;
using sirr::testing::kInProcessAdminToken;

struct CliRun {
  int code = -1;
  std::string out, err;
  json Json() const { return json::parse(out, nullptr, false); }
};

class CliTest : public ::testing::Test {
 protected:
  // Runs one command line with `input` on stdin; env: SIRR_TOKEN (admin) and SIRR_CONFIG in the
  // temporary directory, plus `extra_env`.
  CliRun Cli(std::vector<std::string> args, const std::string& input = "",
             std::map<std::string, std::string> extra_env = {}) {
    std::istringstream in(input);
    std::ostringstream out, err;
    std::map<std::string, std::string> env{{"SIRR_TOKEN", kInProcessAdminToken},
                                           {"SIRR_CONFIG", (dir_ / "config").string()}};
    for (auto& [k, v] : extra_env) env[k] = v;
    Console console{in,
                    out,
                    err,
                    tty_,
                    false,
                    [this](std::string_view prompt) -> StatusOr<SecretBytes> {
                      prompts_.emplace_back(prompt);
                      return SecretBytes::FromString(typed_);
                    },
                    [env](const char* name) -> std::optional<std::string> {
                      auto it = env.find(name);
                      if (it == env.end() || it->second.empty()) return std::nullopt;
                      return it->second;
                    }};
    CliRun r;
    r.code = RunCli(args, console, server_.Factory());
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  sirr::testing::TempDir dir_{"sirr-cli-test"};
  InProcessServer server_;
  bool tty_ = false;
  std::string typed_;
  std::vector<std::string> prompts_;
};

TEST_F(CliTest, PushPullInspectListRemove) {
  CliRun pushed = Cli({"push", "db/prod", "--value", "pg://u:p@h/db", "--reads", "3"});
  ASSERT_EQ(pushed.code, 0) << pushed.err;
  EXPECT_NE(pushed.out.find("pushed db/prod"), std::string::npos);
  EXPECT_EQ(Cli({"pull", "db/prod"}).out, "pg://u:p@h/db");  // exactly, no newline
  CliRun listed = Cli({"list"});
  EXPECT_NE(listed.out.find("db/prod"), std::string::npos);
  EXPECT_EQ(listed.out.find("pg://"), std::string::npos);  // never values
  CliRun inspected = Cli({"inspect", "db/prod"});
  EXPECT_EQ(inspected.code, 0);
  EXPECT_NE(inspected.out.find("reads left:  2"), std::string::npos) << inspected.out;
  EXPECT_EQ(Cli({"rm", "db/prod"}).code, 0);
  CliRun gone = Cli({"pull", "db/prod"});
  EXPECT_EQ(gone.code, kExitRefused);
  EXPECT_EQ(gone.out, "");
}

// --json: one schema per resource with the API's field names, null for unlimited; inspect
// shows everything GET returns except the value.
TEST_F(CliTest, JsonUsesTheApiFieldNamesAndNullForUnlimited) {
  CliRun pushed = Cli({"--json", "push", "a", "--value", "v", "--description", "d", "--type", "t"});
  ASSERT_EQ(pushed.code, 0) << pushed.err;
  json p = pushed.Json();
  EXPECT_TRUE(p["expires_at"].is_null());
  EXPECT_TRUE(p["max_reads"].is_null());
  EXPECT_TRUE(p["reads_remaining"].is_null());
  json inspected = Cli({"inspect", "a", "--json"}).Json();
  json got = Cli({"pull", "a", "--json"}).Json();
  ASSERT_TRUE(got.is_object());
  EXPECT_EQ(got["value"], "v");
  got.erase("value");
  EXPECT_EQ(inspected, got);  // every field GET returns, the same values, but the value
  Cli({"push", "b", "--value", "v", "--reads", "2", "--ttl", "1h"});
  json limited = Cli({"--json", "inspect", "b"}).Json();
  EXPECT_EQ(limited["max_reads"], 2);
  EXPECT_EQ(limited["reads_remaining"], 2);
  EXPECT_TRUE(limited["expires_at"].is_string());
  json list = Cli({"--json", "list"}).Json();
  ASSERT_TRUE(list.is_array());
  EXPECT_EQ(list.size(), 2u);
  for (auto cmd : std::vector<std::vector<std::string>>{
           {"vault", "list"}, {"token", "list"}, {"key", "list"}, {"status"}}) {
    cmd.insert(cmd.begin(), "--json");
    CliRun r = Cli(cmd);
    EXPECT_EQ(r.code, 0) << cmd[1];
    EXPECT_FALSE(r.Json().is_discarded()) << cmd[1] << ": " << r.out;
    EXPECT_EQ(r.out.find("\"-\""), std::string::npos) << r.out;  // never "-"
  }
  json removed = Cli({"--json", "rm", "a"}).Json();
  EXPECT_EQ(removed["deleted"], true);
}

// --json on the commands that print something else by default: the output parses, and carries
// the API's field names.
TEST_F(CliTest, KeyOperatorAndContextCommandsPrintJson) {
  auto j = [&](std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), "--json");
    CliRun r = Cli(args, input);
    EXPECT_EQ(r.code, 0) << args[1] << " " << args[2] << ": " << r.err;
    json parsed = r.Json();
    EXPECT_TRUE(parsed.is_object()) << r.out;
    return parsed;
  };
  EXPECT_EQ(j({"key", "create", "box", "--spec", "AES-256-GCM"})["spec"], "AES-256-GCM");
  json ct = j({"key", "encrypt", "box", "hello"});
  ASSERT_TRUE(ct["data"].is_string());
  json pt = j({"key", "decrypt", "box", ct["data"]});
  EXPECT_EQ(pt["encoding"], "base64");
  EXPECT_EQ(pt["data"], "aGVsbG8=");
  j({"key", "create", "ed", "--spec", "Ed25519"});
  json sig = j({"key", "sign", "ed", "m"});
  EXPECT_TRUE(j({"key", "verify", "ed", "--signature", sig["signature"], "m"})["verified"]);
  EXPECT_EQ(j({"key", "derive", "box", "--name", "box2", "--context", "c"})["name"], "box2");
  EXPECT_EQ(j({"key", "rm", "box2"})["deleted"], true);
  json key = j({"operator", "keygen"});
  EXPECT_EQ(key["mnemonic"].get<std::string>().size() > 100, true);
  EXPECT_TRUE(key["key_file"].is_null());
  std::ofstream(dir_ / "k") << key["mnemonic"].get<std::string>() << "\n";
  json split =
      j({"operator", "shamir", "split", "-t", "2", "-n", "3", "--in", (dir_ / "k").string()});
  ASSERT_EQ(split["shares"].size(), 3u);
  EXPECT_EQ(split["validation_hash"], key["validation_hash"]);
  json combined = j(
      {"operator", "shamir", "combine", "-t", "2"},
      split["shares"][0].get<std::string>() + "\n" + split["shares"][2].get<std::string>() + "\n");
  EXPECT_EQ(combined["validation_hash"], key["validation_hash"]);
  EXPECT_EQ(j({"context", "set", "x", "--server", "http://h"})["server"], "http://h");
  EXPECT_EQ(j({"token", "create", "--name", "t", "--cap", "secrets:read"})["name"], "t");
}

TEST_F(CliTest, ValuesArePromptedWithoutEchoOnATerminalAndReadFromAPipe) {
  tty_ = true;
  typed_ = "typed secret";
  ASSERT_EQ(Cli({"push", "p"}).code, 0);
  ASSERT_EQ(prompts_.size(), 1u);
  EXPECT_NE(prompts_[0].find("not echoed"), std::string::npos);
  EXPECT_EQ(Cli({"pull", "p"}).out, "typed secret");
  tty_ = false;
  ASSERT_EQ(Cli({"push", "q"}, "piped").code, 0);
  EXPECT_EQ(Cli({"pull", "q"}).out, "piped");
  CliRun none = Cli({"push", "r"});  // not a terminal, nothing piped
  EXPECT_EQ(none.code, kExitUsage);
  EXPECT_NE(none.err.find("--file"), std::string::npos) << none.err;
}

TEST_F(CliTest, StatusExitsTwoWhenSealed) {
  CliRun open = Cli({"status"});
  EXPECT_EQ(open.code, 0) << open.err;
  EXPECT_NE(open.out.find("sealed:          no"), std::string::npos);
  server_.Seal();
  CliRun sealed = Cli({"status"});
  EXPECT_EQ(sealed.code, kExitSealed);
  EXPECT_NE(sealed.out.find("sealed:          yes"), std::string::npos);
  EXPECT_EQ(Cli({"--json", "status"}).Json()["sealed"], true);
  EXPECT_EQ(Cli({"list"}).code, kExitServer);  // 503 sealed
}

TEST_F(CliTest, ErrorsAreActionable) {
  CliRun no_token = Cli({"list"}, "", {{"SIRR_TOKEN", ""}});
  EXPECT_EQ(no_token.code, kExitRefused);
  EXPECT_NE(no_token.err.find("SIRR_TOKEN"), std::string::npos) << no_token.err;
  EXPECT_NE(no_token.err.find("--token-file"), std::string::npos);
  CliRun reads = Cli({"push", "x", "--value", "v", "--reads", "0"});
  EXPECT_EQ(reads.code, kExitUsage);
  EXPECT_EQ(reads.err, "sirr: --reads must be at least 1 (a whole number)\n");
  CliRun ttl = Cli({"push", "x", "--value", "v", "--ttl", "1y"});
  EXPECT_EQ(ttl.code, kExitUsage);
  EXPECT_NE(ttl.err.find("--ttl must be"), std::string::npos) << ttl.err;
  CliRun file = Cli({"push", "x", "--file", (dir_ / "missing").string()});
  EXPECT_EQ(file.code, kExitUsage);
  EXPECT_NE(file.err.find("No such file or directory"), std::string::npos) << file.err;
  CliRun token_file = Cli({"--token-file", (dir_ / "missing").string(), "list"});
  EXPECT_NE(token_file.err.find("No such file or directory"), std::string::npos);
  CliRun unknown = Cli({"pusj", "x"});
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_EQ(unknown.err, "sirr: unknown command 'pusj' (see sirr --help)\n");
  ASSERT_EQ(Cli({"key", "create", "r", "--spec", "RSA-2048"}).code, 0);
  CliRun no_alg = Cli({"key", "sign", "r", "m"});
  EXPECT_EQ(no_alg.code, kExitRefused);
  EXPECT_NE(no_alg.err.find("--algorithm"), std::string::npos) << no_alg.err;
  EXPECT_EQ(no_alg.err.find("options."), std::string::npos) << no_alg.err;
}

TEST_F(CliTest, VersionAndHelpWithExamples) {
  CliRun v = Cli({"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out, VersionLine("sirr") + "\n");
  EXPECT_NE(v.out.find("commit"), std::string::npos);
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"push", "--help"},
                                                               {"pull", "--help"},
                                                               {"vault", "create", "--help"},
                                                               {"token", "create", "--help"},
                                                               {"key", "sign", "--help"},
                                                               {"operator", "unseal", "--help"},
                                                               {"status", "--help"},
                                                               {"context", "--help"},
                                                               {"completion", "--help"}}) {
    CliRun h = Cli(cmd);
    EXPECT_EQ(h.code, 0) << cmd[0];
    EXPECT_NE(h.out.find("Examples:"), std::string::npos) << cmd[0] << " " << cmd[1] << h.out;
  }
}

TEST_F(CliTest, ContextsSelectServerVaultTokenFileAndCa) {
  std::ofstream(dir_ / "prod.token") << kInProcessAdminToken << "\n";
  ASSERT_EQ(Cli({"vault", "create", "payments"}).code, 0);
  CliRun set = Cli({"context", "set", "prod", "--server", "https://vault.example:8443", "--ca-cert",
                    "/etc/sirr/ca.pem", "--token-file", (dir_ / "prod.token").string(), "--vault",
                    "payments"});
  ASSERT_EQ(set.code, 0) << set.err;
  ASSERT_EQ(Cli({"context", "set", "dev", "--server", "http://127.0.0.1:1"}).code, 0);
  EXPECT_NE(Cli({"context", "list"}).out.find("* prod"), std::string::npos);
  // The current context applies; SIRR_TOKEN is unset so its token file is used.
  ASSERT_EQ(Cli({"push", "k", "--value", "v"}, "", {{"SIRR_TOKEN", ""}}).code, 0);
  EXPECT_EQ(server_.last_settings().server, "https://vault.example:8443");
  EXPECT_EQ(server_.last_settings().ca_cert, "/etc/sirr/ca.pem");
  EXPECT_EQ(server_.last_settings().vault, "payments");
  EXPECT_EQ(server_.last_token(), kInProcessAdminToken);
  EXPECT_EQ(Cli({"--vault", "payments", "pull", "k"}).out, "v");
  // --context, SIRR_CONTEXT and flags override; `use` switches.
  Cli({"--context", "dev", "status"});
  EXPECT_EQ(server_.last_settings().server, "http://127.0.0.1:1");
  Cli({"status"}, "", {{"SIRR_CONTEXT", "dev"}, {"SIRR_SERVER", "http://flag.example"}});
  EXPECT_EQ(server_.last_settings().server, "http://flag.example");
  ASSERT_EQ(Cli({"context", "use", "dev"}).code, 0);
  Cli({"status"});
  EXPECT_EQ(server_.last_settings().server, "http://127.0.0.1:1");
  EXPECT_EQ(server_.last_settings().vault, "default");
  CliRun missing = Cli({"--context", "nope", "status"});
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_NE(missing.err.find("no context named 'nope'"), std::string::npos);
  // The file holds no token, only the token file's path.
  std::ifstream config(dir_ / "config");
  std::string text((std::istreambuf_iterator<char>(config)), {});
  EXPECT_EQ(text.find(kInProcessAdminToken), std::string::npos);
  EXPECT_NE(text.find("[context \"prod\"]"), std::string::npos);
  auto reloaded = LoadConfig((dir_ / "config").string());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->current, "dev");
  EXPECT_EQ(reloaded->Find("prod")->vault, "payments");
}

TEST_F(CliTest, MalformedConfigIsRefusedWithTheLine) {
  std::ofstream(dir_ / "config") << "current-context = a\n[context \"a\"]\nsrever = x\n";
  CliRun r = Cli({"status"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("srever"), std::string::npos);
}

TEST_F(CliTest, CompletionScriptsAndCandidates) {
  CliRun vault = Cli({"__complete", "vault"});
  for (const char* sub : {"create\n", "list\n", "show\n", "rm\n", "--json\n"})
    EXPECT_NE(vault.out.find(sub), std::string::npos) << sub;
  CliRun top = Cli({"__complete"});
  for (const char* sub : {"push\n", "operator\n", "completion\n", "--context\n"})
    EXPECT_NE(top.out.find(sub), std::string::npos) << sub;
  EXPECT_NE(Cli({"__complete", "token", "create"}).out.find("--max-uses\n"), std::string::npos);
  EXPECT_NE(Cli({"completion", "bash"}).out.find("complete -o default -F _sirr sirr"),
            std::string::npos);
  EXPECT_NE(Cli({"completion", "zsh"}).out.find("compdef _sirr sirr"), std::string::npos);
  EXPECT_NE(Cli({"completion", "fish"}).out.find("complete -c sirr"), std::string::npos);
  EXPECT_EQ(Cli({"completion", "tcsh"}).code, kExitUsage);
}

TEST_F(CliTest, KeysAndVaultsByDisplayName) {
  ASSERT_EQ(Cli({"vault", "create", "vaulty vault"}).code, 0);
  ASSERT_EQ(Cli({"--vault", "vaulty vault", "key", "create", "test key", "--spec", "Ed25519"}).code,
            0);
  CliRun sig = Cli({"--vault", "vaulty vault", "key", "sign", "test key", "hello"});
  ASSERT_EQ(sig.code, 0) << sig.err;
  std::string s = sig.out.substr(0, sig.out.size() - 1);
  EXPECT_EQ(
      Cli({"--vault", "vaulty vault", "key", "verify", "test key", "--signature", s, "hello"}).out,
      "verified\n");
  ASSERT_EQ(Cli({"--vault", "vaulty vault", "key", "create", "test key", "--spec", "Ed25519"}).code,
            0);
  CliRun ambiguous = Cli({"--vault", "vaulty vault", "key", "show", "test key"});
  EXPECT_EQ(ambiguous.code, kExitRefused);
  EXPECT_NE(ambiguous.err.find("ambiguous"), std::string::npos) << ambiguous.err;
}

}  // namespace
}  // namespace sirr::cli
