#include "audit/audit_sink.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "base/clock.h"

namespace sirr::audit {
namespace {

class StdoutSink final : public AuditSink {
 public:
  explicit StdoutSink(bool required) : required_(required) {}
  std::string name() const override { return "stdout"; }
  bool required() const override { return required_; }
  bool Deliver(std::string_view record, int64_t) override {
    std::string line(record);
    line.push_back('\n');
    size_t off = 0;
    while (off < line.size()) {
      // MSG_NOSIGNAL does not apply to write(2): sirrd ignores SIGPIPE, so a closed stdout is
      // EPIPE here, not a signal.
      ssize_t n = ::write(STDOUT_FILENO, line.data() + off, line.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  const bool required_;
};

class SyslogSink final : public AuditSink {
 public:
  SyslogSink(bool required, std::string path) : required_(required), path_(std::move(path)) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') host_ = host;
    pid_ = static_cast<int>(::getpid());
  }
  ~SyslogSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string name() const override { return "syslog"; }
  bool required() const override { return required_; }
  bool Deliver(std::string_view record, int64_t time_ms) override {
    const std::string msg = SyslogMessage(record, time_ms, host_, pid_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !Connect()) return false;
      ssize_t n = ::send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(msg.size())) return true;
      ::close(fd_);  // the daemon restarted, or the socket went away: reconnect once
      fd_ = -1;
    }
    return false;
  }

 private:
  bool Connect() {
    sockaddr_un addr{};
    if (path_.size() >= sizeof addr.sun_path) return false;
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    timeval tv{0, 500'000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return false;
    }
    fd_ = fd;
    return true;
  }

  const bool required_;
  const std::string path_;
  std::string host_ = "-";
  int pid_ = 0;
  int fd_ = -1;
};

}  // namespace

std::string SyslogMessage(std::string_view record, int64_t time_ms, const std::string& host,
                          int pid) {
  // PRI 86 = facility authpriv (10) * 8 + severity info (6); VERSION 1; no structured data.
  std::string msg = "<86>1 " + FormatRfc3339(time_ms) + " " + (host.empty() ? "-" : host) +
                    " sirrd " + std::to_string(pid) + " audit - ";
  msg.append(record);
  return msg;
}

std::shared_ptr<AuditSink> MakeStdoutSink(bool required) {
  return std::make_shared<StdoutSink>(required);
}

std::shared_ptr<AuditSink> MakeSyslogSink(bool required, std::string socket_path) {
  return std::make_shared<SyslogSink>(required, std::move(socket_path));
}

StatusOr<std::vector<std::shared_ptr<AuditSink>>> ParseSinks(const std::string& spec,
                                                             const std::string& syslog_socket) {
  std::vector<std::shared_ptr<AuditSink>> out;
  std::istringstream in(spec);
  std::string item;
  bool seen_stdout = false, seen_syslog = false;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    std::string kind = item, mode = "optional";
    if (size_t colon = item.find(':'); colon != std::string::npos) {
      kind = item.substr(0, colon);
      mode = item.substr(colon + 1);
    }
    if (mode != "optional" && mode != "required")
      return InvalidArgumentError("SIRR_AUDIT_SINKS: '" + item +
                                  "': the mode after ':' must be required or optional");
    const bool required = mode == "required";
    if (kind == "stdout" && !seen_stdout) {
      seen_stdout = true;
      out.push_back(MakeStdoutSink(required));
    } else if (kind == "syslog" && !seen_syslog) {
      seen_syslog = true;
      out.push_back(MakeSyslogSink(required, syslog_socket));
    } else if (kind == "file") {
      continue;  // always written
    } else {
      return InvalidArgumentError("SIRR_AUDIT_SINKS: '" + item +
                                  "' is not a sink (stdout or syslog, once each, optionally "
                                  "followed by :required or :optional)");
    }
  }
  return out;
}

}  // namespace sirr::audit
