// See temp_dir.h.
#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace openbits::test {
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& prefix) {
  std::string templ = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  path_ = templ;
  fs::permissions(path_, fs::perms::all);
}

TempDir::~TempDir() {
  std::error_code ignored;  // a test's leftovers must not turn into a second failure
  fs::remove_all(path_, ignored);
}

}  // namespace openbits::test
