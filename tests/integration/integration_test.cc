// Integration tests: start a real sirrd (port 0, temporary data dir and key file) and drive it
// through HTTP (our libcurl client) and the sirr CLI.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "client/client.h"

#include "sirrd_fixture.h"

namespace {

using namespace sirr_it;
namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------- fail-closed start-up

TEST_F(SirrdTest, FailsClosedWithoutKeyFileVariable) {
  auto r = RunSirrd({{"SIRR_KEY_FILE", ""}});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("SIRR_KEY_FILE"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "data" / "sirr.db"));
}

TEST_F(SirrdTest, FailsClosedOnMissingUnreadableOrMalformedKeyFile) {
  auto missing = RunSirrd({{"SIRR_KEY_FILE", (dir_ / "nope.key").string()}});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("nope.key"), std::string::npos);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos);

  WriteKey(dir_ / "bad.key", "correct horse battery staple-not-a-key");
  auto bad = RunSirrd({{"SIRR_KEY_FILE", (dir_ / "bad.key").string()}});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("bad.key"), std::string::npos);
  EXPECT_EQ(bad.err.find("horse"), std::string::npos) << "content leaked: " << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;

  if (geteuid() != 0) {  // root can read a mode-000 file, so this case only holds for others
    WriteKey(dir_ / "locked.key", kKeyB64, 0000);
    auto locked = RunSirrd({{"SIRR_KEY_FILE", (dir_ / "locked.key").string()}});
    EXPECT_NE(locked.code, 0);
    EXPECT_NE(locked.err.find("cannot be read"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir_ / "data" / "sirr.db"));
}

TEST_F(SirrdTest, FailsClosedOnWrongKeyAndTouchesNothing) {
  ASSERT_TRUE(Start());
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"a","value":"alpha"})").status, 201);
  ASSERT_EQ(Stop(), 0);
  auto db_before = ReadFile(dir_ / "data" / "sirr.db");
  auto audit_before = ReadFile(dir_ / "data" / "audit.log");
  WriteKey(dir_ / "other.key", "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100");
  auto r = RunSirrd({{"SIRR_KEY_FILE", (dir_ / "other.key").string()}});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("does not match"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("other.key"), std::string::npos);
  EXPECT_EQ(ReadFile(dir_ / "data" / "sirr.db"), db_before);
  EXPECT_EQ(ReadFile(dir_ / "data" / "audit.log"), audit_before);
  // The right key still works, and the same key spelled as a mnemonic too.
  WriteKey(key_file_, kKeyMnemonic);
  ASSERT_TRUE(Start());
  auto got = Http("GET", kSecrets + "/a");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body)["value"], "alpha");
}

TEST_F(SirrdTest, WarnsWhenKeyFileIsGroupOrWorldReadable) {
  WriteKey(key_file_, kKeyB64, 0644);
  ASSERT_TRUE(Start());
  EXPECT_NE(ReadFile(log_).find("accessible by group or others"), std::string::npos);
}

TEST_F(SirrdTest, KeyIsReadOnceSoTheFileMayDisappear) {
  ASSERT_TRUE(Start());
  fs::remove(key_file_);
  EXPECT_EQ(Http("POST", kSecrets, R"({"name":"a","value":"v"})").status, 201);
  EXPECT_EQ(Http("GET", kSecrets + "/a").status, 200);
}

TEST_F(SirrdTest, RequiresAnAdminToken) {
  auto r = RunSirrd({{"SIRR_ADMIN_TOKEN_FILE", ""}, {"SIRR_ADMIN_TOKEN", ""}});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("admin token"), std::string::npos);
}

// ---------------------------------------------------------------- HTTP API

// systemd's Type=notify protocol, as systemd speaks it: a datagram socket in NOTIFY_SOCKET.
TEST_F(SirrdTest, NotifiesReadinessAndStoppingLikeSystemdExpects) {
  const fs::path sock = dir_ / "notify.sock";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock.string().size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, sock.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto next = [&] {
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  };
  ASSERT_TRUE(Start({{"NOTIFY_SOCKET", sock.string()}}));
  const std::string ready = next();
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("STATUS=listening on " + server_), std::string::npos) << ready;
  EXPECT_EQ(Http("GET", "/health").status, 200);  // ready means serving
  kill(pid_, SIGTERM);
  EXPECT_EQ(next(), "STOPPING=1");
  EXPECT_EQ(Stop(), 0);
  close(fd);
}

TEST_F(SirrdTest, HealthStatusAndRequestIds) {
  ASSERT_TRUE(Start());
  auto h = Http("GET", "/health", "", "");
  EXPECT_EQ(h.status, 200);
  auto j = json::parse(h.body);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["sealed"], false);
  EXPECT_FALSE(h.headers["x-request-id"].empty());
  EXPECT_EQ(Http("GET", "/status", "", "").status, 204);
}

TEST_F(SirrdTest, RejectsMissingOrWrongTokenAndAuditsIt) {
  ASSERT_TRUE(Start());
  EXPECT_EQ(Http("GET", kSecrets, "", "").status, 401);
  EXPECT_EQ(Http("GET", kSecrets, "", "wrong-token-wrong-token").status, 401);
  EXPECT_EQ(Http("POST", kSecrets, R"({"name":"a","value":"v"})", "nope").status, 401);
  EXPECT_EQ(Http("GET", kSecrets + "/a").status, 404);  // nothing stored
  std::string audit = ReadFile(dir_ / "data" / "audit.log");
  EXPECT_NE(audit.find("\"action\":\"auth.denied\""), std::string::npos);
  EXPECT_EQ(audit.find("wrong-token"), std::string::npos);
}

TEST_F(SirrdTest, SecretLifecycleOverHttp) {
  ASSERT_TRUE(Start());
  auto created = Http(
      "POST", kSecrets,
      R"({"name":"db/prod","value":"pg://u:p@h/db","type":"dsn","description":"d","ttl_seconds":3600})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto meta = json::parse(created.body);
  EXPECT_FALSE(meta.contains("value"));
  EXPECT_EQ(meta["name"], "db/prod");
  EXPECT_EQ(Http("POST", kSecrets, R"({"name":"db/prod","value":"x"})").status, 409);
  EXPECT_EQ(Http("POST", kSecrets + "?overwrite=true",
                 R"({"name":"db/prod","value":"pg://new","type":"dsn"})")
                .status,
            201);
  auto got = Http("GET", kSecrets + "/db%2Fprod");
  ASSERT_EQ(got.status, 200);
  auto j = json::parse(got.body);
  EXPECT_EQ(j["value"], "pg://new");
  for (const char* k : {"id", "created_at", "vault_id", "type", "name", "description", "value",
                        "expires_at", "reads_remaining"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(Http("GET", kSecrets + "/" + j["id"].get<std::string>()).status, 200);  // by id
  EXPECT_EQ(
      Http("GET", "/api/v1/vaults/" + j["vault_id"].get<std::string>() + "/secrets/db/prod").status,
      200);
  auto head = Http("HEAD", kSecrets + "/db%2Fprod");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["x-secret-name"], "db/prod");
  EXPECT_TRUE(head.body.empty());

  for (int i = 0; i < 5; ++i)
    Http("POST", kSecrets, R"({"name":"app/)" + std::to_string(i) + R"(","value":"v","type":"t"})");
  auto list = Http("GET", kSecrets + "?prefix=app/&rpp=2&page=2");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.headers["x-total-results-count"], "5");
  auto arr = json::parse(list.body);
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0]["name"], "app/2");
  EXPECT_FALSE(arr[0].contains("value"));
  EXPECT_EQ(json::parse(Http("GET", kSecrets + "?type=dsn").body).size(), 1u);
  EXPECT_EQ(Http("GET", kSecrets + "?rpp=0").status, 422);

  EXPECT_EQ(Http("DELETE", kSecrets + "/db%2Fprod").status, 204);
  EXPECT_EQ(Http("GET", kSecrets + "/db%2Fprod").status, 404);
  EXPECT_EQ(Http("DELETE", kSecrets + "/db%2Fprod").status, 404);
  EXPECT_EQ(Http("GET", "/api/v1/vaults/nope/secrets/x").status, 404);
}

TEST_F(SirrdTest, BadInputGetsTheRightStatusAndStoresNothing) {
  ASSERT_TRUE(Start({{"SIRR_MAX_VALUE_BYTES", "1000"}, {"SIRR_MAX_BODY_BYTES", "4096"}}));
  struct Case {
    std::string body;
    int status;
  } cases[] = {
      {"{not json", 400},
      {"[1,2]", 400},
      {R"({"name":"a","name":"b","value":"v"})", 400},
      {R"({"value":"v"})", 422},
      {R"({"name":"a"})", 422},
      {R"({"name":"a","value":""})", 422},
      {R"({"name":"/abs","value":"v"})", 422},
      {R"({"name":"a/../b","value":"v"})", 422},
      {R"({"name":"has space","value":"v"})", 422},
      {R"({"name":")" + std::string(257, 'n') + R"(","value":"v"})", 422},
      {R"({"name":"a","value":"v","ttl_seconds":0})", 422},
      {R"({"name":"a","value":"v","ttl_seconds":-5})", 422},
      {R"({"name":"a","value":"v","ttl_seconds":999999999999})", 422},
      {R"({"name":"a","value":"v","ttl_seconds":"1h"})", 422},
      {R"({"name":"a","value":"v","max_reads":0})", 422},
      {R"({"name":"a","value":")" + std::string(1001, 'x') + R"("})", 422},
      {R"({"name":"a","value":")" + std::string(5000, 'x') + R"("})", 413},
  };
  for (const auto& c : cases) {
    auto r = Http("POST", kSecrets, c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 80) << " -> " << r.body;
    if (c.status == 422) {
      EXPECT_TRUE(json::parse(r.body).contains("errors")) << r.body;
    }
  }
  EXPECT_EQ(Http("GET", kSecrets).headers["x-total-results-count"], "0");
}

TEST_F(SirrdTest, OversizedHeadersAreRefused) {
  ASSERT_TRUE(Start());
  sirr::client::Client c(server_, sirr::SecretBytes::FromString(std::string(9000, 'a')));
  auto r = c.Do("GET", kSecrets);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 431);
}

// TTL expiry is tested on an injected clock, in process: ApiRoutesTest.TtlExpiry... (and the
// sweeper in lifecycle_test.cc).

TEST_F(SirrdTest, FiftyConcurrentReadsOfAOneReadSecretYieldExactlyOneValue) {
  ASSERT_TRUE(Start({{"SIRR_THREADS", "4"}}));
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"once","value":"only-once","max_reads":1})").status,
            201);
  std::atomic<int> ok{0}, gone{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      sirr::client::Client c(server_, sirr::SecretBytes::FromString(kToken));
      auto r = c.Do("GET", kSecrets + "/once");
      if (r.ok() && r->status == 200 && r->body.find("only-once") != std::string::npos)
        ++ok;
      else if (r.ok() && r->status == 410)
        ++gone;
      else
        ++other;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(gone.load(), 49);
  EXPECT_EQ(other.load(), 0);
}

TEST_F(SirrdTest, PersistsAcrossRestartAndStoresNoPlaintext) {
  ASSERT_TRUE(Start());
  const std::string marker = "PLAINTEXT-MARKER-7f3a9c";
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"p","value":")" + marker + R"("})").status, 201);
  // While running: the database and its WAL hold no plaintext.
  for (const char* f : {"sirr.db", "sirr.db-wal"}) {
    auto p = dir_ / "data" / f;
    if (fs::exists(p)) {
      EXPECT_EQ(ReadFile(p).find(marker), std::string::npos) << f;
    }
  }
  EXPECT_EQ(ReadFile(dir_ / "data" / "audit.log").find(marker), std::string::npos);
  EXPECT_EQ(ReadFile(log_).find(marker), std::string::npos);
  ASSERT_EQ(Stop(), 0);
  for (const auto& e : fs::directory_iterator(dir_ / "data"))
    EXPECT_EQ(ReadFile(e.path()).find(marker), std::string::npos) << e.path();
  ASSERT_TRUE(Start());
  auto got = Http("GET", kSecrets + "/p");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body)["value"], marker);
}

TEST_F(SirrdTest, GracefulShutdownOnSigintAndSigterm) {
  ASSERT_TRUE(Start());
  EXPECT_EQ(Stop(SIGINT), 0);
  EXPECT_NE(ReadFile(log_).find("stopped cleanly"), std::string::npos);
  ASSERT_TRUE(Start());
  EXPECT_EQ(Stop(SIGTERM), 0);
  std::string audit = ReadFile(dir_ / "data" / "audit.log");
  EXPECT_NE(audit.find("server.stop"), std::string::npos);
}

// ---------------------------------------------------------------- audit

TEST_F(SirrdTest, AuditLogRecordsActionsWithoutValuesAndVerifies) {
  ASSERT_TRUE(Start());
  Http("POST", kSecrets, R"({"name":"a","value":"AUDIT-SECRET-VALUE","max_reads":1})");
  Http("GET", kSecrets + "/a");
  Http("GET", kSecrets + "/a");
  Http("GET", kSecrets);
  Http("POST", kSecrets, R"({"name":"b","value":"v"})");
  Http("DELETE", kSecrets + "/b");
  ASSERT_EQ(Stop(), 0);
  fs::path audit = dir_ / "data" / "audit.log";
  std::string log = ReadFile(audit);
  for (const char* action : {"server.start", "secret.create", "secret.read", "secret.burn",
                             "secret.list", "secret.delete", "server.stop"})
    EXPECT_NE(log.find(std::string("\"action\":\"") + action + "\""), std::string::npos) << action;
  EXPECT_EQ(log.find("AUDIT-SECRET-VALUE"), std::string::npos);
  EXPECT_EQ(log.find(kToken), std::string::npos);

  std::vector<std::string> verify = {"audit", "verify", audit.string()};
  auto ok = RunSirrd({}, verify);
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("OK"), std::string::npos);

  // Edit one line.
  std::string edited = log;
  edited.replace(edited.find("secret.list"), 11, "secret.lisT");
  std::ofstream(audit, std::ios::trunc) << edited;
  auto bad = RunSirrd({}, verify);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("FAIL line"), std::string::npos);

  // Truncate the last line away: caught by the head recorded in the database.
  std::string truncated = log.substr(0, log.rfind('\n', log.size() - 2) + 1);
  std::ofstream(audit, std::ios::trunc) << truncated;
  auto cut = RunSirrd({}, verify);
  EXPECT_EQ(cut.code, 1);
  EXPECT_NE(cut.out.find("truncated"), std::string::npos) << cut.out;
  // And sirrd refuses to start on a truncated log.
  auto refused = RunSirrd({});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("truncated"), std::string::npos);
}

// ---------------------------------------------------------------- CLI

TEST_F(SirrdTest, CliWalkthroughFromTheIssue) {
  ASSERT_TRUE(Start());
  auto push = Cli({"push", "db/prod", "--value", "pg://user:pass@host/db", "--ttl", "1h"});
  EXPECT_EQ(push.code, 0) << push.err;
  auto pull = Cli({"pull", "db/prod"});
  EXPECT_EQ(pull.code, 0);
  EXPECT_EQ(pull.out, "pg://user:pass@host/db");  // exactly, no newline
  EXPECT_EQ(Cli({"push", "api/key", "--value", "-", "--reads", "1"}, "s3cr3t").code, 0);
  EXPECT_EQ(Cli({"pull", "api/key"}).out, "s3cr3t");
  auto burned = Cli({"pull", "api/key"});
  EXPECT_EQ(burned.code, 1);
  EXPECT_NE(burned.err.find("burned after 1 read"), std::string::npos) << burned.err;
  auto list = Cli({"list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("db/prod"), std::string::npos);
  EXPECT_EQ(list.out.find("pg://"), std::string::npos);
  auto list_json = Cli({"list", "--json"});
  EXPECT_EQ(json::parse(list_json.out).size(), 1u);
  auto inspect = Cli({"inspect", "db/prod"});
  EXPECT_EQ(inspect.code, 0);
  EXPECT_NE(inspect.out.find("db/prod"), std::string::npos);
  EXPECT_EQ(Cli({"pull", "db/prod"}).code, 0);  // inspect used no read
  EXPECT_EQ(Cli({"rm", "db/prod"}).code, 0);
  auto unknown = Cli({"pull", "db/prod"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos);
}

TEST_F(SirrdTest, CliBinaryFileValuesRoundTripExactly) {
  ASSERT_TRUE(Start());
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  std::ofstream(dir_ / "blob.bin", std::ios::binary) << binary;
  EXPECT_EQ(Cli({"push", "blob", "--file", (dir_ / "blob.bin").string()}).code, 0);
  EXPECT_EQ(Cli({"pull", "blob"}).out, binary);
}

// The completion script in a real bash, completing from the real binary's command tree.
TEST_F(SirrdTest, CliBashCompletionCompletesCommands) {
  const std::string bin_dir = fs::path(SIRR_BIN).parent_path().string();
  auto r = Exec({"/bin/bash", "-c",
                 "source <(sirr completion bash); COMP_WORDS=(sirr vault cr); COMP_CWORD=2; "
                 "_sirr; echo \"${COMPREPLY[*]}\"; COMP_WORDS=(sirr token create --max); "
                 "COMP_CWORD=3; _sirr; echo \"${COMPREPLY[*]}\""},
                {{"PATH", bin_dir + ":/usr/bin:/bin"}}, "", dir_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "create\n--max-uses\n");
}

TEST_F(SirrdTest, CliExitCodesAndHelp) {
  ASSERT_TRUE(Start());
  EXPECT_EQ(Cli({"--help"}).code, 0);
  EXPECT_EQ(Cli({"push", "--help"}).code, 0);
  EXPECT_EQ(Cli({"push", "x"}).code, 2);  // no value
  EXPECT_EQ(Cli({"push", "x", "--value", "v", "--ttl", "1y"}).code, 2);
  EXPECT_EQ(Cli({"bogus"}).code, 2);
  EXPECT_EQ(Cli({"list"}, "", "bad-token-bad-token").code, 1);   // 401
  auto zero = Cli({"push", "x", "--value", "v", "--ttl", "0"});  // said in words, locally
  EXPECT_EQ(zero.code, 2);
  EXPECT_NE(zero.err.find("--ttl must be at least 1 second"), std::string::npos) << zero.err;
  auto reads = Cli({"push", "x", "--value", "v", "--reads", "0"});
  EXPECT_EQ(reads.code, 2);
  EXPECT_EQ(reads.err, "sirr: --reads must be at least 1 (a whole number)\n");
  auto unknown = Cli({"bogus"});
  EXPECT_EQ(unknown.err, "sirr: unknown command 'bogus' (see sirr --help)\n");
  auto missing = Cli({"push", "x", "--file", (dir_ / "nope").string()});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("No such file or directory"), std::string::npos) << missing.err;
  auto no_token =
      Exec({SIRR_BIN, "list"}, {{"SIRR_SERVER", server_}, {"SIRR_TOKEN", ""}}, "", dir_);
  EXPECT_EQ(no_token.code, 1);
  EXPECT_NE(no_token.err.find("SIRR_TOKEN"), std::string::npos) << no_token.err;
  EXPECT_NE(no_token.err.find("--token-file"), std::string::npos) << no_token.err;
  auto unreachable =
      Exec({SIRR_BIN, "list"}, {{"SIRR_SERVER", "http://127.0.0.1:1"}, {"SIRR_TOKEN", kToken}}, "",
           dir_);
  EXPECT_EQ(unreachable.code, 3);
}

}  // namespace
