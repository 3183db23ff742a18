#pragma once

// Audit sinks besides the file (DESIGN.md §7; docs/operator.md "Audit sinks"): the same chained
// record lines, for containers (stdout) and log collectors (syslog). Configured by
// SIRR_AUDIT_SINKS, e.g. "stdout" or "syslog:required,stdout".
//
// Thread safety: AuditLog calls Deliver under its lock; the sinks hold no other state.

#include <memory>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "base/status.h"

namespace sirr::audit {

// One line per record on standard output ("<record>\n").
std::shared_ptr<AuditSink> MakeStdoutSink(bool required);

// RFC 5424 messages over a local datagram socket (default /dev/log): "<86>1 TIMESTAMP HOST
// sirrd PID audit - <record>" (facility authpriv, severity info). Reconnects after a failure;
// a send waits at most 500 ms.
std::shared_ptr<AuditSink> MakeSyslogSink(bool required, std::string socket_path = "/dev/log");

// Parses SIRR_AUDIT_SINKS: comma-separated "stdout" / "syslog", each optionally ":required"
// or ":optional" (the default). The file is always written and is not listed.
StatusOr<std::vector<std::shared_ptr<AuditSink>>> ParseSinks(const std::string& spec,
                                                             const std::string& syslog_socket);

// The RFC 5424 message for a record (exposed for tests).
std::string SyslogMessage(std::string_view record, int64_t time_ms, const std::string& host,
                          int pid);

}  // namespace sirr::audit
