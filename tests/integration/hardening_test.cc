// Hostile clients (issue: keep every promise under faults and hostile load): HTTP framing per
// RFC 9112, connection caps per client address, timeouts on every request of a connection,
// 405 with Allow, and no header injection through stored fields.

#include "sirrd_fixture.h"

namespace sirr_it {
namespace {

size_t CountResponses(const std::string& raw) {
  size_t n = 0;
  for (size_t at = raw.find("HTTP/1.1 "); at != std::string::npos;
       at = raw.find("HTTP/1.1 ", at + 1))
    ++n;
  return n;
}

// Transfer-Encoding that is not exactly "chunked" would be read as no body, and the body would
// then run as the next request on the connection (request smuggling): refused and closed.
TEST_F(SirrdTest, AmbiguousTransferEncodingIsRefusedAndNothingAfterItRuns) {
  ASSERT_TRUE(Start());
  const std::string smuggled = "GET /health HTTP/1.1\r\nHost: a\r\n\r\n";
  for (const char* te : {"identity", "xchunked", "chunked, identity", "gzip"}) {
    bool closed = false;
    std::string out =
        Raw("POST /status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + std::string(te) +
                "\r\n\r\n" + smuggled,
            &closed);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << te << ": " << out;
    EXPECT_EQ(CountResponses(out), 1u) << te << ": the smuggled request ran: " << out;
    EXPECT_TRUE(closed) << te;
  }
  // Transfer-Encoding together with Content-Length.
  std::string out = Raw(
      "POST /status HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  // Plain chunked still works.
  out =
      Raw("GET /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
          "Connection: close\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
}

TEST_F(SirrdTest, FoldedHeadersAndMissingOrRepeatedHostAreRefused) {
  ASSERT_TRUE(Start());
  EXPECT_EQ(Raw("GET /health HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n").rfind("HTTP/1.1 400", 0),
            0u);
  EXPECT_EQ(Raw("GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(Raw("GET /health HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(
      Raw("GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").rfind("HTTP/1.1 200", 0),
      0u);
}

TEST_F(SirrdTest, AWrongMethodIs405WithAllow) {
  ASSERT_TRUE(Start());
  auto r = Http("PUT", "/health");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
  r = Http("PATCH", kSecrets + "/x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD, DELETE");
  r = Http("DELETE", kSecrets);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, POST");
}

// One address cannot hold every connection slot: past its own cap it gets 429, while another
// client address is still served.
TEST_F(SirrdTest, OneClientAddressCannotTakeEveryConnection) {
  ASSERT_TRUE(Start({{"SIRR_MAX_CONNECTIONS_PER_CLIENT", "4"}}));
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(Connect());
  for (int fd : held) ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // accepted and counted
  int extra = Connect();
  ASSERT_GE(extra, 0);
  std::string out = ReadAll(extra);
  EXPECT_EQ(out.rfind("HTTP/1.1 429", 0), 0u) << out;
  EXPECT_NE(out.find("Retry-After: 1"), std::string::npos) << out;
  close(extra);
  int other = Connect("127.0.0.2");
  ASSERT_GE(other, 0) << "127.0.0.2 is loopback on Linux";
  const std::string req = "GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  (void)!write(other, req.data(), req.size());
  EXPECT_EQ(ReadAll(other).rfind("HTTP/1.1 200", 0), 0u);
  close(other);
  for (int fd : held) close(fd);
}

// The request timeout applies to every request of a keep-alive connection, from its first
// byte: a slow second request is cut off after the request timeout, not the idle timeout.
TEST_F(SirrdTest, RequestTimeoutAppliesToLaterRequestsOnAConnection) {
  ASSERT_TRUE(Start({{"SIRR_REQUEST_TIMEOUT", "1"}, {"SIRR_IDLE_TIMEOUT", "30"}}));
  int fd = Connect();
  ASSERT_GE(fd, 0);
  const std::string first = "GET /health HTTP/1.1\r\nHost: a\r\n\r\n";
  (void)!write(fd, first.data(), first.size());
  char buf[4096];
  ASSERT_GT(recv(fd, buf, sizeof buf, 0), 0);
  const std::string partial = "GET /health HTTP/1.1\r\nHost: a\r\n";  // never finished
  (void)!write(fd, partial.data(), partial.size());
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  ReadAll(fd, &closed, 5);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_LT(waited, std::chrono::seconds(4)) << "cut off by the request timeout (1 s)";
  close(fd);
}

// CR/LF in a stored field would come back as extra response headers (HEAD shows metadata as
// headers): refused at the door with 422.
TEST_F(SirrdTest, ControlCharactersInFieldsThatReachHeadersAreRefused) {
  ASSERT_TRUE(Start());
  auto r =
      Http("POST", kSecrets, R"({"name":"inj","value":"v","type":"text\r\nSet-Cookie: stolen=1"})");
  EXPECT_EQ(r.status, 422) << r.body;
  r = Http("POST", kSecrets, R"({"name":"inj","value":"v","description":"a\u0000b"})");
  EXPECT_EQ(r.status, 422) << r.body;
  r = Http("POST", "/api/v1/tokens",
           R"({"name":"x\ny","capabilities":["secrets:read"],"vaults":["default"]})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(Http("HEAD", kSecrets + "/inj").status, 404);  // nothing stored
  r = Http("POST", kSecrets, R"({"name":"ok","value":"v","type":"text/plain; charset=utf-8"})");
  EXPECT_EQ(r.status, 201) << r.body;
  r = Http("HEAD", kSecrets + "/ok");
  EXPECT_EQ(r.headers["x-secret-type"], "text/plain; charset=utf-8");
  EXPECT_TRUE(r.headers["set-cookie"].empty());
}

}  // namespace
}  // namespace sirr_it

namespace sirr_it {
namespace {

// A no-token flood used to write every refused request's whole path to the audit log (1 GB in
// 15 s). Now: failed authentication is rate limited per address (429 + Retry-After), each
// record's detail is capped, and past a few records per window the rest are one count.
TEST_F(SirrdTest, UnauthenticatedFloodCostsBoundedAuditBytes) {
  ASSERT_TRUE(Start());
  const fs::path audit = dir_ / "data" / "audit.log";
  const auto before = fs::file_size(audit);
  const std::string long_path = "/api/v1/vaults/default/secrets/" + std::string(7000, 'p');
  std::atomic<int> unauthorized{0}, limited{0}, other{0};
  std::atomic<bool> retry_after{true};
  std::vector<std::thread> flood;
  for (int t = 0; t < 8; ++t)
    flood.emplace_back([&] {
      sirr::client::Client c(server_, sirr::SecretBytes::FromString("sirr_not-a-token"));
      for (int i = 0; i < 250; ++i) {
        auto r = c.Do("GET", i % 2 ? long_path : kSecrets);
        if (!r.ok()) continue;
        if (r->status == 401)
          ++unauthorized;
        else if (r->status == 429) {
          ++limited;
          if (r->headers["retry-after"].empty()) retry_after = false;
        } else {
          ++other;
        }
      }
    });
  // A client with a valid token is not affected.
  EXPECT_EQ(Http("GET", kSecrets).status, 200);
  for (auto& f : flood) f.join();
  EXPECT_EQ(other, 0);
  EXPECT_GT(limited, 0);
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(Http("GET", kSecrets).status, 200);
  ASSERT_EQ(Stop(), 0);  // writes the summaries of open windows
  const auto grown = fs::file_size(audit) - before;
  EXPECT_LT(grown, 16u * 1024) << "2,000 refused requests; audit grew by " << grown << " bytes";
  const std::string log = ReadFile(audit);
  EXPECT_NE(log.find("\"outcome\":\"repeated\""), std::string::npos);
  EXPECT_EQ(log.find(std::string(200, 'p')), std::string::npos) << "detail is capped";
}

}  // namespace
}  // namespace sirr_it

namespace sirr_it {
namespace {

TEST_F(SirrdTest, CarelessConfigurationIsRefusedOrWarnedAbout) {
  // A weak admin token: refused, one line, never echoed.
  std::ofstream(token_file_, std::ios::trunc) << "password-password-password-1234\n";
  auto r = RunSirrd({});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("admin token is too weak"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("password-password"), std::string::npos);
  std::ofstream(token_file_, std::ios::trunc) << "short-but-random-Zq8\n";
  EXPECT_NE(RunSirrd({}).code, 0);
  // A token file others can read: served, with a warning.
  std::ofstream(token_file_, std::ios::trunc) << kToken << "\n";
  chmod(token_file_.c_str(), 0644);
  ASSERT_TRUE(Start());
  EXPECT_NE(ReadFile(log_).find("admin token file"), std::string::npos);
  EXPECT_NE(ReadFile(log_).find("readable by group or others"), std::string::npos);
  ASSERT_EQ(Stop(), 0);
  chmod(token_file_.c_str(), 0600);
  // An all-zero (degenerate) master key: refused before anything is initialised.
  fs::remove_all(dir_ / "data");
  fs::create_directories(dir_ / "data");
  WriteKey(key_file_, std::string(64, '0'));
  r = RunSirrd({});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("degenerate"), std::string::npos) << r.err;
  WriteKey(key_file_, kKeyB64);
  // Limits outside sane ranges.
  r = RunSirrd({{"SIRR_MAX_BODY_BYTES", "18446744073709551615"}});
  EXPECT_NE(r.code, 0);
  // /dev/null as the audit log would discard the trail: refused unless explicitly allowed.
  r = RunSirrd({{"SIRR_AUDIT_LOG", "/dev/null"}});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
}

TEST_F(SirrdTest, AdminTokenFromTheEnvironmentIsScrubbed) {
  ASSERT_TRUE(Start({{"SIRR_ADMIN_TOKEN_FILE", ""}, {"SIRR_ADMIN_TOKEN", kToken}}));
  EXPECT_EQ(Http("GET", kSecrets).status, 200);
  const std::string environ = ReadFile("/proc/" + std::to_string(pid_) + "/environ");
  EXPECT_EQ(environ.find(kToken), std::string::npos);
  EXPECT_EQ(environ.find("SIRR_ADMIN_TOKEN="), std::string::npos);
}

}  // namespace
}  // namespace sirr_it

namespace sirr_it {
namespace {

// Removing or replacing the audit log while sirrd runs is noticed within about a second: said
// on stderr, and a new file continues the chain (its first record links to the old head).
TEST_F(SirrdTest, AuditLogRemovedOrReplacedWhileRunningContinuesInANewFile) {
  ASSERT_TRUE(Start());
  const fs::path audit = dir_ / "data" / "audit.log";
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"before","value":"v"})").status, 201);
  fs::remove(audit);
  bool reopened = false;
  for (int i = 0; i < 60 && !reopened; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    reopened = fs::exists(audit) && ReadFile(audit).find("audit.reopened") != std::string::npos;
  }
  ASSERT_TRUE(reopened) << "no new audit log within 3 s";
  EXPECT_NE(ReadFile(log_).find("removed while running"), std::string::npos);
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"after","value":"v"})").status, 201);
  EXPECT_NE(ReadFile(audit).find("\"secret\":\"after\""), std::string::npos);

  // Replaced by another file: that file is moved aside, never appended to.
  std::ofstream(dir_ / "data" / "forged.log") << "{\"seq\":1}\n";
  fs::rename(dir_ / "data" / "forged.log", audit);
  bool moved = false;
  for (int i = 0; i < 60 && !moved; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (const auto& e : fs::directory_iterator(dir_ / "data"))
      moved = moved || e.path().filename().string().starts_with("audit.log.replaced-");
  }
  ASSERT_TRUE(moved);
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"later","value":"v"})").status, 201);
  ASSERT_EQ(Stop(), 0);
  auto v = RunSirrd({}, {"audit", "verify", audit.string()});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find("continues the chain"), std::string::npos) << v.out;
  ASSERT_TRUE(Start()) << ReadFile(log_);  // the new file reaches the recorded head
}

// A log lost while sirrd was down: the start is refused with the way back, and the documented
// recovery command starts a new log that continues the recorded chain, with the reason.
TEST_F(SirrdTest, LostAuditLogIsRefusedAtStartUntilRecovered) {
  ASSERT_TRUE(Start());
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"a","value":"v"})").status, 201);
  ASSERT_EQ(Stop(), 0);
  const fs::path audit = dir_ / "data" / "audit.log";
  fs::remove(audit);
  auto refused = RunSirrd({});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("sirrd audit recover"), std::string::npos) << refused.err;
  EXPECT_NE(RunSirrd({}, {"audit", "recover"}).code, 0);  // --reason is required
  auto rec = RunSirrd({}, {"audit", "recover", "--reason", "disk replaced (ticket 42)"});
  ASSERT_EQ(rec.code, 0) << rec.err;
  EXPECT_NE(ReadFile(audit).find("audit.recovered"), std::string::npos);
  EXPECT_NE(ReadFile(audit).find("ticket 42"), std::string::npos);
  // Refuses to start a second recovered log over a non-empty one.
  EXPECT_NE(RunSirrd({}, {"audit", "recover", "--reason", "again"}).code, 0);
  ASSERT_TRUE(Start()) << ReadFile(log_);
  EXPECT_EQ(Http("GET", kSecrets + "/a").status, 200);
  ASSERT_EQ(Stop(), 0);
  auto v = RunSirrd({}, {"audit", "verify", audit.string()});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace sirr_it

#include <sys/mount.h>
#include <sys/statvfs.h>

namespace sirr_it {
namespace {

// A small tmpfs for disk-full tests; lazily unmounted on destruction. Needs root (CI is).
struct Tmpfs {
  fs::path dir;
  bool mounted = false;
  Tmpfs(const fs::path& d, size_t bytes) : dir(d) {
    fs::create_directories(dir);
    const std::string opts = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted = mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted) umount2(dir.c_str(), MNT_DETACH);
  }
  bool Resize(size_t bytes) {
    const std::string opts = "size=" + std::to_string(bytes) + ",mode=0700";
    return mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
  }
  // Fills the file system with a file until about `leave` bytes are free.
  void FillLeaving(size_t leave) {
    struct statvfs v {};
    statvfs(dir.c_str(), &v);
    const size_t avail = static_cast<size_t>(v.f_bavail) * v.f_frsize;
    if (avail <= leave) return;
    std::ofstream(dir / "filler", std::ios::binary) << std::string(avail - leave, 'f');
  }
};

#define SIRR_NEED_TMPFS(t)                                              \
  if (!(t).mounted)                                                     \
  GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) \
               << "); the disk-full tests need root with CAP_SYS_ADMIN"

// Only the audit log's disk is full: changes are refused with 503 and nothing changes (the
// read-once secret is not burned, the push is not stored); once there is room again, the
// records that committed reach the file and the chain verifies.
TEST_F(SirrdTest, DiskFullUnderTheAuditLogRefusesChangesAndLosesNoRecord) {
  Tmpfs t(dir_ / "auditfs", 1 << 20);
  SIRR_NEED_TMPFS(t);
  const fs::path audit = t.dir / "audit.log";
  ASSERT_TRUE(Start({{"SIRR_AUDIT_LOG", audit.string()}}));
  ASSERT_EQ(Http("POST", kSecrets, R"({"name":"once","value":"v1","max_reads":1})").status, 201);
  t.FillLeaving(8 * 1024);
  int refused = 0, other = 0;
  const auto acked = PushUntilRefused("s", "v", 1, &refused, &other);
  ASSERT_EQ(refused, 1) << "the audit disk never filled";
  EXPECT_EQ(other, 0);
  EXPECT_EQ(Http("GET", kSecrets + "/once").status, 503);  // not served, not burned
  EXPECT_EQ(Http("POST", kSecrets, R"({"name":"refused","value":"v"})").status, 503);
  EXPECT_EQ(Http("DELETE", kSecrets + "/s0").status, 503);
  fs::remove(t.dir / "filler");  // room again
  auto once = Http("GET", kSecrets + "/once");
  EXPECT_EQ(once.status, 200) << once.body;
  EXPECT_EQ(Http("GET", kSecrets + "/refused").status, 404);
  EXPECT_EQ(Http("GET", kSecrets + "/s0").status, 200);
  ASSERT_EQ(Stop(), 0);
  const std::string log = ReadFile(audit);
  for (const auto& name : acked)
    EXPECT_NE(log.find("\"secret\":\"" + name + "\""), std::string::npos) << name;
  auto v = RunSirrd({{"SIRR_AUDIT_LOG", audit.string()}}, {"audit", "verify", audit.string()});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
}

// The database's disk is full: a write that cannot commit is 503 (never 500) and stores
// nothing; every acknowledged write survives, and sirrd starts again once there is room.
TEST_F(SirrdTest, DiskFullUnderTheDatabaseIs503AndLosesNoAcknowledgedWrite) {
  Tmpfs t(dir_ / "dbfs", 4 << 20);
  SIRR_NEED_TMPFS(t);
  const std::map<std::string, std::string> env = {
      {"SIRR_DATA_DIR", (t.dir / "data").string()},
      {"SIRR_AUDIT_LOG", (dir_ / "audit.log").string()}};
  ASSERT_TRUE(Start(env));
  const std::string big(16 * 1024, 'x');
  int refused = 0, other = 0;
  const auto acked = PushUntilRefused("b", big, 3, &refused, &other);
  EXPECT_EQ(refused, 3) << "the database disk never filled";
  EXPECT_EQ(other, 0) << "a full disk must be 503, never 500";
  Stop();
  ASSERT_TRUE(t.Resize(64 << 20));
  ASSERT_TRUE(Start(env)) << ReadFile(log_);
  for (const auto& name : acked) ASSERT_EQ(Http("GET", kSecrets + "/" + name).status, 200) << name;
  EXPECT_EQ(Http("GET", kSecrets + "/b" + std::to_string(acked.size())).status, 404);
  ASSERT_EQ(Stop(), 0);
  auto v = RunSirrd(env, {"audit", "verify", (dir_ / "audit.log").string()});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace sirr_it
