#pragma once

// Test helper: a fresh directory per test, named after the running gtest case (and the pid, so
// parallel ctest runs do not collide), removed when the TempDir is destroyed.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace sirr::testing {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  // Writes `content` to path()/name (replacing it) with `mode`; returns the file's path.
  std::string Write(std::string_view name, std::string_view content, mode_t mode = 0600) const;

 private:
  std::filesystem::path path_;
};

}  // namespace sirr::testing
