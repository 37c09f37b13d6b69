// A fresh directory under the system temp directory, removed with everything in it when
// the TempDir goes. Open to every user (0777): tests run commands and bitsd callers as
// other uids that write into it.
#pragma once

#include <string>

namespace openbits::test {

class TempDir {
 public:
  // The directory is named "<prefix>-XXXXXX"; throws std::runtime_error if it cannot be made.
  explicit TempDir(const std::string& prefix = "openbits-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace openbits::test
