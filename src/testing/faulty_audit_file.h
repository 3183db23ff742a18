#pragma once

// Test-only: an AuditFileOps that fails on demand, as a full disk or a broken device would:
// writes fail with ENOSPC (optionally after writing part of the record), syncs fail with EIO.

#include <cerrno>

#include <atomic>

#include "audit/audit_file.h"

namespace sirr::testing {

class FaultyAuditFile final : public audit::AuditFileOps {
 public:
  std::atomic<bool> full{false};           // every write fails with ENOSPC
  std::atomic<bool> partial_first{false};  // ... after writing half of what it was given once
  std::atomic<bool> truncate_fails{false};

  ssize_t Write(int fd, const char* data, size_t size) override {
    if (full) {
      if (partial_first.exchange(false) && size > 1)
        return audit::AuditFileOps::Write(fd, data, size / 2);
      errno = ENOSPC;
      return -1;
    }
    return audit::AuditFileOps::Write(fd, data, size);
  }
  int Truncate(int fd, off_t size) override {
    if (truncate_fails) {
      errno = EIO;
      return -1;
    }
    return audit::AuditFileOps::Truncate(fd, size);
  }
};

}  // namespace sirr::testing
