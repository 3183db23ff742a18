// Observability and audit operations through a real sirrd: audit rotation and retention under
// load across three master key rotations (verified with the current key only), SIGHUP after an
// external logrotate (Debian's logrotate, create mode), audit sinks (Debian's rsyslogd on a
// private socket; stdout), the audit search API and CLI, JSON logs with the access line, and
// the background WAL checkpointer. The Prometheus scrape is scripts/test-prometheus.sh.

#include <atomic>
#include <regex>
#include <set>
#include <sstream>

#include "sirrd_fixture.h"

namespace sirr_it {
namespace {

// Three more master keys (the fixture's is 00 01 … 1f).
const char* kKeys[] = {
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
    "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=", "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8="};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

template <typename Fn>
bool WaitFor(Fn&& done, int ms = 10000) {
  for (int i = 0; i < ms / 20; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

class ObservabilityIt : public SirrdTest {
 protected:
  fs::path Data() { return dir_ / "data"; }
  fs::path KeyFile(int i) {
    if (i == 0) return key_file_;
    fs::path p = dir_ / ("key" + std::to_string(i));
    if (!fs::exists(p)) WriteKey(p, kKeys[i]);
    return p;
  }
  // `sirrd audit verify ARGS` with only SIRR_KEY_FILE = key `key`.
  ExecResult Verify(int key, std::vector<std::string> args) {
    args.insert(args.begin(), {"audit", "verify"});
    return RunSirrd({{"SIRR_KEY_FILE", KeyFile(key).string()}, {"SIRR_KEY_FILE_NEW", ""}}, args);
  }
  std::vector<fs::path> RotatedFiles() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(Data()))
      if (e.path().filename().string().starts_with("audit.log.2")) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  int64_t Metric(const std::string& series) {
    auto r = Http("GET", "/metrics");
    for (const auto& line : Lines(r.body))
      if (line.starts_with(series + " ")) return std::stoll(line.substr(series.size() + 1));
    return -1;
  }
};

// The issue's evidence: the audit file rotates (by size) at least ten times and the master key
// three times while a writer keeps pushing; retention prunes old files; the remaining set
// verifies as one chain with only the current key file, and the deleted-file case fails.
TEST_F(ObservabilityIt, AuditRotatesTenTimesAcrossThreeKeyRotationsAndVerifiesWithTheCurrentKey) {
  const std::map<std::string, std::string> rotation{
      {"SIRR_AUDIT_ROTATE_BYTES", "6000"}, {"SIRR_AUDIT_KEEP", "4"}, {"SIRR_RATE_LIMIT", "0"}};
  std::atomic<int> acked{0}, failed{0};
  // Runs sirrd with `extra` for `seconds` under a pushing writer (and whatever `during` does).
  auto phase = [&](std::map<std::string, std::string> extra, double seconds,
                   const std::function<void()>& during) {
    for (const auto& [k, v] : rotation) extra.emplace(k, v);
    ASSERT_TRUE(Start(extra)) << ReadFile(log_);
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      sirr::client::Client c(server_, sirr::SecretBytes::FromString(kToken));
      for (int i = 0; !stop; ++i) {
        auto r = c.Do(
            "POST", kSecrets,
            json{{"name", "w" + std::to_string(starts_) + "-" + std::to_string(i)}, {"value", "x"}}
                .dump());
        (r.ok() && r->status == 201 ? acked : failed)++;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    if (during) during();
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(seconds * 1000)));
    stop = true;
    writer.join();
    ASSERT_EQ(Stop(), 0) << ReadFile(log_);
  };
  phase({}, 3.0, {});
  for (int k = 0; k < 3; ++k) {
    // Dual-key mode: the next key becomes active; the rotation job rewraps every vault key.
    phase(
        {{"SIRR_KEY_FILE", KeyFile(k).string()}, {"SIRR_KEY_FILE_NEW", KeyFile(k + 1).string()}},
        1.5, [&] {
          ASSERT_EQ(
              Http("POST", "/api/v1/vaults", json{{"name", "v" + std::to_string(k)}}.dump()).status,
              201);
          ASSERT_EQ(Http("POST", "/api/v1/admin/rotate-keys", "{}").status, 202);
          ASSERT_TRUE(WaitFor([&] {
            return json::parse(Http("GET", "/api/v1/admin/rotate-keys").body)["state"] ==
                   "completed";
          }));
        });
    phase({{"SIRR_KEY_FILE", KeyFile(k + 1).string()}}, 2.0, {});
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(acked, 300);
  int rotations = 0;
  for (int i = 1; i <= starts_; ++i) {
    const std::string log = ReadFile(dir_ / ("sirrd." + std::to_string(i) + ".log"));
    for (size_t p = 0; (p = log.find("audit log rotated", p)) != std::string::npos; ++p)
      ++rotations;
  }
  EXPECT_GE(rotations, 10);
  EXPECT_EQ(RotatedFiles().size(), 4u);  // SIRR_AUDIT_KEEP
  const std::string current = ReadFile(Data() / "audit.log");
  EXPECT_NE(current.find(R"("action":"audit.rotated")"), std::string::npos);

  // The whole remaining set, with the fourth key only (three rotations later).
  auto ok = Verify(3, {Data().string()});
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("OK 5 files"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("matches the head recorded in the database"), std::string::npos);
  EXPECT_NE(ok.out.find("were removed under the retention policy"), std::string::npos) << ok.out;
  // A key this instance never had verifies nothing.
  WriteKey(dir_ / "stranger.key", "gGGBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpucnZ4=");
  auto stranger = RunSirrd({{"SIRR_KEY_FILE", (dir_ / "stranger.key").string()}},
                           {"audit", "verify", Data().string()});
  EXPECT_NE(stranger.code, 0);
  EXPECT_NE(stranger.err.find("not in the keyring"), std::string::npos) << stranger.err;

  // A file deleted from the middle of the set is a gap, named with its records.
  const auto files = RotatedFiles();
  fs::rename(files[1], dir_ / "stolen.log");
  auto gap = Verify(3, {Data().string()});
  EXPECT_NE(gap.code, 0);
  EXPECT_NE(gap.out.find("gap: records"), std::string::npos) << gap.out;
  fs::rename(dir_ / "stolen.log", files[1]);
  // The oldest file deleted too: the beginning is then uncovered by any audit.pruned record.
  fs::remove(files[0]);
  auto start = Verify(3, {Data().string()});
  EXPECT_NE(start.code, 0);
  EXPECT_NE(start.out.find("are missing before"), std::string::npos) << start.out;
}

// logrotate (Debian's, `create` mode with a postrotate SIGHUP) renames the log; sirrd opens
// a new file at once whose first record continues the chain; both files verify as one.
TEST_F(ObservabilityIt, SighupAfterLogrotateCreateContinuesTheChain) {
  if (!fs::exists("/usr/sbin/logrotate")) GTEST_SKIP() << "logrotate is not installed";
  ASSERT_TRUE(Start());
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(Http("POST", kSecrets, json{{"name", "a" + std::to_string(i)}, {"value", "x"}}.dump())
                  .status,
              201);
  const fs::path conf = dir_ / "logrotate.conf";
  std::ofstream(conf) << (Data() / "audit.log").string() << " {\n  rotate 5\n  create 0600\n"
                      << "  nocompress\n  postrotate\n    kill -HUP " << pid_
                      << "\n  endscript\n}\n";
  auto rotated =
      Exec({"/usr/sbin/logrotate", "-f", "-s", (dir_ / "lr.state").string(), conf.string()}, {}, "",
           dir_);
  ASSERT_EQ(rotated.code, 0) << rotated.out << rotated.err;
  ASSERT_TRUE(fs::exists(Data() / "audit.log.1"));
  // SIGHUP reopened it at once: the first record of the new file says so.
  ASSERT_TRUE(WaitFor(
      [&] { return ReadFile(Data() / "audit.log").find("audit.reopened") != std::string::npos; }));
  ASSERT_EQ(Http("POST", kSecrets, json{{"name", "after"}, {"value", "x"}}.dump()).status, 201);
  ASSERT_EQ(Stop(), 0);
  EXPECT_NE(ReadFile(log_).find("SIGHUP: audit log reopened"), std::string::npos) << ReadFile(log_);
  auto ok = Verify(0, {(Data() / "audit.log.1").string(), (Data() / "audit.log").string()});
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("OK 2 files"), std::string::npos) << ok.out;
}

// Every record the file gets also goes to syslog (Debian's rsyslogd, RFC 5424 over a local
// socket) and stdout, in order. A required sink that cannot be written makes sirrd refuse
// requests (503, nothing changed) until it takes what it missed; an optional one only counts.
TEST_F(ObservabilityIt, AuditSinksDeliverTheChainedRecordsAndARequiredOneFailsClosed) {
  if (!fs::exists("/usr/sbin/rsyslogd")) GTEST_SKIP() << "rsyslog is not installed";
  // Debian's rsyslogd on a private socket, writing what it parses as RFC 5424 to a file.
  const fs::path sock = dir_ / "log.sock", messages = dir_ / "messages", work = dir_ / "rsyslog";
  fs::create_directories(work);
  std::ofstream(dir_ / "rsyslog.conf")
      << "global(workDirectory=\"" << work.string() << "\")\n"
      << "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
      << "input(type=\"imuxsock\" Socket=\"" << sock.string()
      << "\" UseSpecialParser=\"off\" ParseHostname=\"on\")\n"
      << "template(name=\"p\" type=\"string\" string=\"%PRI% %PROTOCOL-VERSION% "
         "%TIMESTAMP:::date-rfc3339% %APP-NAME% %PROCID% %MSGID% %msg%\\n\")\n"
      << "*.* action(type=\"omfile\" file=\"" << messages.string() << "\" template=\"p\")\n";
  auto start_rsyslog = [&] {
    pid_t p =
        sirr::testing::Spawn({"/usr/sbin/rsyslogd", "-n", "-f", (dir_ / "rsyslog.conf").string(),
                              "-i", (dir_ / "rsyslog.pid").string()},
                             {}, {.in = "", .out = "", .err = (dir_ / "rsyslog.err").string()});
    EXPECT_TRUE(WaitFor([&] { return fs::exists(sock); }));
    return p;
  };
  pid_t rsyslog = start_rsyslog();
  stdout_file_ = dir_ / "sirrd.stdout";
  ASSERT_TRUE(Start({{"SIRR_AUDIT_SINKS", "syslog:required,stdout"},
                     {"SIRR_AUDIT_SYSLOG_SOCKET", sock.string()}}))
      << ReadFile(log_);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(Http("POST", kSecrets, json{{"name", "s" + std::to_string(i)}, {"value", "x"}}.dump())
                  .status,
              201);
  // The file's records, every one of them also in syslog and on stdout, in order.
  ASSERT_TRUE(WaitFor([&] {
    return Lines(ReadFile(messages)).size() >= Lines(ReadFile(Data() / "audit.log")).size();
  }));
  const auto file_lines = Lines(ReadFile(Data() / "audit.log"));
  const auto syslog_lines = Lines(ReadFile(messages));
  const auto stdout_lines = Lines(ReadFile(stdout_file_));
  ASSERT_GE(file_lines.size(), 5u);
  for (size_t i = 0; i < file_lines.size(); ++i) {
    ASSERT_LT(i, syslog_lines.size());
    // PRI 86 (authpriv.info), RFC 5424 version 1, app sirrd, msgid audit, the record as MSG.
    EXPECT_EQ(syslog_lines[i].substr(0, 5), "86 1 ") << syslog_lines[i];
    EXPECT_NE(syslog_lines[i].find(" sirrd " + std::to_string(pid_) + " audit "), std::string::npos)
        << syslog_lines[i];
    EXPECT_TRUE(syslog_lines[i].ends_with(file_lines[i])) << syslog_lines[i];
    ASSERT_LT(i, stdout_lines.size());
    EXPECT_EQ(stdout_lines[i], file_lines[i]);
  }
  // The syslog daemon goes away: the required sink fails closed (503, nothing stored).
  kill(rsyslog, SIGTERM);
  waitpid(rsyslog, nullptr, 0);
  fs::remove(sock);
  // The write that finds the sink gone is committed (its record is in the file and kept for
  // the sink); from then on requests are refused.
  const int probe = Http("POST", kSecrets, json{{"name", "probe"}, {"value", "x"}}.dump()).status;
  EXPECT_TRUE(probe == 201 || probe == 503) << probe;
  auto refused = Http("POST", kSecrets, json{{"name", "refused"}, {"value", "x"}}.dump());
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(Http("GET", kSecrets + "/refused").status, 503);
  EXPECT_GT(Metric("sirr_audit_sink_failures_total{sink=\"syslog\"}"), 0);
  // Back: the records it missed are delivered first, then writes succeed again.
  rsyslog = start_rsyslog();
  ASSERT_TRUE(WaitFor([&] {
    return Http("POST", kSecrets, json{{"name", "back"}, {"value", "x"}}.dump()).status == 201;
  }));
  EXPECT_EQ(Http("GET", kSecrets + "/refused").status, 404);  // the refused push never happened
  ASSERT_EQ(Stop(), 0);
  const auto all_file = Lines(ReadFile(Data() / "audit.log"));
  EXPECT_TRUE(WaitFor([&] { return Lines(ReadFile(messages)).size() >= all_file.size(); }));
  kill(rsyslog, SIGTERM);
  waitpid(rsyslog, nullptr, 0);
  const auto all_syslog = Lines(ReadFile(messages));
  ASSERT_EQ(all_syslog.size(), all_file.size());  // none lost, none twice, in order
  for (size_t i = 0; i < all_syslog.size(); ++i)
    EXPECT_TRUE(all_syslog[i].ends_with(all_file[i])) << i << ": " << all_syslog[i];

  // An optional sink that cannot be written loses its records (counted, logged); requests
  // succeed.
  ASSERT_TRUE(Start({{"SIRR_AUDIT_SINKS", "syslog"}, {"SIRR_AUDIT_SYSLOG_SOCKET", sock.string()}}));
  EXPECT_EQ(Http("POST", kSecrets, json{{"name", "optional"}, {"value", "x"}}.dump()).status, 201);
  EXPECT_GT(Metric("sirr_audit_sink_failures_total{sink=\"syslog\"}"), 0);
  ASSERT_EQ(Stop(), 0);
  EXPECT_NE(ReadFile(log_).find("audit sink syslog (optional) lost a record"), std::string::npos);
  // A bad sink list stops sirrd with one line.
  auto bad = RunSirrd({{"SIRR_AUDIT_SINKS", "kafka"}});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("SIRR_AUDIT_SINKS: 'kafka' is not a sink"), std::string::npos) << bad.err;
}

TEST_F(ObservabilityIt, AuditSearchFiltersPagesIsAdminOnlyAndIsItselfAudited) {
  ASSERT_TRUE(Start());
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(
        Http("POST", kSecrets, json{{"name", "team/s" + std::to_string(i)}, {"value", "v"}}.dump())
            .status,
        201);
  ASSERT_EQ(Http("GET", kSecrets + "/team/s3").status, 200);
  auto page = Http("GET", "/api/v1/admin/audit?action=secret.create&limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  auto j = json::parse(page.body);
  ASSERT_EQ(j["records"].size(), 2u);
  EXPECT_EQ(j["records"][0]["target"]["secret"], "team/s0");
  ASSERT_TRUE(j["next_after"].is_number_integer());
  auto next = json::parse(Http("GET", "/api/v1/admin/audit?action=secret.create&limit=10&after=" +
                                          std::to_string(j["next_after"].get<int64_t>()))
                              .body);
  ASSERT_EQ(next["records"].size(), 3u);
  EXPECT_EQ(next["records"][2]["target"]["secret"], "team/s4");
  EXPECT_TRUE(next["next_after"].is_null());
  auto by_secret =
      json::parse(Http("GET", "/api/v1/admin/audit?secret=team%2Fs3&action=secret.%2A").body);
  ASSERT_EQ(by_secret["records"].size(), 2u);  // created, read
  EXPECT_EQ(by_secret["records"][1]["action"], "secret.read");
  EXPECT_EQ(Http("GET", "/api/v1/admin/audit?since=yesterday").status, 422);
  EXPECT_EQ(Http("GET", "/api/v1/admin/audit?limit=0").status, 422);
  // Not for other principals; the refusal is recorded.
  auto created =
      Cli({"token", "create", "--name", "reader", "--cap", "secrets:read", "--vault", "*"});
  ASSERT_EQ(created.code, 0) << created.err;
  std::string reader = created.out;
  reader.erase(reader.find_last_not_of("\n") + 1);
  EXPECT_EQ(Http("GET", "/api/v1/admin/audit", "", reader).status, 403);
  // The CLI: search and tail, text and JSON; each read is an audit.search record.
  auto search = Cli({"audit", "search", "--action", "secret.read"});
  EXPECT_EQ(search.code, 0) << search.err;
  EXPECT_NE(search.out.find("secret.read success admin vault=default secret=team/s3"),
            std::string::npos)
      << search.out;
  auto tail = Cli({"--json", "audit", "tail", "-n", "2"});
  ASSERT_EQ(tail.code, 0) << tail.err;
  auto tail_lines = Lines(tail.out);
  ASSERT_EQ(tail_lines.size(), 2u);
  EXPECT_EQ(json::parse(tail_lines[1])["action"], "audit.search");
  auto searches =
      json::parse(Http("GET", "/api/v1/admin/audit?action=audit.search&limit=100").body);
  std::set<std::string> outcomes;
  for (const auto& r : searches["records"]) outcomes.insert(r["outcome"].get<std::string>());
  EXPECT_TRUE(outcomes.count("success") && outcomes.count("denied")) << searches.dump();
}

// SIRR_LOG_FORMAT=json: every stderr line is a JSON object; one access line per request with
// the route template, status, request id and principal; never a value, a token or a query.
TEST_F(ObservabilityIt, JsonLogsCarryOneAccessLinePerRequestAndNoSecrets) {
  ASSERT_TRUE(Start({{"SIRR_LOG_FORMAT", "json"}}));
  auto push =
      Http("POST", kSecrets, json{{"name", "db/password"}, {"value", "VALUE-SENTINEL-42"}}.dump());
  ASSERT_EQ(push.status, 201);
  auto pull = Http("GET", kSecrets + "/db/password?sentinel=QUERY-SENTINEL");
  ASSERT_EQ(pull.status, 200);
  EXPECT_EQ(Http("GET", kSecrets + "/db/password", "", "wrong-token-0123456789").status, 401);
  ASSERT_EQ(Stop(), 0);
  const std::string log = ReadFile(log_);
  std::vector<json> access;
  for (const auto& line : Lines(log)) {
    auto j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    ASSERT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    if (j["msg"] == "request") access.push_back(j);
  }
  ASSERT_EQ(access.size(), 3u) << log;
  EXPECT_EQ(access[0]["route"], "/api/v1/vaults/{vault}/secrets");
  EXPECT_EQ(access[0]["status"], 201);
  EXPECT_EQ(access[0]["principal"], "admin");
  EXPECT_EQ(access[1]["route"], "/api/v1/vaults/{vault}/secrets/{secret...}");
  EXPECT_EQ(access[1]["method"], "GET");
  EXPECT_EQ(access[1]["status"], 200);
  EXPECT_EQ(access[2]["status"], 401);
  EXPECT_EQ(access[2]["principal"], "");
  EXPECT_TRUE(access[1]["duration_ms"].is_number());
  EXPECT_EQ(access[1]["client"], "127.0.0.1");
  EXPECT_EQ(access[1]["request_id"].get<std::string>().size(), 24u);
  for (const char* secret :
       {"VALUE-SENTINEL-42", "QUERY-SENTINEL", "db/password", kToken, "wrong-token-0123456789"})
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
  // SIRR_LOG_LEVEL=warning drops the info lines and the access lines.
  ASSERT_TRUE(Start({{"SIRR_LOG_LEVEL", "warning"}}));
  ASSERT_EQ(Http("GET", kSecrets + "/db/password").status, 200);
  ASSERT_EQ(Stop(), 0);
  EXPECT_EQ(ReadFile(log_).find("access"), std::string::npos) << ReadFile(log_);
  EXPECT_EQ(ReadFile(log_).find("listening"), std::string::npos);
}

// Checkpoints run on the background checkpointer, not inside a committing request: after
// enough writes the counter moves and the WAL stays bounded.
TEST_F(ObservabilityIt, WalCheckpointsRunInTheBackground) {
  ASSERT_TRUE(Start({{"SIRR_RATE_LIMIT", "0"}}));
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      sirr::client::Client c(server_, sirr::SecretBytes::FromString(kToken));
      for (int i = 0; i < 250; ++i)
        (void)c.Do("POST", kSecrets,
                   json{{"name", "c" + std::to_string(t) + "-" + std::to_string(i)},
                        {"value", std::string(200, 'x')}}
                       .dump());
    });
  for (auto& w : writers) w.join();
  EXPECT_TRUE(WaitFor([&] { return Metric("sirr_storage_checkpoints_total") > 0; }));
  EXPECT_GT(Metric("sirr_storage_commit_batch_size_count"), 0);
  // The WAL is reused from its start once checkpointed: well below 1,000 writes' worth.
  EXPECT_LT(fs::file_size(Data() / "sirr.db-wal"), 16u << 20);
}

}  // namespace
}  // namespace sirr_it
