// Integration tests of the seal (issue 3): sealed start, unseal/seal routes, every master-key
// provider (SoftHSM2 for pkcs11), brute-force slowing, and that no key is in clear in memory.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "crypto/envelope.h"
#include "seal/master_key.h"
#include "sirrd_fixture.h"
#include "storage/sqlite/sqlite_storage.h"

namespace {

using namespace sirr_it;
namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSoftHsm = "/usr/lib/softhsm/libsofthsm2.so";
constexpr const char* kSoftHsmUtil = "/usr/bin/softhsm2-util";
// A valid 24-word phrase (random entropy) that is not kKeyMnemonic. ("zoo … vote" is valid too,
// but its entropy is all 0xff: a degenerate key, refused as such.)
constexpr const char* kOtherMnemonic =
    "surprise tiny prosper rate album degree math define enhance chat midnight fancy "
    "excess race nurse scan across pole brisk elevator injury dragon victory disagree";

std::string UnsealBody(const std::string& phrase) { return json{{"key", phrase}}.dump(); }

class SealTest : public SirrdTest {
 protected:
  std::map<std::string, std::string> ApiProvider() {
    return {{"SIRR_SEAL_PROVIDER", "api"}, {"SIRR_KEY_FILE", ""}};
  }
  int Unseal(const std::string& phrase) {
    return Http("POST", "/api/v1/unseal", UnsealBody(phrase), "").status;
  }
  json SealStatus() { return json::parse(Http("GET", "/api/v1/seal-status", "", "").body); }
  std::string AuditLog() { return ReadFile(dir_ / "data" / "audit.log"); }
  std::string Message(const sirr::client::HttpResponse& r) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.contains("message")) return j["message"];
    if (j.contains("errors")) return j["errors"][0]["message"];
    return r.body;
  }
};

TEST_F(SealTest, ApiProviderStartsSealedAnswers503AndFirstUnsealInitialises) {
  ASSERT_TRUE(Start(ApiProvider()));
  // Health (Vault's sys/health codes): not initialised is 501, unless ?uninitcode= says
  // otherwise; HEAD answers the same code.
  auto health = Http("GET", "/health", "", "");
  EXPECT_EQ(health.status, 501) << health.body;
  EXPECT_EQ(json::parse(health.body)["sealed"], true);
  EXPECT_EQ(json::parse(health.body)["initialized"], false);
  EXPECT_EQ(Http("HEAD", "/health", "", "").status, 501);
  EXPECT_EQ(Http("GET", "/health?uninitcode=200", "", "").status, 200);
  EXPECT_EQ(Http("GET", "/health?uninitcode=abc", "", "").status, 422);
  EXPECT_EQ(Http("GET", "/health?uninitcode=999", "", "").status, 422);
  EXPECT_EQ(Http("GET", "/status", "", "").status, 204);
  json st = SealStatus();
  EXPECT_EQ(st["sealed"], true);
  EXPECT_EQ(st["initialized"], false);
  EXPECT_EQ(st["provider"], "api");
  EXPECT_EQ(st["key_versions"].size(), 0u);
  EXPECT_EQ(st["validation_hash_configured"], false);

  // Every other route family answers 503 before authentication or body parsing.
  struct Call {
    const char* method;
    std::string path, body, token;
  };
  std::vector<Call> calls = {
      {"GET", kSecrets, "", kToken},
      {"POST", kSecrets, R"({"name":"a","value":"b"})", kToken},
      {"POST", kSecrets, "{not json", kToken},
      {"POST", kSecrets, R"({"name":"a","value":"b"})", ""},
      {"GET", kSecrets + "/a", "", kToken},
      {"HEAD", kSecrets + "/a", "", kToken},
      {"DELETE", kSecrets + "/a", "", "wrong-token-wrong-token"},
      {"GET", "/api/v1/vaults", "", kToken},
      {"POST", "/api/v1/keys", "{", kToken},
      {"GET", "/api/v1/tokens", "", ""},
      {"GET", "/api/v1/no-such-route", "", kToken},
  };
  for (const auto& c : calls) {
    auto r = Http(c.method, c.path, c.body, c.token);
    EXPECT_EQ(r.status, 503) << c.method << " " << c.path;
    if (std::string(c.method) != "HEAD") {
      EXPECT_EQ(r.body, R"({"message":"vault is sealed"})") << c.method << " " << c.path;
    }
  }
  EXPECT_EQ(Cli({"push", "x", "--value", "y"}).code, 3);

  ASSERT_EQ(Unseal(kKeyMnemonic), 204);
  st = SealStatus();
  EXPECT_EQ(st["sealed"], false);
  EXPECT_EQ(st["initialized"], true);
  ASSERT_EQ(st["key_versions"].size(), 1u);
  EXPECT_EQ(st["key_versions"][0]["version"], 1);
  EXPECT_EQ(st["key_versions"][0]["state"], "active");
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"a","value":"alpha"})").status, 201);
  EXPECT_EQ(Http("GET", "/health", "", "").status, 200);

  // Restart: sealed again, and the same key (spelled as base64 in a key file) unseals it.
  ASSERT_EQ(Stop(), 0);
  ASSERT_TRUE(Start(ApiProvider()));
  health = Http("GET", "/health", "", "");
  EXPECT_EQ(health.status, 503) << health.body;  // initialised, sealed
  EXPECT_EQ(json::parse(health.body)["status"], "sealed");
  EXPECT_FALSE(json::parse(health.body)["version"].get<std::string>().empty());
  EXPECT_EQ(Http("GET", "/health?sealedcode=200", "", "").status, 200);
  EXPECT_EQ(Http("GET", "/health?sealedcode=429&uninitcode=200", "", "").status, 429);
  EXPECT_EQ(Http("GET", kSecrets + "/a").status, 503);
  ASSERT_EQ(Unseal(kKeyMnemonic), 204);
  EXPECT_EQ(json::parse(Http("GET", kSecrets + "/a").body)["value"], "alpha");
  ASSERT_EQ(Stop(), 0);
  ASSERT_TRUE(Start());  // file provider, base64 spelling of the same key
  EXPECT_EQ(Http("GET", kSecrets + "/a").status, 200);
}

TEST_F(SealTest, UnsealRejectsEachKindOfBadKey) {
  ASSERT_TRUE(Start(ApiProvider()));
  auto post = [&](const std::string& body) { return Http("POST", "/api/v1/unseal", body, ""); };
  EXPECT_EQ(post("{").status, 400);
  auto missing = post("{}");
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(Message(missing), "unsealer key material required");
  EXPECT_EQ(post(R"({"key":42})").status, 422);

  std::string unknown = kKeyMnemonic;
  unknown.replace(0, 7, "abandox");
  auto r = post(UnsealBody(unknown));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(Message(r).find("word 1"), std::string::npos) << Message(r);

  std::string bad_checksum = kKeyMnemonic;
  bad_checksum.replace(bad_checksum.rfind(' ') + 1, std::string::npos, "abandon");
  r = post(UnsealBody(bad_checksum));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(Message(r).find("checksum"), std::string::npos) << Message(r);

  r = post(UnsealBody(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
      "about"));  // valid 12 words: 128 bits
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(Message(r).find("24-word"), std::string::npos) << Message(r);
  EXPECT_NE(Message(r).find("128 bits"), std::string::npos) << Message(r);

  std::string words23 = kKeyMnemonic;
  words23.erase(words23.rfind(' '));
  r = post(UnsealBody(words23));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(Message(r).find("got 23"), std::string::npos) << Message(r);

  // The four malformed phrases counted as failed attempts: the address must wait.
  EXPECT_EQ(Unseal(kKeyMnemonic), 429);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_EQ(Unseal(kKeyMnemonic), 204);  // initialises
  // Unsealed: the key is still checked.
  r = post(UnsealBody(kOtherMnemonic));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Unseal(kKeyMnemonic), 204);
  // Nothing of any phrase reaches the audit log or the server log.
  for (const std::string& text : {AuditLog(), ReadFile(log_)}) {
    EXPECT_EQ(text.find("amount liar"), std::string::npos);
    EXPECT_EQ(text.find("zoo zoo"), std::string::npos);
  }
}

TEST_F(SealTest, SealWipesAndUnsealRestoresWithAnAuditedIntactChain) {
  ASSERT_TRUE(Start());
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"db","value":"pg://x"})").status, 201);
  EXPECT_EQ(Http("POST", "/api/v1/seal", "", "").status, 401);
  EXPECT_EQ(Http("POST", "/api/v1/seal", "", "wrong-token-wrong-token").status, 401);
  auto sealed = Cli({"operator", "seal"});
  EXPECT_EQ(sealed.code, 0) << sealed.err;
  EXPECT_EQ(SealStatus()["sealed"], true);
  EXPECT_EQ(Http("GET", kSecrets + "/db").status, 503);
  EXPECT_EQ(Cli({"pull", "db"}).code, 3);
  auto st = Cli({"status"});
  EXPECT_NE(st.out.find("sealed:          yes"), std::string::npos) << st.out;
  // Sealed requests are audited once the key is back.
  EXPECT_EQ(Http("GET", kSecrets + "/db", "", "bad-token-bad-token").status, 503);
  auto unsealed = Cli({"operator", "unseal"}, std::string(kKeyMnemonic) + "\n");
  EXPECT_EQ(unsealed.code, 0) << unsealed.err;
  EXPECT_EQ(unsealed.out, "unsealed\n");
  EXPECT_EQ(json::parse(Http("GET", kSecrets + "/db").body)["value"], "pg://x");
  // The CLI also takes the key file, or the base64 spelling on stdin, and sends the mnemonic.
  ASSERT_EQ(Cli({"operator", "seal"}).code, 0);
  auto from_file = Cli({"operator", "unseal", "--key-file", key_file_.string()});
  EXPECT_EQ(from_file.code, 0) << from_file.err;
  ASSERT_EQ(Cli({"operator", "seal"}).code, 0);
  auto from_b64 = Cli({"operator", "unseal"}, std::string(kKeyB64) + "\n");
  EXPECT_EQ(from_b64.code, 0) << from_b64.err;
  auto wrong = Cli({"operator", "unseal"}, std::string(kOtherMnemonic) + "\n");
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find("does not match"), std::string::npos) << wrong.err;
  EXPECT_EQ(Http("GET", kSecrets + "/db").status, 200);
  ASSERT_EQ(Stop(), 0);
  std::string audit = AuditLog();
  EXPECT_NE(audit.find(R"("action":"seal.seal")"), std::string::npos);
  EXPECT_NE(audit.find(R"("action":"seal.unseal")"), std::string::npos);
  auto verify = RunSirrd({}, {"audit", "verify", (dir_ / "data" / "audit.log").string()});
  EXPECT_EQ(verify.code, 0) << verify.out << verify.err;
  EXPECT_EQ(verify.out.rfind("OK ", 0), 0u) << verify.out;
}

TEST_F(SealTest, BruteForceIsSlowedPerAddressAndAudited) {
  ASSERT_TRUE(Start(ApiProvider()));
  ASSERT_EQ(Unseal(kKeyMnemonic), 204);
  std::vector<int> codes;
  for (int i = 0; i < 6; ++i) codes.push_back(Unseal(kOtherMnemonic));
  EXPECT_EQ(codes, (std::vector<int>{403, 403, 403, 403, 429, 429}));
  auto limited = Http("POST", "/api/v1/unseal", UnsealBody(kKeyMnemonic), "");
  EXPECT_EQ(limited.status, 429);  // even the right key must wait
  EXPECT_FALSE(limited.headers["retry-after"].empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(Unseal(kKeyMnemonic), 204);  // after the wait; success clears the address
  EXPECT_EQ(Unseal(kOtherMnemonic), 403);
  ASSERT_EQ(Stop(), 0);
  std::string audit = AuditLog();
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t p = audit.find(needle); p != std::string::npos; p = audit.find(needle, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(R"("outcome":"denied")"), 5u);
  EXPECT_EQ(count(R"("outcome":"rate_limited")"), 3u);
  EXPECT_GE(count(R"("action":"seal.unseal","target":{},"outcome":"success")"), 2u);
  EXPECT_NE(audit.find(R"("client":"127.0.0.1","action":"seal.unseal")"), std::string::npos);
  EXPECT_EQ(audit.find("zoo zoo"), std::string::npos);
}

TEST_F(SealTest, UnsealerKeyBootstrapsAnotherInstanceWithAValidationHash) {
  ASSERT_TRUE(Start());
  EXPECT_EQ(Http("POST", "/api/v1/unsealerkey", "", "").status, 401);
  auto r = Http("POST", "/api/v1/unsealerkey");
  ASSERT_EQ(r.status, 201);
  json k = json::parse(r.body);
  std::string phrase = k["key"], hash = k["validation_hash"];
  EXPECT_EQ(std::count(phrase.begin(), phrase.end(), ' '), 23);
  auto digest = sirr::crypto::Sha256(sirr::AsBytes(phrase));
  EXPECT_EQ(hash, "0x" + sirr::HexEncode(digest));
  EXPECT_EQ(SealStatus()["key_versions"].size(), 1u);  // changed nothing here
  ASSERT_EQ(Stop(), 0);

  // A second instance, bootstrapped with it.
  fs::remove_all(dir_ / "data");
  auto env = ApiProvider();
  env["SEAL_UNSEAL_VALIDATION_HASH"] = hash.substr(2);  // 0x is optional
  ASSERT_TRUE(Start(env));
  EXPECT_EQ(SealStatus()["validation_hash_configured"], true);
  auto wrong = Http("POST", "/api/v1/unseal", UnsealBody(kKeyMnemonic), "");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_NE(Message(wrong).find("SEAL_UNSEAL_VALIDATION_HASH"), std::string::npos);
  EXPECT_EQ(SealStatus()["initialized"], false);
  EXPECT_EQ(Unseal(phrase), 204);
  EXPECT_EQ(SealStatus()["initialized"], true);
  ASSERT_EQ(Stop(), 0);

  // The file provider checks the hash too, fail-closed.
  auto refused = RunSirrd({{"SEAL_UNSEAL_VALIDATION_HASH", hash}});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("SEAL_UNSEAL_VALIDATION_HASH"), std::string::npos) << refused.err;
  auto malformed = RunSirrd({{"SEAL_UNSEAL_VALIDATION_HASH", "0x1234"}});
  EXPECT_NE(malformed.code, 0);
  EXPECT_NE(malformed.err.find("64 hex"), std::string::npos) << malformed.err;
}

// ---------------------------------------------------------------- providers

TEST_F(SealTest, UnknownProviderFailsClosed) {
  auto r = RunSirrd({{"SIRR_SEAL_PROVIDER", "vault-transit"}});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("known: file, docker, env, api, pkcs11, command"), std::string::npos)
      << r.err;
}

TEST_F(SealTest, DockerProviderReadsTheSecretFileAndRestarts) {
  fs::create_directories(dir_ / "secrets");
  WriteKey(dir_ / "secrets" / "unsealerkey", kKeyMnemonic);
  std::map<std::string, std::string> env = {
      {"SIRR_SEAL_PROVIDER", "docker"},
      {"SIRR_KEY_FILE", (dir_ / "secrets" / "unsealerkey").string()}};
  ASSERT_TRUE(Start(env));
  EXPECT_NE(ReadFile(log_).find("Docker secret"), std::string::npos);
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"d","value":"docker"})").status, 201);
  ASSERT_EQ(Stop(), 0);
  ASSERT_TRUE(Start(env));
  EXPECT_EQ(json::parse(Http("GET", kSecrets + "/d").body)["value"], "docker");
  ASSERT_EQ(Stop(), 0);
  env["SIRR_KEY_FILE"] = (dir_ / "secrets" / "missing").string();
  auto r = RunSirrd(env);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
}

TEST_F(SealTest, EnvProviderWarnsUnsetsAndWipesTheVariable) {
  std::map<std::string, std::string> env = {
      {"SIRR_SEAL_PROVIDER", "env"}, {"SIRR_KEY_FILE", ""}, {"SEAL_UNSEAL_KEY", kKeyB64}};
  ASSERT_TRUE(Start(env));
  std::string log = ReadFile(log_);
  EXPECT_NE(log.find("/proc"), std::string::npos) << log;
  EXPECT_NE(log.find("docker inspect"), std::string::npos) << log;
  std::string environ = ReadFile("/proc/" + std::to_string(pid_) + "/environ");
  EXPECT_EQ(environ.find(kKeyB64), std::string::npos);
  EXPECT_EQ(environ.find("SEAL_UNSEAL_KEY"), std::string::npos);
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"e","value":"env"})").status, 201);
  ASSERT_EQ(Stop(), 0);
  env.erase("SEAL_UNSEAL_KEY");
  env["VAULT_SEAL_UNSEAL_KEY"] = kKeyMnemonic;  // the alternative name, another spelling
  ASSERT_TRUE(Start(env));
  EXPECT_EQ(json::parse(Http("GET", kSecrets + "/e").body)["value"], "env");
  ASSERT_EQ(Stop(), 0);
  auto none = RunSirrd({{"SIRR_SEAL_PROVIDER", "env"}, {"SIRR_KEY_FILE", ""}});
  EXPECT_NE(none.code, 0);
  EXPECT_NE(none.err.find("SEAL_UNSEAL_KEY"), std::string::npos) << none.err;
}

TEST_F(SealTest, CommandProviderRunsWithoutShellAndFailsClosed) {
  auto script = [&](const std::string& name, const std::string& body) {
    fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\n" << body;
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  };
  std::string good =
      script("kms-decrypt.sh", "echo \"kms helper: arg=$1\" >&2\ncat " + key_file_.string() + "\n");
  std::map<std::string, std::string> env = {
      {"SIRR_SEAL_PROVIDER", "command"},
      {"SIRR_KEY_FILE", ""},
      {"SIRR_SEAL_COMMAND", good + " \"hello world\" '$HOME'"}};
  ASSERT_TRUE(Start(env));
  std::string log = ReadFile(log_);
  // Quoting is honoured and nothing is expanded ($HOME stays literal: no shell).
  EXPECT_NE(log.find("seal command: kms helper: arg=hello world"), std::string::npos) << log;
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"c","value":"cmd"})").status, 201);
  ASSERT_EQ(Stop(), 0);
  ASSERT_TRUE(Start(env));  // restart
  EXPECT_EQ(json::parse(Http("GET", kSecrets + "/c").body)["value"], "cmd");
  ASSERT_EQ(Stop(), 0);

  env["SIRR_SEAL_COMMAND"] = script("fails.sh", "echo denied by KMS >&2\nexit 3\n");
  auto r = RunSirrd(env);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("exited with status 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("denied by KMS"), std::string::npos) << r.err;

  env["SIRR_SEAL_COMMAND"] = script("garbage.sh", "echo not-a-key\n");
  r = RunSirrd(env);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("not in a recognised format"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not-a-key"), std::string::npos) << "output leaked: " << r.err;

  env["SIRR_SEAL_COMMAND"] = script("hangs.sh", "sleep 30\n");
  env["SIRR_SEAL_COMMAND_TIMEOUT"] = "1";
  auto started = std::chrono::steady_clock::now();
  r = RunSirrd(env);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("did not finish within 1 s"), std::string::npos) << r.err;

  env["SIRR_SEAL_COMMAND"] = (dir_ / "no-such-helper").string();
  r = RunSirrd(env);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("exited with status 127"), std::string::npos) << r.err;
}

class Pkcs11Test : public SealTest {
 protected:
  void SetUp() override {
    SealTest::SetUp();
    if (!fs::exists(kSoftHsm) || !fs::exists(kSoftHsmUtil))
      GTEST_SKIP() << "SoftHSM2 is not installed (scripts/install-deps.sh installs it)";
    fs::create_directories(dir_ / "hsm" / "tokens");
    conf_ = (dir_ / "hsm" / "softhsm2.conf").string();
    std::ofstream(conf_) << "directories.tokendir = " << (dir_ / "hsm" / "tokens").string()
                         << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    std::ofstream(dir_ / "hsm" / "pin") << "123456\n";
    std::ofstream(dir_ / "hsm" / "wrong-pin") << "654321\n";
    auto init = Exec({kSoftHsmUtil, "--init-token", "--free", "--label", "sirr-test", "--so-pin",
                      "12345678", "--pin", "123456"},
                     {{"SOFTHSM2_CONF", conf_}}, "", dir_);
    ASSERT_EQ(init.code, 0) << init.err;
  }
  std::map<std::string, std::string> HsmEnv() {
    return {{"SOFTHSM2_CONF", conf_},
            {"SIRR_PKCS11_MODULE", kSoftHsm},
            {"SIRR_PKCS11_TOKEN_LABEL", "sirr-test"},
            {"SIRR_PKCS11_PIN_FILE", (dir_ / "hsm" / "pin").string()},
            {"SIRR_PKCS11_KEY_LABEL", "sirr-master"},
            {"SIRR_PKCS11_WRAPPED_KEY_FILE", (dir_ / "hsm" / "master.wrapped").string()}};
  }
  std::string conf_;
};

TEST_F(Pkcs11Test, WrapsAnExistingKeyAndUnsealsFromSoftHsm) {
  ASSERT_TRUE(Start());  // initialise with the key file
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"h","value":"hsm"})").status, 201);
  ASSERT_EQ(Stop(), 0);

  auto env = HsmEnv();
  auto wrap = RunSirrd(env, {"pkcs11", "wrap", "--from-key-file", key_file_.string()});
  ASSERT_EQ(wrap.code, 0) << wrap.err;
  EXPECT_NE(wrap.out.find("non-extractable"), std::string::npos) << wrap.out;
  EXPECT_EQ(fs::status(dir_ / "hsm" / "master.wrapped").permissions() & fs::perms::all,
            fs::perms::owner_read);
  std::string wrapped = ReadFile(dir_ / "hsm" / "master.wrapped");
  EXPECT_EQ(wrapped.find(kKeyB64), std::string::npos);
  // An independent PKCS#11 client (PyKCS11) unwraps the file with the token's key.
  if (fs::exists("/usr/lib/python3/dist-packages/PyKCS11")) {
    auto oracle = Exec({"/usr/bin/python3", SIRR_ORACLE_DIR "/pkcs11_unwrap.py"}, env, "", dir_);
    ASSERT_EQ(oracle.code, 0) << oracle.err;
    EXPECT_NE(oracle.out.find("extractable=False sensitive=True token=True value_len=32"),
              std::string::npos)
        << oracle.out;
    EXPECT_NE(
        oracle.out.find("key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
        std::string::npos)
        << oracle.out;
  } else {
    ADD_FAILURE() << "python3-pykcs11 is not installed (scripts/install-deps.sh installs it)";
  }
  // Never overwritten; an existing HSM key is not silently reused.
  auto again = RunSirrd(env, {"pkcs11", "wrap", "--from-key-file", key_file_.string()});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;

  env["SIRR_SEAL_PROVIDER"] = "pkcs11";
  env["SIRR_KEY_FILE"] = "";
  ASSERT_TRUE(Start(env));
  EXPECT_NE(ReadFile(log_).find("PKCS#11 key 'sirr-master'"), std::string::npos);
  EXPECT_EQ(json::parse(Http("GET", kSecrets + "/h").body)["value"], "hsm");
  ASSERT_EQ(Stop(), 0);
  ASSERT_TRUE(Start(env));  // restart
  EXPECT_EQ(Http("GET", kSecrets + "/h").status, 200);
  ASSERT_EQ(Stop(), 0);

  // Fail-closed: wrong PIN, unknown key label, damaged wrapped file.
  auto bad = env;
  bad["SIRR_PKCS11_PIN_FILE"] = (dir_ / "hsm" / "wrong-pin").string();
  auto r = RunSirrd(bad);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("PIN incorrect"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("654321"), std::string::npos);
  bad = env;
  bad["SIRR_PKCS11_KEY_LABEL"] = "nope";
  r = RunSirrd(bad);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("no secret key labelled 'nope'"), std::string::npos) << r.err;
  fs::permissions(dir_ / "hsm" / "master.wrapped", fs::perms::owner_write, fs::perm_options::add);
  std::string damaged = wrapped;
  damaged[40] = damaged[40] == 'A' ? 'B' : 'A';
  std::ofstream(dir_ / "hsm" / "master.wrapped") << damaged;
  r = RunSirrd(env);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cannot be unwrapped"), std::string::npos) << r.err;
}

TEST_F(Pkcs11Test, GeneratedKeyPrintsItsMnemonicOnceAndInitialises) {
  auto env = HsmEnv();
  auto wrap = RunSirrd(env, {"pkcs11", "wrap", "--generate"});
  ASSERT_EQ(wrap.code, 0) << wrap.err;
  EXPECT_NE(wrap.out.find("Validation hash"), std::string::npos) << wrap.out;
  // The printed mnemonic is the key: it unseals the instance the HSM initialised.
  auto at = wrap.out.find("\n\n  ");
  ASSERT_NE(at, std::string::npos);
  std::string phrase = wrap.out.substr(at + 4, wrap.out.find('\n', at + 4) - at - 4);
  EXPECT_EQ(std::count(phrase.begin(), phrase.end(), ' '), 23) << phrase;
  env["SIRR_SEAL_PROVIDER"] = "pkcs11";
  env["SIRR_KEY_FILE"] = "";
  ASSERT_TRUE(Start(env));
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"g","value":"gen"})").status, 201);
  ASSERT_EQ(Stop(), 0);
  ASSERT_TRUE(Start(ApiProvider()));
  EXPECT_EQ(Unseal(kKeyMnemonic), 403);
  EXPECT_EQ(Unseal(phrase), 204);
  EXPECT_EQ(json::parse(Http("GET", kSecrets + "/g").body)["value"], "gen");
}

// ---------------------------------------------------------------- memory protection

// Every readable mapping of `pid`, concatenated (needs ptrace rights: root, as in CI).
std::string ReadProcessMemory(pid_t pid, bool* ok) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::ifstream mem("/proc/" + std::to_string(pid) + "/mem", std::ios::binary);
  std::string out, line;
  *ok = maps && mem;
  while (std::getline(maps, line)) {
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &start, &end, perms) != 3) continue;
    if (perms[0] != 'r' || line.find("[vvar]") != std::string::npos) continue;
    std::string chunk(end - start, '\0');
    mem.clear();
    mem.seekg(static_cast<std::streamoff>(start));
    mem.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk.resize(static_cast<size_t>(std::max<std::streamsize>(0, mem.gcount())));
    out += chunk;
  }
  return out;
}

TEST_F(SealTest, KeysAreNotInClearInProcessMemoryWhileUnsealedAndIdle) {
  if (geteuid() != 0) GTEST_SKIP() << "reading another process's memory needs root here";
#ifdef SIRR_SANITIZED
  GTEST_SKIP() << "ASan maps terabytes of shadow memory, which cannot be scanned; the release "
                  "build runs this test";
#endif
  // A random key: the fixture's 00 01 02 .. 1f could occur in any library's tables.
  sirr::SecretBytes random_key = sirr::crypto::SecureRandom::Get().RandomSecret(32);
  const std::string key_b64 = sirr::Base64Encode(random_key.reveal());
  WriteKey(key_file_, key_b64);
  ASSERT_TRUE(Start());
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"m","value":"memory-test-value"})").status, 201);
  ASSERT_EQ(Http("GET", kSecrets + "/m").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  auto master = sirr::Base64DecodeSecret(key_b64);
  ASSERT_TRUE(master.ok());
  auto wrap = sirr::crypto::HkdfSha256(*master, {}, "sirr/v1/wrap", 32);
  auto audit = sirr::crypto::HkdfSha256(*master, {}, "sirr/v1/audit", 32);
  ASSERT_TRUE(wrap.ok() && audit.ok());
  // The default vault's key, unwrapped from the database independently.
  auto storage = sirr::storage::SqliteStorage::Open((dir_ / "data" / "sirr.db").string());
  ASSERT_TRUE(storage.ok()) << storage.status();
  auto vault = (*storage)->GetVault("default", "");
  ASSERT_TRUE(vault.ok());
  auto vault_key =
      sirr::crypto::OpenEnvelope(*wrap, sirr::crypto::DeriveKeyId(*master), vault->wrapped_key,
                                 sirr::crypto::EnvelopeAad("vault-key", vault->id, vault->id));
  ASSERT_TRUE(vault_key.ok()) << vault_key.status();

  bool ok = false;
  std::string memory = ReadProcessMemory(pid_, &ok);
  ASSERT_TRUE(ok);
  ASSERT_GT(memory.size(), 1u << 20);
  auto contains = [&](std::span<const uint8_t> needle) {
    return memory.find(std::string(reinterpret_cast<const char*>(needle.data()), needle.size())) !=
           std::string::npos;
  };
  // Positive control: the scan does see what is in memory (the data directory path).
  EXPECT_TRUE(contains(sirr::AsBytes((dir_ / "data").string())));
  EXPECT_FALSE(contains(master->reveal())) << "master key in clear";
  EXPECT_FALSE(contains(wrap->reveal())) << "wrap key in clear";
  EXPECT_FALSE(contains(audit->reveal())) << "audit key in clear";
  EXPECT_FALSE(contains(vault_key->reveal())) << "vault key in clear";
  EXPECT_FALSE(contains(sirr::AsBytes(key_b64))) << "key file text in clear";

  // Not dumpable, no core files.
  std::string limits = ReadFile("/proc/" + std::to_string(pid_) + "/limits");
  auto core = limits.find("Max core file size");
  ASSERT_NE(core, std::string::npos);
  std::istringstream fields(limits.substr(core + 18));
  std::string soft, hard;
  fields >> soft >> hard;
  EXPECT_EQ(soft, "0");
  EXPECT_EQ(hard, "0");
}

}  // namespace
