// TLS through a real sirrd and the sirr CLI (issue 18): a chain certificate, mutual TLS,
// SIGHUP reload, the refusals (bad files, plain HTTP to the TLS port, TLS to the plain port,
// an untrusted or missing client certificate), the loopback-only rule, trusted proxies.
// The certificates come from tests/integration/tls_certs.py (python3-cryptography).

#include "sirrd_fixture.h"
#include "testing/subprocess.h"

namespace sirr_it {
namespace {

class TlsIt : public SirrdTest {
 protected:
  void SetUp() override {
    SirrdTest::SetUp();
    if (!sirr::testing::PythonHas("cryptography"))
      GTEST_SKIP() << "python3-cryptography is not installed (scripts/install-deps.sh)";
    certs_ = dir_ / "certs";
    fs::create_directories(certs_);
    auto made =
        sirr::testing::Run({"/usr/bin/python3", SIRR_TEST_DIR "/tls_certs.py", certs_.string()});
    ASSERT_EQ(made.exit_code, 0) << made.out;
    ca_file_ = C("root.pem");
  }
  std::string C(const std::string& name) { return (certs_ / name).string(); }
  std::map<std::string, std::string> Tls() {
    return {{"SIRR_TLS_CERT_FILE", (dir_ / "live.pem").string()},
            {"SIRR_TLS_KEY_FILE", (dir_ / "live.key").string()}};
  }
  // The files sirrd is configured with are copies, so that a test can replace them.
  void Install(const std::string& cert, const std::string& key) {
    fs::copy_file(certs_ / cert, dir_ / "live.pem.tmp", fs::copy_options::overwrite_existing);
    fs::copy_file(certs_ / key, dir_ / "live.key.tmp", fs::copy_options::overwrite_existing);
    fs::rename(dir_ / "live.pem.tmp", dir_ / "live.pem");
    fs::rename(dir_ / "live.key.tmp", dir_ / "live.key");
  }
  ExecResult CliWith(std::vector<std::string> args, std::map<std::string, std::string> env) {
    args.insert(args.begin(), SIRR_BIN);
    env["SIRR_SERVER"] = server_;
    env["SIRR_TOKEN"] = kToken;
    env["SIRR_VAULT"] = "";
    return Exec(args, env, "", dir_);
  }
  bool LogHas(const std::string& text) {
    for (int i = 0; i < 200; ++i) {
      if (ReadFile(log_).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }
  fs::path certs_;
};

TEST_F(TlsIt, ServesPushAndPullOverTlsWithAChainAndRefusesWhatItShould) {
  Install("server.pem", "server.key");
  auto env = Tls();
  env["SIRR_REQUEST_TIMEOUT"] = "2";
  ASSERT_TRUE(Start(env));
  ASSERT_TRUE(server_.starts_with("https://")) << server_;
  // The CLI trusts the root (the server sends leaf + intermediate).
  auto push = CliWith({"push", "db", "--value", "s3cret"}, {{"SIRR_CACERT", C("root.pem")}});
  ASSERT_EQ(push.code, 0) << push.err;
  auto pull = CliWith({"pull", "db", "--ca-cert", C("root.pem")}, {});
  ASSERT_EQ(pull.code, 0) << pull.err;
  EXPECT_EQ(pull.out, "s3cret");
  EXPECT_EQ(Http("GET", "/health").status, 200);
  // `sirrd health` (the image's HEALTHCHECK) accepts exactly the configured certificate.
  auto probe = Tls();
  probe["SIRR_ADDR"] = "0.0.0.0:" + std::to_string(port_);
  auto healthy = RunSirrd(probe, {"health"});
  EXPECT_EQ(healthy.code, 0) << healthy.err;
  EXPECT_EQ(healthy.out.rfind("200 {", 0), 0u) << healthy.out;
  probe["SIRR_TLS_CERT_FILE"] = C("other.pem");
  auto impostor = RunSirrd(probe, {"health"});
  EXPECT_EQ(impostor.code, 1);
  EXPECT_NE(impostor.err.find("did not present the certificate"), std::string::npos)
      << impostor.err;

  // Untrusted: exit 3 and a message that says what to do, never a fallback to plain HTTP.
  auto untrusted = CliWith({"pull", "db"}, {{"SSL_CERT_FILE", C("other-root.pem")}});
  EXPECT_EQ(untrusted.code, 3);
  EXPECT_NE(untrusted.err.find("not trusted"), std::string::npos) << untrusted.err;
  EXPECT_NE(untrusted.err.find("--ca-cert"), std::string::npos) << untrusted.err;
  EXPECT_EQ(untrusted.out, "");

  // Plain HTTP sent to the TLS port: a plain-text 400 saying so, then the connection closes.
  bool closed = false;
  std::string answer = Raw("GET /health HTTP/1.1\r\nHost: a\r\n\r\n", &closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find("speaks TLS"), std::string::npos) << answer;
  EXPECT_TRUE(closed);
  // A TLS client that never finishes its handshake is cut off at the request timeout (a
  // half-open connection does not hang a server thread); the server still serves.
  int fd = Connect();
  ASSERT_GE(fd, 0);
  const char hello_start[] = {0x16, 0x03, 0x01, 0x00, 0x40};
  (void)!write(fd, hello_start, sizeof hello_start);
  ReadAll(fd, &closed, 10);
  EXPECT_TRUE(closed);
  close(fd);
  EXPECT_EQ(Http("GET", "/health").status, 200);
  ASSERT_EQ(Stop(), 0);

  // TLS sent to a plain-HTTP port: a clear error at the client, no hang.
  ASSERT_TRUE(Start());
  const std::string plain = server_;
  server_ = "https://127.0.0.1:" + std::to_string(port_);
  auto crossed = CliWith({"pull", "db", "--ca-cert", C("root.pem")}, {});
  EXPECT_EQ(crossed.code, 3);
  EXPECT_NE(crossed.err.find("does not speak TLS"), std::string::npos) << crossed.err;
  server_ = plain;
}

// Protocol policy, checked with an independent client (openssl s_client): TLS 1.3 by default,
// nothing below 1.2, no CBC suites on 1.2, and 1.2 sessions resume.
TEST_F(TlsIt, NegotiatesModernProtocolsOnlyAndResumesSessions) {
  if (access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "openssl is not installed";
  Install("server.pem", "server.key");
  ASSERT_TRUE(Start(Tls()));
  const std::string connect =
      "timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port_) + " -CAfile " +
      C("root.pem") + " ";
  auto s_client = [&](const std::string& args) {
    return Exec({"/bin/sh", "-c", connect + args + " </dev/null 2>&1"}, {}, "", dir_).out;
  };
  const std::string plain = s_client("");
  EXPECT_NE(plain.find("New, TLSv1.3"), std::string::npos) << plain;
  EXPECT_NE(plain.find("Verify return code: 0 (ok)"), std::string::npos) << plain;
  EXPECT_EQ(s_client("-tls1_1").find("New, TLSv1.1"), std::string::npos);
  EXPECT_EQ(s_client("-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA").find("Cipher is ECDHE"),
            std::string::npos);
  const std::string gcm = s_client("-tls1_2");
  EXPECT_NE(gcm.find("New, TLSv1.2, Cipher is ECDHE-ECDSA-"), std::string::npos) << gcm;
  EXPECT_TRUE(gcm.find("GCM") != std::string::npos || gcm.find("CHACHA20") != std::string::npos)
      << gcm;
  const std::string session = (dir_ / "tls.session").string();
  s_client("-tls1_2 -sess_out " + session);
  const std::string resumed = s_client("-tls1_2 -sess_in " + session);
  EXPECT_NE(resumed.find("Reused, TLSv1.2"), std::string::npos) << resumed;
}

TEST_F(TlsIt, BadCertificateFilesAreOneClearStartLineWithoutKeyBytes) {
  const std::string key_text = ReadFile(certs_ / "server.key");
  WriteKey(dir_ / "junk.pem", "not a certificate", 0600);
  WriteKey(dir_ / "empty-ca.pem", "# no certificates here", 0600);
  struct Case {
    std::map<std::string, std::string> env;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{{"SIRR_TLS_CERT_FILE", (dir_ / "missing.pem").string()},
        {"SIRR_TLS_KEY_FILE", C("server.key")}},
       "missing.pem: cannot read it"},
      {{{"SIRR_TLS_CERT_FILE", (dir_ / "junk.pem").string()},
        {"SIRR_TLS_KEY_FILE", C("server.key")}},
       "junk.pem: no PEM certificate"},
      {{{"SIRR_TLS_CERT_FILE", C("server.pem")}, {"SIRR_TLS_KEY_FILE", C("server.pem")}},
       "no PEM private key"},
      {{{"SIRR_TLS_CERT_FILE", C("server.pem")}, {"SIRR_TLS_KEY_FILE", C("other.key")}},
       "does not match the certificate"},
      {{{"SIRR_TLS_CERT_FILE", C("expired.pem")}, {"SIRR_TLS_KEY_FILE", C("expired.key")}},
       "expired on"},
      {{{"SIRR_TLS_CERT_FILE", C("server.pem")}}, "needs both"},
      {{{"SIRR_TLS_CERT_FILE", C("server.pem")},
        {"SIRR_TLS_KEY_FILE", C("server.key")},
        {"SIRR_TLS_CLIENT_CA_FILE", (dir_ / "empty-ca.pem").string()}},
       "SIRR_TLS_CLIENT_CA_FILE"},
      {{{"SIRR_TLS_CERT_FILE", C("server.pem")},
        {"SIRR_TLS_KEY_FILE", C("server.key")},
        {"SIRR_TLS_DISABLE", "true"}},
       "contradicts"},
  };
  for (const auto& c : cases) {
    auto r = RunSirrd(c.env);
    EXPECT_EQ(r.code, 1) << c.want;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.find("PRIVATE KEY"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(key_text.substr(30, 40)), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_ / "data" / "sirr.db")) << "nothing was touched";
}

TEST_F(TlsIt, MutualTlsRequiresAClientCertificateFromTheConfiguredCa) {
  Install("server.pem", "server.key");
  auto env = Tls();
  env["SIRR_TLS_CLIENT_CA_FILE"] = C("client-ca.pem");
  ASSERT_TRUE(Start(env));
  const std::map<std::string, std::string> trust = {{"SIRR_CACERT", C("root.pem")}};
  auto none = CliWith({"pull", "x"}, trust);
  EXPECT_EQ(none.code, 3);
  EXPECT_NE(none.err.find("--client-cert"), std::string::npos) << none.err;
  auto stranger = CliWith(
      {"pull", "x", "--client-cert", C("stranger.pem"), "--client-key", C("stranger.key")}, trust);
  EXPECT_EQ(stranger.code, 3) << stranger.err;
  auto half = CliWith({"pull", "x", "--client-cert", C("client.pem")}, trust);
  EXPECT_EQ(half.code, 2);
  EXPECT_NE(half.err.find("needs its key"), std::string::npos) << half.err;
  auto env_cert = trust;
  env_cert["SIRR_CLIENT_CERT"] = C("client.pem");
  env_cert["SIRR_CLIENT_KEY"] = C("client.key");
  auto push = CliWith({"push", "x", "--value", "mtls"}, env_cert);
  ASSERT_EQ(push.code, 0) << push.err;
  auto pull = CliWith(
      {"pull", "x", "--client-cert", C("client.pem"), "--client-key", C("client.key")}, trust);
  ASSERT_EQ(pull.code, 0) << pull.err;
  EXPECT_EQ(pull.out, "mtls");
}

TEST_F(TlsIt, SighupReloadsTheCertificateKeepsOpenConnectionsAndRefusesABadPair) {
  Install("server.pem", "server.key");
  ASSERT_TRUE(Start(Tls()));
  // One keep-alive connection, opened under the first certificate.
  sirr::client::Client kept(server_, sirr::SecretBytes::FromString(kToken));
  kept.SetCaFile(C("root.pem"));
  ASSERT_EQ(kept.Do("GET", "/health")->status, 200);

  // A bad pair (key of another certificate): refused with a log line, the old one kept.
  Install("server.pem", "other.key");
  kill(pid_, SIGHUP);
  EXPECT_TRUE(LogHas("keeping the current certificate"));
  EXPECT_EQ(Http("GET", "/health").status, 200);

  Install("other.pem", "other.key");
  kill(pid_, SIGHUP);
  EXPECT_TRUE(LogHas("TLS certificate and key re-read"));
  // New connections get the new certificate: the old root no longer verifies it...
  sirr::client::Client fresh(server_, sirr::SecretBytes::FromString(kToken));
  fresh.SetCaFile(C("root.pem"));
  auto refused = fresh.Do("GET", "/health");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not trusted"), std::string::npos) << refused.status();
  ca_file_ = C("other-root.pem");
  EXPECT_EQ(Http("GET", "/health").status, 200);
  // ...while the connection opened before goes on (it would fail verification if reopened).
  auto still = kept.Do("GET", "/health");
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(still->status, 200);
  EXPECT_EQ(Stop(), 0);
}

TEST_F(TlsIt, PlainHttpOnlyOnLoopbackUnlessDisabledExplicitly) {
  auto refused = RunSirrd({{"SIRR_ADDR", "0.0.0.0:0"}});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("without TLS"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(dir_ / "data" / "sirr.db"));
  ASSERT_TRUE(Start({{"SIRR_ADDR", "0.0.0.0:0"}, {"SIRR_TLS_DISABLE", "true"}}));
  EXPECT_EQ(Http("GET", "/health").status, 200);
  EXPECT_NE(ReadFile(log_).find("TLS is disabled on a non-loopback address"), std::string::npos);
  ASSERT_EQ(Stop(), 0);
  Install("server.pem", "server.key");
  auto tls = Tls();
  tls["SIRR_ADDR"] = "0.0.0.0:0";
  ASSERT_TRUE(Start(tls));
  EXPECT_EQ(Http("GET", "/health").status, 200);
}

TEST_F(TlsIt, ForwardedForIsBelievedOnlyFromTrustedProxies) {
  auto push_as = [&](const std::string& name, const std::string& forwarded) {
    const std::string body = json{{"name", name}, {"value", "v"}}.dump();
    return Raw("POST " + kSecrets + " HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + kToken +
               "\r\nX-Forwarded-For: " + forwarded +
               "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  auto audited_client = [&](const std::string& name) {
    std::istringstream lines(ReadFile(dir_ / "data" / "audit.log"));
    for (std::string line; std::getline(lines, line);)
      if (line.find("\"" + name + "\"") != std::string::npos &&
          line.find("secret.create") != std::string::npos)
        return json::parse(line)["client"].get<std::string>();
    return std::string("(none)");
  };
  ASSERT_TRUE(Start());
  ASSERT_EQ(push_as("untrusted", "203.0.113.7").rfind("HTTP/1.1 201", 0), 0u);
  ASSERT_EQ(Stop(), 0);
  EXPECT_EQ(audited_client("untrusted"), "127.0.0.1");

  EXPECT_EQ(RunSirrd({{"SIRR_TRUSTED_PROXIES", "10.0.0.0/33"}}).code, 1);
  ASSERT_TRUE(Start({{"SIRR_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.0/8"}}));
  // The nearest hop that is not a trusted proxy is the client (a forged leftmost entry
  // changes nothing).
  ASSERT_EQ(push_as("proxied", "198.51.100.1, 203.0.113.9, 10.1.2.3").rfind("HTTP/1.1 201", 0), 0u);
  ASSERT_EQ(push_as("garbled", "not-an-address").rfind("HTTP/1.1 201", 0), 0u);
  ASSERT_EQ(Stop(), 0);
  EXPECT_EQ(audited_client("proxied"), "203.0.113.9");
  EXPECT_EQ(audited_client("garbled"), "127.0.0.1");
}

}  // namespace
}  // namespace sirr_it
