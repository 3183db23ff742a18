#include "audit/audit_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace sirr::audit {

int AuditFileOps::OpenAppend(const std::string& path, bool exclusive) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0),
                0600);
}

ssize_t AuditFileOps::Write(int fd, const char* data, size_t size) {
  return ::write(fd, data, size);
}

int AuditFileOps::Truncate(int fd, off_t size) { return ::ftruncate(fd, size); }

int AuditFileOps::Sync(int fd) { return ::fdatasync(fd); }

int AuditFileOps::Close(int fd) { return ::close(fd); }

int AuditFileOps::Rename(const std::string& from, const std::string& to) {
  return std::rename(from.c_str(), to.c_str());
}

int AuditFileOps::Stat(int fd, Info* info) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -1;
  info->size = st.st_size;
  info->id = FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  info->regular = S_ISREG(st.st_mode);
  info->linked = st.st_nlink > 0;
  return 0;
}

int AuditFileOps::StatPath(const std::string& path, FileId* id) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  *id = FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  return 0;
}

AuditFileOps& AuditFileOps::Posix() {
  static AuditFileOps ops;
  return ops;
}

}  // namespace sirr::audit
