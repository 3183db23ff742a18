// Fuzz target: the audit log readers (DESIGN.md §7): chain verification of one file and of a
// set, the search reader, the sink list and the search bounds. Input: a log file's bytes; the
// first line also feeds the parsers of SIRR_AUDIT_SINKS and the time bounds.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "audit/audit_log.h"
#include "audit/audit_search.h"
#include "audit/audit_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/sirr-fuzz-audit-" + std::to_string(::getpid()) + ".log";
  const std::string text(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  static const sirr::SecretBytes key =
      sirr::SecretBytes::FromString("0123456789abcdef0123456789abcdef");
  const sirr::SecretBytes* keys[] = {&key};
  auto one = sirr::audit::Verify(path, keys, std::nullopt);
  if (one.ok() && one->ok && one->lines > 0 && one->head.seq == 0 && one->first_seq != 0)
    __builtin_trap();  // a verified chain with records ends at a sequence number
  (void)sirr::audit::VerifySet({path, path}, keys, sirr::audit::ChainHead{3, sirr::Bytes(32, 0)});
  const std::string first = text.substr(0, text.find('\n'));
  sirr::audit::AuditQuery q;
  q.since = first;
  q.action = first.empty() ? "" : first.substr(0, 8) + "*";
  q.secret = first;
  q.tail = size % 2 == 0;
  q.limit = static_cast<int>(size % 5) + 1;
  auto page = sirr::audit::Search({path}, q);
  if (page.ok() && static_cast<int>(page->records.size()) > q.limit) __builtin_trap();
  (void)sirr::audit::ParseSinks(first, "/nonexistent/sirr-fuzz.sock");
  ::unlink(path.c_str());
  return 0;
}
