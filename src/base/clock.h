#pragma once

// Injectable time. Production code asks a Clock; tests use FakeClock to move time by hand.
// Thread safety: implementations are thread-safe.

#include <atomic>
#include <cstdint>
#include <string>

namespace sirr {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (UTC).
  virtual int64_t NowMillis() const = 0;
  int64_t NowSeconds() const { return NowMillis() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  static Clock& Get();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_millis = 1'700'000'000'000) : now_(start_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  void AdvanceMillis(int64_t ms) { now_ += ms; }
  void AdvanceSeconds(int64_t s) { now_ += s * 1000; }

 private:
  std::atomic<int64_t> now_;
};

// "2026-11-23T10:00:00.123Z" (RFC 3339, UTC, millisecond precision).
std::string FormatRfc3339(int64_t millis);

}  // namespace sirr
