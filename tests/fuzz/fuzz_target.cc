// Fuzz target: request-target parsing and percent-decoding (api/http_types).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/http_types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  auto parsed = sirr::api::ParseTarget(target);
  if (parsed.ok()) {
    (void)parsed->Query("page");
    (void)parsed->HasQuery("overwrite");
  }
  (void)sirr::api::PercentDecode(target, true);
  (void)sirr::api::PercentDecode(target, false);
  return 0;
}
