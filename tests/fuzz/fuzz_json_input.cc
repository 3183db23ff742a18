// Fuzz target: the JSON request boundary (api/json_input) as the secrets and unseal routes use it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/json_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = sirr::api::ParseJsonObject(body);
  if (!parsed.ok()) return 0;
  for (const char* field : {"name", "value", "key", "ttl_seconds", "max_reads"}) {
    (void)sirr::api::OptionalString(*parsed, field);
    (void)sirr::api::OptionalInt(*parsed, field);
  }
  sirr::api::WipeStringMember(*parsed, "value");
  return 0;
}
