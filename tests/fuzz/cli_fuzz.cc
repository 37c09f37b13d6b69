// libFuzzer target: bitsadmin's grammar. Arbitrary argv (NUL-separated) through
// parse_invocation and the value parsers; nothing may crash, and round trips must hold.
#include <string>
#include <vector>

#include "src/cli/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace openbits::cli;
  std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t end = input.find('\0', start);
    if (end == std::string::npos) end = input.size();
    argv.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  Invocation inv = parse_invocation(argv);
  for (const std::string& arg : inv.args) {
    (void)parse_number(arg);
    (void)parse_range_list(arg);
    (void)null_or(arg);
    if (auto flags = parse_acl_flags(arg)) {
      if (parse_acl_flags(acl_letters(*flags)) != flags) __builtin_trap();
    }
  }
  return 0;
}
