#pragma once

// The audit log's view of the file system: the few POSIX calls it makes, behind an interface
// so that tests can fail any of them at any step (disk full in the middle of a record, a
// failing sync, a removed file), in the spirit of LevelDB's Env.
//
// Thread safety: implementations are thread-safe (the POSIX one holds no state).

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sirr::audit {

struct FileId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool operator==(const FileId&) const = default;
};

class AuditFileOps {
 public:
  virtual ~AuditFileOps() = default;
  // Each returns what the POSIX call returns (-1 with errno set on failure).
  virtual int OpenAppend(const std::string& path, bool exclusive);  // O_WRONLY|O_APPEND|O_CREAT
  virtual ssize_t Write(int fd, const char* data, size_t size);
  virtual int Truncate(int fd, off_t size);
  virtual int Sync(int fd);
  virtual int Close(int fd);
  virtual int Rename(const std::string& from, const std::string& to);
  // Size, identity and whether `fd` is a regular file and still has a name (link count > 0).
  struct Info {
    off_t size = 0;
    FileId id;
    bool regular = false;
    bool linked = false;
  };
  virtual int Stat(int fd, Info* info);
  // Identity of whatever is at `path` now; -1 (errno ENOENT) when nothing is.
  virtual int StatPath(const std::string& path, FileId* id);

  // The process-wide POSIX implementation.
  static AuditFileOps& Posix();
};

}  // namespace sirr::audit
