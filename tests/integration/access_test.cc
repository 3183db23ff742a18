// Vaults and access control end to end: a real sirrd driven over HTTP and through the CLI.
// Capability x route matrix, vault scope, JWT principals of two organisations (tokens made by
// python3-cryptography), per-principal rate limits, crypto-shredding on a forced delete.

#include <set>

#include "sirrd_fixture.h"
#include "storage/sqlite/sqlite_storage.h"

namespace sirr_it {
namespace {

const std::vector<std::string> kCapabilities = {"secrets:read",  "secrets:write", "secrets:delete",
                                                "secrets:list",  "keys:create",   "keys:read",
                                                "keys:use",      "keys:delete",   "vaults:create",
                                                "vaults:delete", "tokens:manage", "admin"};

class AccessTest : public SirrdTest {
 protected:
  // Creates a token as admin; returns {id, value}.
  std::pair<std::string, std::string> MakeToken(const std::vector<std::string>& caps,
                                                const std::vector<std::string>& vaults,
                                                json extra = json::object()) {
    json body{{"name", "t"}, {"capabilities", caps}, {"vaults", vaults}};
    for (auto& [k, v] : extra.items()) body[k] = v;
    auto r = Http("POST", "/api/v1/tokens", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = json::parse(r.body);
    EXPECT_EQ(r.headers["cache-control"], "no-store");
    return {j["id"], j["token"]};
  }
  std::string MakeVault(const std::string& name, const std::string& token = kToken) {
    auto r = Http("POST", "/api/v1/vaults", json{{"name", name}}.dump(), token);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? json::parse(r.body)["id"].get<std::string>() : "";
  }
  void Push(const std::string& vault, const std::string& name, const std::string& value,
            const std::string& token = kToken) {
    auto r = Http("POST", "/api/v1/vaults/" + vault + "/secrets",
                  json{{"name", name}, {"value", value}}.dump(), token);
    EXPECT_EQ(r.status, 201) << r.body;
  }
};

struct Route {
  std::string label;
  // The capabilities that allow it; empty: any valid principal.
  std::set<std::string> allowed;
  int ok_status;
};

// Each capability alone, on every route that exists: allowed exactly where it should be, 403
// (naming the missing capability) everywhere else. keys:* have no routes before the keys
// issue; they are checked to be refused everywhere that needs another capability.
TEST_F(AccessTest, CapabilityRouteMatrix) {
  ASSERT_TRUE(Start({{"SIRR_RATE_LIMIT", "0"}}));
  MakeVault("m");
  Push("m", "s", "the-value");
  const std::vector<Route> routes = {
      {"POST /vaults", {"vaults:create"}, 201},
      {"GET /vaults", {}, 200},
      {"GET /vaults/m", {}, 200},
      {"DELETE /vaults/{tmp}", {"vaults:delete"}, 204},
      {"POST /vaults/m/secrets", {"secrets:write"}, 201},
      {"GET /vaults/m/secrets", {"secrets:list"}, 200},
      {"GET /vaults/m/secrets/s", {"secrets:read"}, 200},
      {"HEAD /vaults/m/secrets/s", {"secrets:read", "secrets:list"}, 200},
      {"DELETE /vaults/m/secrets/{tmp}", {"secrets:delete"}, 204},
      {"POST /tokens", {"tokens:manage"}, 201},
      {"GET /tokens", {"tokens:manage"}, 200},
      {"DELETE /tokens/{tmp}", {"tokens:manage"}, 204},
      {"POST /unsealerkey", {}, 201},
      {"POST /seal", {"admin"}, 204},
  };
  std::vector<std::string> issued;
  int n = 0;
  for (const auto& cap : kCapabilities) {
    auto [id, token] = MakeToken({cap}, {"*"});
    issued.push_back(token);
    for (const auto& route : routes) {
      ++n;
      const std::string tmp = "tmp" + std::to_string(n);
      std::string method = route.label.substr(0, route.label.find(' '));
      std::string path = "/api/v1" + route.label.substr(route.label.find(' ') + 1);
      std::string body;
      if (route.label == "POST /vaults") body = json{{"name", tmp}}.dump();
      if (route.label == "DELETE /vaults/{tmp}") {
        MakeVault(tmp);
        path = "/api/v1/vaults/" + tmp;
      }
      if (route.label == "POST /vaults/m/secrets")
        body = json{{"name", tmp}, {"value", "v"}}.dump();
      if (route.label == "DELETE /vaults/m/secrets/{tmp}") {
        Push("m", tmp, "v");
        path = "/api/v1/vaults/m/secrets/" + tmp;
      }
      if (route.label == "POST /tokens")
        body = json{{"name", "sub"}, {"capabilities", {cap}}, {"vaults", {"*"}}}.dump();
      if (route.label == "DELETE /tokens/{tmp}")
        path = "/api/v1/tokens/" + MakeToken({cap}, {"*"}).first;
      auto r = Http(method, path, body, token);
      const bool allowed = route.allowed.empty() || route.allowed.count(cap) || cap == "admin";
      if (allowed) {
        EXPECT_EQ(r.status, route.ok_status) << cap << " " << route.label << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << cap << " " << route.label << ": " << r.body;
        if (method != "HEAD") {
          const std::string needed = *route.allowed.begin();
          EXPECT_NE(r.body.find(needed), std::string::npos)
              << cap << " " << route.label << ": " << r.body;
        }
      }
      if (route.label == "POST /seal" && r.status == 204) {
        auto u = Http("POST", "/api/v1/unseal", json{{"key", kKeyMnemonic}}.dump(), "");
        ASSERT_EQ(u.status, 204) << u.body;
      }
    }
  }
  // The audit log names token principals by id and never holds a token value.
  Stop();
  const std::string audit = ReadFile(dir_ / "data" / "audit.log");
  EXPECT_NE(audit.find("\"principal\":\"token:"), std::string::npos);
  EXPECT_NE(audit.find("\"outcome\":\"denied\""), std::string::npos);
  for (const auto& t : issued) EXPECT_EQ(audit.find(t.substr(5)), std::string::npos);
}

TEST_F(AccessTest, TokenScopeHidesOtherVaultsAndBadTokensAre401) {
  ASSERT_TRUE(Start({{"SIRR_RATE_LIMIT", "0"}}));
  const std::string a = MakeVault("a");
  const std::string b = MakeVault("b");
  Push("a", "x", "in-a");
  Push("b", "x", "in-b");
  auto [id, token] = MakeToken({"secrets:read", "secrets:list"}, {"a"});
  EXPECT_EQ(json::parse(Http("GET", "/api/v1/vaults/a/secrets/x", "", token).body)["value"],
            "in-a");
  // A vault outside the scope answers exactly like one that does not exist.
  auto hidden = Http("GET", "/api/v1/vaults/b/secrets/x", "", token);
  auto missing = Http("GET", "/api/v1/vaults/zz/secrets/x", "", token);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(hidden.body)["message"], "vault 'b' not found");
  EXPECT_EQ(json::parse(missing.body)["message"], "vault 'zz' not found");
  EXPECT_EQ(Http("GET", "/api/v1/vaults/" + b, "", token).status, 404);
  auto list = Http("GET", "/api/v1/vaults", "", token);
  EXPECT_EQ(list.headers["x-total-results-count"], "1");
  EXPECT_EQ(json::parse(list.body)[0]["id"], a);
  // Expired, used-up, revoked and unknown tokens are 401.
  // (Token TTL expiry: ApiRoutesTest.TokenTtlExpiresOnTheInjectedClock, no sleeping.)
  auto [uid, once] = MakeToken({"secrets:read"}, {"a"}, {{"max_uses", 1}});
  EXPECT_EQ(Http("GET", "/api/v1/vaults/a/secrets/x", "", once).status, 200);
  auto used = Http("GET", "/api/v1/vaults/a/secrets/x", "", once);
  EXPECT_EQ(used.status, 401);
  EXPECT_EQ(json::parse(used.body)["message"], "token has been used up");
  EXPECT_EQ(Http("DELETE", "/api/v1/tokens/" + id).status, 204);
  auto revoked = Http("GET", "/api/v1/vaults/a/secrets/x", "", token);
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(json::parse(revoked.body)["message"], "token has been revoked");
  EXPECT_EQ(Http("GET", "/api/v1/vaults", "", "sirr_" + std::string(43, 'A')).status, 401);
  MakeToken({"secrets:list"}, {"a"});  // one still active
  // Listing shows metadata, states and never values or hashes.
  auto tokens = Http("GET", "/api/v1/tokens");
  ASSERT_EQ(tokens.status, 200);
  EXPECT_EQ(tokens.body.find("sirr_"), std::string::npos);
  EXPECT_EQ(tokens.body.find("hash"), std::string::npos);
  std::set<std::string> states;
  for (auto& t : json::parse(tokens.body)) states.insert(t["state"]);
  EXPECT_EQ(states, (std::set<std::string>{"active", "revoked", "used_up"}));
}

TEST_F(AccessTest, VaultCrudPaginationAndConflicts) {
  ASSERT_TRUE(Start({{"SIRR_RATE_LIMIT", "0"}}));
  auto created = Http("POST", "/api/v1/vaults", R"({"name":"prod","description":"d"})");
  ASSERT_EQ(created.status, 201);
  auto j = json::parse(created.body);
  for (const char* k : {"id", "created_at", "name", "description"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(Http("POST", "/api/v1/vaults", R"({"name":"prod"})").status, 409);
  EXPECT_EQ(Http("POST", "/api/v1/vaults", R"({"name":"bad  name"})").status, 422);
  EXPECT_EQ(Http("POST", "/api/v1/vaults", R"({"description":"x"})").status, 422);
  EXPECT_EQ(Http("POST", "/api/v1/vaults", R"({"name":)").status, 400);
  for (int i = 0; i < 5; ++i) MakeVault("v" + std::to_string(i));
  auto page = Http("GET", "/api/v1/vaults?rpp=3&page=2");
  EXPECT_EQ(page.headers["x-total-results-count"], "7");  // default, prod, v0..v4
  EXPECT_EQ(json::parse(page.body).size(), 3u);
  EXPECT_EQ(json::parse(Http("GET", "/api/v1/vaults/" + j["id"].get<std::string>()).body)["name"],
            "prod");
  Push("prod", "s", "v");
  auto conflict = Http("DELETE", "/api/v1/vaults/prod");
  EXPECT_EQ(conflict.status, 409);
  EXPECT_NE(conflict.body.find("force"), std::string::npos);
  EXPECT_EQ(Http("DELETE", "/api/v1/vaults/prod?force=maybe").status, 422);
  EXPECT_EQ(Http("DELETE", "/api/v1/vaults/prod?force=true").status, 204);
  EXPECT_EQ(Http("GET", "/api/v1/vaults/prod").status, 404);
  EXPECT_EQ(Http("DELETE", "/api/v1/vaults/v0").status, 204);  // empty: no force needed
}

// After a forced delete the database files hold neither the wrapped vault key nor any of the
// vault's ciphertexts.
TEST_F(AccessTest, ForcedDeleteCryptoShredsTheVault) {
  ASSERT_TRUE(Start({{"SIRR_RATE_LIMIT", "0"}}));
  const std::string id = MakeVault("doomed");
  for (int i = 0; i < 10; ++i)
    Push("doomed", "s" + std::to_string(i), "value-" + std::to_string(i));
  std::vector<std::string> needles;
  {
    auto storage = sirr::storage::SqliteStorage::Open((dir_ / "data" / "sirr.db").string());
    ASSERT_TRUE(storage.ok()) << storage.status();
    auto vault = (*storage)->GetVault(id, "");
    ASSERT_TRUE(vault.ok());
    needles.emplace_back(vault->wrapped_key.begin(), vault->wrapped_key.end());
    for (int i = 0; i < 10; ++i) {
      auto row = (*storage)->ReadSecret(id, "s" + std::to_string(i), 0);
      ASSERT_TRUE(row.ok());
      needles.emplace_back(row->value.begin(), row->value.end());
    }
  }
  ASSERT_EQ(Http("DELETE", "/api/v1/vaults/doomed?force=true").status, 204);
  for (const char* f : {"sirr.db", "sirr.db-wal", "sirr.db-shm"}) {
    const std::string bytes = ReadFile(dir_ / "data" / f);
    for (const auto& n : needles) EXPECT_EQ(bytes.find(n), std::string::npos) << f;
  }
  EXPECT_EQ(Http("GET", "/api/v1/vaults/" + id).status, 404);
}

TEST_F(AccessTest, RateLimitPerPrincipalWithRetryAfterAndAdminExempt) {
  ASSERT_TRUE(Start({{"SIRR_RATE_LIMIT", "0.5"}, {"SIRR_RATE_LIMIT_BURST", "3"}}));
  auto [id, token] = MakeToken({"secrets:list"}, {"*"});
  auto [id2, other] = MakeToken({"secrets:list"}, {"*"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Http("GET", kSecrets, "", token).status, 200) << i;
  auto limited = Http("GET", kSecrets, "", token);
  EXPECT_EQ(limited.status, 429);
  EXPECT_GE(std::stoi(limited.headers["retry-after"]), 1);
  EXPECT_EQ(Http("GET", kSecrets, "", other).status, 200);                    // another principal
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Http("GET", kSecrets).status, 200);  // admin exempt
}

TEST_F(AccessTest, CliManagesVaultsAndTokens) {
  ASSERT_TRUE(Start({{"SIRR_RATE_LIMIT", "0"}}));
  auto created = Cli({"vault", "create", "team", "--description", "the team"});
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_NE(created.out.find("created vault team"), std::string::npos);
  EXPECT_NE(Cli({"vault", "list"}).out.find("team"), std::string::npos);
  EXPECT_EQ(Cli({"--vault", "team", "push", "api", "--value", "k3y"}).code, 0);
  auto made = Cli({"token", "create", "--name", "ci", "--cap", "secrets:read,secrets:list",
                   "--vault", "team", "--ttl", "1h"});
  ASSERT_EQ(made.code, 0) << made.err;
  std::string token = made.out.substr(0, made.out.find('\n'));
  ASSERT_TRUE(token.starts_with("sirr_")) << made.out;
  EXPECT_NE(made.err.find("Shown once"), std::string::npos);
  auto pulled = Cli({"--vault", "team", "pull", "api"}, "", token);
  EXPECT_EQ(pulled.code, 0) << pulled.err;
  EXPECT_EQ(pulled.out, "k3y");
  auto denied = Cli({"--vault", "team", "push", "x", "--value", "y"}, "", token);
  EXPECT_EQ(denied.code, 1);
  EXPECT_NE(denied.err.find("secrets:write"), std::string::npos);
  auto hidden = Cli({"pull", "api"}, "", token);  // default vault: out of scope
  EXPECT_EQ(hidden.code, 1);
  EXPECT_NE(hidden.err.find("not found"), std::string::npos);
  auto list = Cli({"token", "list", "--json"});
  ASSERT_EQ(list.code, 0);
  const std::string id = json::parse(list.out)[0]["id"];
  EXPECT_EQ(Cli({"token", "revoke", id}).code, 0);
  EXPECT_EQ(Cli({"--vault", "team", "pull", "api"}, "", token).code, 1);
  auto busy = Cli({"vault", "rm", "team"});
  EXPECT_EQ(busy.code, 1);
  EXPECT_NE(busy.err.find("force"), std::string::npos);
  EXPECT_EQ(Cli({"vault", "rm", "team", "--force"}).code, 0);
  EXPECT_EQ(Cli({"vault", "show", "team"}).code, 1);
  EXPECT_EQ(Cli({"token", "create", "--name", "x"}).code, 2);  // --cap is required
}

// JWT principals of two organisations, with tokens signed by python3-cryptography.
class JwtAccessTest : public AccessTest {
 protected:
  static constexpr const char* kOracle = SIRR_ORACLE_DIR "/jwt_oracle.py";
  void SetUp() override {
    AccessTest::SetUp();
    auto r = Exec({"/usr/bin/python3", "-c", "import cryptography"}, {}, "", dir_);
    if (r.code != 0) GTEST_SKIP() << "python3-cryptography is not installed (install-deps.sh)";
    fs::create_directories(dir_ / "jwt");
    ASSERT_EQ(
        Exec({"/usr/bin/python3", kOracle, "keys", (dir_ / "jwt").string()}, {}, "", dir_).code, 0);
  }
  std::string Jwt(const std::string& sub, json prvd, int64_t exp_offset = 300,
                  const std::string& key = "rsa", const std::string& alg = "RS256") {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    json claims{{"sub", sub}, {"iat", now}, {"exp", now + exp_offset}, {"prvd", prvd}};
    auto r = Exec(
        {"/usr/bin/python3", kOracle, "sign", (dir_ / "jwt").string(), key, alg, claims.dump()}, {},
        "", dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  bool StartWithJwt() {
    return Start({{"SIRR_RATE_LIMIT", "0"},
                  {"SIRR_JWT_PUBLIC_KEY_FILE", (dir_ / "jwt" / "public.pem").string()}});
  }
};

TEST_F(JwtAccessTest, TwoOrganisationsNeverSeeEachOthersVaults) {
  ASSERT_TRUE(StartWithJwt());
  const std::string o1 = "0b7c6a3e-1f2d-4c5b-8a9e-0123456789ab";
  const std::string o2 = "1c8d7b4f-2a3e-4d6c-9b0f-123456789abc";
  const std::string alice =
      Jwt("user:aaaaaaaa-0000-4000-8000-000000000001", {{"organization_id", o1}});
  const std::string alex = Jwt("user:aaaaaaaa-0000-4000-8000-000000000002",
                               {{"organization_id", o1}}, 300, "ec", "ES256");
  const std::string bob = Jwt("user:bbbbbbbb-0000-4000-8000-000000000001",
                              {{"organization_id", o2}}, 300, "ed", "EdDSA");
  const std::string v1 = MakeVault("payments", alice);
  const std::string v2 = MakeVault("payments", bob);  // same name, other organisation
  ASSERT_FALSE(v1.empty());
  ASSERT_NE(v1, v2);
  Push("payments", "stripe", "org1-secret", alice);
  Push("payments", "stripe", "org2-secret", bob);
  // Same organisation, another user: sees the organisation's vault.
  EXPECT_EQ(
      json::parse(Http("GET", "/api/v1/vaults/payments/secrets/stripe", "", alex).body)["value"],
      "org1-secret");
  EXPECT_EQ(
      json::parse(Http("GET", "/api/v1/vaults/payments/secrets/stripe", "", bob).body)["value"],
      "org2-secret");
  // Across organisations: 404 for listing, reading and deleting, by id or name.
  EXPECT_EQ(Http("GET", "/api/v1/vaults/" + v1, "", bob).status, 404);
  EXPECT_EQ(Http("GET", "/api/v1/vaults/" + v1 + "/secrets/stripe", "", bob).status, 404);
  EXPECT_EQ(Http("GET", "/api/v1/vaults/" + v1 + "/secrets", "", bob).status, 404);
  EXPECT_EQ(Http("DELETE", "/api/v1/vaults/" + v1 + "?force=true", "", bob).status, 404);
  auto listed = json::parse(Http("GET", "/api/v1/vaults", "", bob).body);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], v2);
  EXPECT_EQ(listed[0]["owner"], "organization:" + o2);
  // Instance vaults are not theirs either; tokens and sealing are not for JWT principals.
  EXPECT_EQ(Http("GET", "/api/v1/vaults/default", "", alice).status, 404);
  EXPECT_EQ(Http("GET", "/api/v1/tokens", "", alice).status, 403);
  EXPECT_EQ(Http("POST", "/api/v1/seal", "", alice).status, 403);
  // The admin sees both.
  EXPECT_EQ(Http("GET", "/api/v1/vaults").headers["x-total-results-count"], "3");
  EXPECT_EQ(Http("DELETE", "/api/v1/vaults/" + v1 + "?force=true", "", alex).status, 204);
  // Audit records carry the JWT subject, never the JWT.
  Stop();
  const std::string audit = ReadFile(dir_ / "data" / "audit.log");
  EXPECT_NE(audit.find("user:bbbbbbbb-0000-4000-8000-000000000001"), std::string::npos);
  EXPECT_EQ(audit.find(bob.substr(0, 40)), std::string::npos);
}

TEST_F(JwtAccessTest, BadJwtsAre401) {
  ASSERT_TRUE(StartWithJwt());
  const std::string sub = "user:aaaaaaaa-0000-4000-8000-000000000001";
  json claims{{"sub", sub}, {"exp", 4102444800}};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/python3", kOracle});
    auto r = Exec(args, {}, "", dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Jwt(sub, json::object(), -3600), "expired"},
      {Jwt(sub, json::object(), 300, "rsa2"), "bad signature"},
      {run({"none", claims.dump()}), "alg none"},
      {run({"hs256", (dir_ / "jwt").string(), claims.dump()}), "HMAC"},
  };
  for (const auto& [token, reason] : cases) {
    auto r = Http("GET", "/api/v1/vaults", "", token);
    EXPECT_EQ(r.status, 401) << reason;
    EXPECT_NE(r.body.find(reason), std::string::npos) << r.body;
  }
  EXPECT_EQ(Http("GET", "/api/v1/vaults", "", Jwt(sub, json::object())).status, 200);
}

TEST_F(JwtAccessTest, JwtsAreRefusedWhenNotConfiguredAndBadKeyFilesStopSirrd) {
  ASSERT_TRUE(Start({{"SIRR_RATE_LIMIT", "0"}}));
  auto r = Http("GET", "/api/v1/vaults", "", Jwt("user:aaaaaaaa-0000-4000-8000-000000000001", {}));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("not enabled"), std::string::npos);
  Stop();
  std::ofstream(dir_ / "bad.pem") << "not a key\n";
  auto bad = RunSirrd({{"SIRR_JWT_PUBLIC_KEY_FILE", (dir_ / "bad.pem").string()}});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("bad.pem"), std::string::npos) << bad.err;
  auto missing = RunSirrd({{"SIRR_JWT_PUBLIC_KEY_FILE", (dir_ / "nope.pem").string()}});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("nope.pem"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace sirr_it
