#include "base/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace sirr {

int64_t SystemClock::NowMillis() const {
  using namespace std::chrono;  // NOLINT: local, for duration names only.
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Clock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}

std::string FormatRfc3339(int64_t millis) {
  // Pure arithmetic (no gmtime_r, which takes glibc's timezone lock, and no snprintf): this
  // runs for every audit line. Days to civil date as in H. Hinnant's "chrono-compatible
  // low-level date algorithms".
  int64_t secs = millis / 1000;
  int ms = static_cast<int>(millis % 1000);
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return "invalid-time";
  char buf[] = "0000-00-00T00:00:00.000Z";
  auto put = [&](int pos, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[pos + i] = static_cast<char>('0' + v % 10);
  };
  put(0, year, 4);
  put(5, month, 2);
  put(8, day, 2);
  put(11, sod / 3600, 2);
  put(14, sod / 60 % 60, 2);
  put(17, sod % 60, 2);
  put(20, ms, 3);
  return std::string(buf, sizeof buf - 1);
}

}  // namespace sirr
