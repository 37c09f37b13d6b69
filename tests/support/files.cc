// See files.h.
#include "tests/support/files.h"

#include <fstream>
#include <sstream>

namespace openbits::test {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace openbits::test
