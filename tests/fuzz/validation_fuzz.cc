// libFuzzer target: validation of remote names, local names, headers, methods and ranges.
// Nothing may crash; accepted local names must be absolute and normalised.
#include <cstring>
#include <string>
#include <vector>

#include "src/daemon/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace openbits;
  using namespace openbits::daemon;
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)validate_remote_name(text);
  if (validate_local_name(text).ok()) {
    if (text.empty() || text.front() != '/' || text.find("/../") != std::string::npos ||
        text.find("//") != std::string::npos) {
      __builtin_trap();
    }
    (void)parent_directory(text);
  }
  (void)validate_custom_headers(text);
  (void)validate_http_method(text);
  std::vector<FileRange> ranges;
  for (std::size_t i = 0; i + 16 <= size; i += 16) {
    FileRange r;
    std::memcpy(&r.initial_offset, data + i, 8);
    std::memcpy(&r.length, data + i + 8, 8);
    ranges.push_back(r);
  }
  (void)validate_ranges(ranges, 500);
  return 0;
}
