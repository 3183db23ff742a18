// The route table against the real core, in process (no sirrd, no sockets): every route is
// reachable, its declared capability is the one enforced (403 without it, and the refusal is
// audited under the route's action), MayBlock follows the table, and captures are decoded.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <string>

#include "api/api.h"
#include "core/core_test_env.h"
#include "core/rotation.h"

namespace sirr::api {
namespace {

using core::testing::CoreEnv;

constexpr char kAdminToken[] = "route-test-admin-token-0123456789abcdef";

class ApiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.keeper_->Unseal(crypto::SecureRandom::Get().RandomSecret(32)).ok());
    rotation_ = std::make_unique<core::KeyRotation>(*env_.storage_, *env_.keeper_, *env_.audit_,
                                                    env_.clock_, crypto::SecureRandom::Get(), 64);
    ApiOptions options;
    options.admin_token = SecretBytes::FromString(kAdminToken);
    options.version = "test";
    options.rate_limits = {0, 0};
    options.auth_failure_limits = {0, 0};
    options.rotation = rotation_.get();
    options.backup = [] { return StatusOr<std::string>(std::string("snapshot")); };
    options.metrics = [] { return std::string("sirr_test 1\n"); };
    options.audit_search = [](const audit::AuditQuery&) {
      return StatusOr<audit::AuditPage>(audit::AuditPage{});
    };
    shares_ =
        std::make_unique<core::Shares>(*env_.storage_, *env_.keeper_, *env_.vaults_, *env_.audit_,
                                       env_.clock_, crypto::SecureRandom::Get(), 1 << 20);
    options.shares = shares_.get();
    api_ = std::make_unique<Api>(*env_.secrets_, *env_.vaults_, *env_.tokens_, *env_.keys_,
                                 *env_.keeper_, *env_.audit_, env_.clock_, std::move(options));
  }

  Response Call(std::string_view method, std::string target, std::string body,
                std::string_view bearer) {
    Request req;
    req.method = std::string(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.client = "127.0.0.1";
    req.request_id = "r" + std::to_string(++requests_);
    if (!bearer.empty()) req.headers.push_back({"authorization", "Bearer " + std::string(bearer)});
    return api_->Handle(req);
  }

  // A token with `caps` on every vault.
  std::string Token(std::vector<std::string> caps) {
    core::CreateTokenRequest r;
    r.name = "t";
    r.vaults = {"*"};
    r.capabilities = std::move(caps);
    auto created = env_.tokens_->Create(CoreEnv::Ctx(), std::move(r));
    EXPECT_TRUE(created.ok()) << created.status();
    token_id_ = created->row.id;
    return std::string(created->value.reveal_string());
  }

  // The last audit record's action.
  std::string LastAuditAction() {
    std::ifstream in(env_.dir() / "audit.log");
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    auto j = nlohmann::json::parse(last, nullptr, false);
    return j.is_object() && j.contains("action") ? j["action"].get<std::string>() : "";
  }

  // The route's pattern with sample captures, and a body that passes validation, so that the
  // capability check is what decides.
  std::string PathOf(const Route& r) {
    std::string p(r.pattern);
    for (auto [from, to] : std::map<std::string, std::string>{
             {"{vault}", "default"}, {"{key}", "k"}, {"{secret...}", "s"}, {"{id}", token_id_}}) {
      if (auto at = p.find(from); at != std::string::npos) p.replace(at, from.size(), to);
    }
    return p;
  }
  static std::string BodyOf(const Route& r) {
    const std::string p(r.pattern);
    if (r.method != "POST") return "";
    if (p.ends_with("/secrets")) return R"({"name":"n","value":"v"})";
    if (p.ends_with("/vaults")) return R"({"name":"v2"})";
    if (p.ends_with("/tokens")) return R"({"capabilities":["secrets:read"],"vaults":["*"]})";
    if (p.ends_with("/keys")) return R"({"name":"k2","spec":"AES-256-GCM"})";
    if (p.ends_with("/encrypt")) return R"({"data":"x"})";
    if (p.ends_with("/decrypt")) return R"({"data":"00"})";
    if (p.ends_with("/sign")) return R"({"message":"00"})";
    if (p.ends_with("/verify")) return R"({"message":"00","signature":"00"})";
    if (p.ends_with("/derive")) return R"({"name":"d"})";
    return "{}";
  }

  CoreEnv env_{"sirr-api-routes"};
  std::unique_ptr<core::KeyRotation> rotation_;
  std::unique_ptr<core::Shares> shares_;
  std::unique_ptr<Api> api_;
  std::string token_id_ = "00000000-0000-0000-0000-000000000000";
  int requests_ = 0;
};

TEST_F(ApiRoutesTest, EveryRouteIsReachable) {
  ASSERT_TRUE(
      Call("POST", "/api/v1/vaults/default/keys", R"({"name":"k","spec":"Ed25519"})", kAdminToken)
          .status == 201);
  for (const Route& r : Api::Routes()) {
    if (r.method == "POST" && r.pattern == "/api/v1/seal") continue;  // would seal the test
    const std::string method = r.method == "*" ? "GET" : std::string(r.method);
    Response resp = Call(method, PathOf(r), BodyOf(r), kAdminToken);
    SCOPED_TRACE(method + " " + std::string(r.pattern) + " -> " + std::to_string(resp.status) +
                 " " + resp.body);
    EXPECT_NE(resp.status, 405);
    EXPECT_FALSE(resp.status == 404 && resp.body.find("no such route") != std::string::npos);
    EXPECT_NE(resp.status, 401);
    EXPECT_NE(resp.status, 403);
  }
}

TEST_F(ApiRoutesTest, EachRouteRequiresTheCapabilityItDeclaresAndAuditsTheRefusal) {
  int checked = 0;
  for (const Route& r : Api::Routes()) {
    if (r.capability == 0 || r.access == Access::kPublic) continue;
    const std::string method = r.method == "*" ? "GET" : std::string(r.method);
    SCOPED_TRACE(method + " " + std::string(r.pattern));
    // Every capability but the route's (and never admin).
    std::vector<std::string> without;
    for (const auto& [cap, name] : core::CapabilityNames())
      if ((core::Bit(cap) & r.capability) == 0 && cap != core::Capability::kAdmin)
        without.emplace_back(name);
    const std::string lacking = Token(without);
    Response denied = Call(method, PathOf(r), BodyOf(r), lacking);
    EXPECT_EQ(denied.status, 403) << denied.body;
    if (!r.action.empty()) {
      EXPECT_EQ(LastAuditAction(), r.action);
    }
    // With just (one of) the route's capabilities, the capability is not what refuses it.
    if (r.capability & core::Bit(core::Capability::kAdmin)) continue;  // admin: token cannot
    for (const auto& [cap, name] : core::CapabilityNames()) {
      if ((core::Bit(cap) & r.capability) == 0) continue;
      Response allowed = Call(method, PathOf(r), BodyOf(r), Token({std::string(name)}));
      EXPECT_NE(allowed.status, 403) << name << ": " << allowed.body;
      EXPECT_NE(allowed.status, 401) << allowed.body;
    }
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST_F(ApiRoutesTest, SharePagesAreStrictHtmlAndSayWhenTheServerIsSealed) {
  const std::string page = "/s/0b6f7a1e-0000-4000-8000-000000000000";
  Response gone = Call("GET", page, "", "");
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(gone.body.find("data-state=\"gone\""), std::string::npos);
  bool csp = false, html = false;
  for (const auto& [k, v] : gone.headers) {
    csp |= k == "Content-Security-Policy" && v.starts_with("default-src 'none'");
    html |= k == "Content-Type" && v.starts_with("text/html");
  }
  EXPECT_TRUE(csp && html);
  EXPECT_EQ(Call("GET", "/s/assets/share.js", "", "").status, 200);
  EXPECT_EQ(Call("GET", "/s/assets/other.js", "", "").status, 404);
  env_.keeper_->Seal();
  Response sealed = Call("GET", page, "", "");
  EXPECT_EQ(sealed.status, 503);
  EXPECT_NE(sealed.body.find("data-state=\"wait\""), std::string::npos);
  Response reveal = Call("POST", "/api/v1/shares/x/reveal",
                         R"({"proof":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})", "");
  EXPECT_EQ(reveal.status, 503);
}

TEST_F(ApiRoutesTest, MayBlockFollowsTheTable) {
  for (const Route& r : Api::Routes()) {
    if (r.method == "*") continue;
    EXPECT_EQ(Api::MayBlock(r.method, PathOf(r) + "?x=1"), r.may_block) << r.pattern;
  }
  EXPECT_FALSE(Api::MayBlock("POST", "/api/v1/vaults/v/keys/k/sign"));
  EXPECT_TRUE(Api::MayBlock("POST", "/api/v1/vaults/v/keys/k/derive"));
  EXPECT_TRUE(Api::MayBlock("POST", "/admin/backup"));
  EXPECT_TRUE(Api::MayBlock("PUT", "/nowhere"));
  EXPECT_FALSE(Api::MayBlock("GET", "/nowhere"));
}

TEST_F(ApiRoutesTest, PatternsMatchSegmentsAndRestCaptures) {
  auto m = MatchPattern("/a/{x}/b/{rest...}", "/a/1/b/c/d");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0], "1");
  EXPECT_EQ((*m)[1], "c/d");
  EXPECT_FALSE(MatchPattern("/a/{x}", "/a/"));     // a capture is never empty
  EXPECT_FALSE(MatchPattern("/a/{x}", "/a/1/2"));  // one segment only
  EXPECT_FALSE(MatchPattern("/a/{x...}", "/a/"));  // nor a rest capture
  EXPECT_FALSE(MatchPattern("/a/b", "/a/bc"));
  EXPECT_FALSE(MatchPattern("/a", "/a/b"));
  EXPECT_TRUE(MatchPattern("/a/{x}", "/a/x%2Fy"));  // encoded slashes stay in the segment
}

TEST_F(ApiRoutesTest, WrongMethodsAnswer405WithAllowAndUnknownPaths404) {
  Response r = Call("PUT", "/api/v1/vaults/default/keys/k", "", kAdminToken);
  EXPECT_EQ(r.status, 405);
  std::string allow;
  for (const auto& [name, value] : r.headers)
    if (name == "Allow") allow = value;
  EXPECT_EQ(allow, "GET, DELETE");
  r = Call("GET", "/api/v1/vaults/default/keys/k/nothing", "", kAdminToken);
  EXPECT_EQ(r.status, 404);
  // Authentication still comes before 404/405 on authenticated routes.
  EXPECT_EQ(Call("PUT", "/api/v1/vaults/default", "", "").status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/nothing", "", "").status, 401);
}

// Expiry on the fake clock the core runs on: no sleeping. (These replace integration tests that
// slept 1.1 s for a one-second TTL.)
TEST_F(ApiRoutesTest, TtlExpiryMakesASecretGoneOnTheInjectedClock) {
  const std::string secrets = "/api/v1/vaults/default/secrets";
  ASSERT_EQ(
      Call("POST", secrets, R"({"name":"brief","value":"v","ttl_seconds":1})", kAdminToken).status,
      201);
  EXPECT_EQ(Call("GET", secrets + "/brief", "", kAdminToken).status, 200);
  env_.clock_.AdvanceMillis(999);
  EXPECT_EQ(Call("GET", secrets + "/brief", "", kAdminToken).status, 200);
  env_.clock_.AdvanceMillis(1);
  Response gone = Call("GET", secrets + "/brief", "", kAdminToken);
  EXPECT_EQ(gone.status, 410);
  EXPECT_NE(gone.body.find("expired"), std::string::npos) << gone.body;
  EXPECT_EQ(Call("HEAD", secrets + "/brief", "", kAdminToken).status, 410);
}

TEST_F(ApiRoutesTest, TokenTtlExpiresOnTheInjectedClock) {
  core::CreateTokenRequest r;
  r.name = "brief";
  r.vaults = {"*"};
  r.capabilities = {"secrets:list"};
  r.ttl_seconds = 1;
  auto created = env_.tokens_->Create(CoreEnv::Ctx(), std::move(r));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string token(created->value.reveal_string());
  EXPECT_EQ(Call("GET", "/api/v1/vaults", "", token).status, 200);
  env_.clock_.AdvanceSeconds(1);
  Response expired = Call("GET", "/api/v1/vaults", "", token);
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.body.find("token has expired"), std::string::npos) << expired.body;
  auto listed = nlohmann::json::parse(Call("GET", "/api/v1/tokens", "", kAdminToken).body);
  bool shown = false;
  for (const auto& t : listed)
    if (t["name"] == "brief") shown = t["state"] == "expired";
  EXPECT_TRUE(shown) << listed.dump();
}

}  // namespace
}  // namespace sirr::api
