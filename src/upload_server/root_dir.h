// The upload root: maps request URLs to paths under it and performs every file-system
// operation relative to directory descriptors (openat with O_NOFOLLOW on each component), so
// neither the URL nor a symbolic link planted under the root can make the server touch a
// file outside it. Content-Name is never used as a path. Thread-safe (immutable after open).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openbits/status.h"
#include "src/common/unique_fd.h"

namespace openbits::upload {

// The server's own hidden directory under the root (sessions, replies). URL components that
// start with '.' are refused, so no URL reaches it.
inline constexpr const char* kStateDirName = ".bits-upload-server";

// A request URL split into its safe, percent-decoded path components and its raw query.
struct UrlPath {
  std::vector<std::string> components;  // at least one; none empty, ".", "..", or hidden
  std::string query;                    // without '?'
  std::string joined() const;           // "/a/b.bin"
};

// The path (and query) of an absolute-form request target; other targets unchanged.
std::string_view strip_authority(std::string_view target);

// Parses an origin-form or absolute-form request target. Refuses (nullopt) a target whose
// decoded path has "." / ".." / hidden components, NUL or control characters, '/' or '\'
// inside a component, bad percent escapes, or no file name.
std::optional<UrlPath> parse_url_path(std::string_view target);

class RootDir {
 public:
  // Opens `path` (which must be an existing directory) and creates the state directory.
  [[nodiscard]] static Result<RootDir> open(const std::string& path);

  const std::string& path() const { return path_; }  // absolute, resolved
  int fd() const { return fd_.get(); }
  int state_fd() const { return state_fd_.get(); }
  std::string state_path() const { return path_ + "/" + kStateDirName; }

  // Opens the directory that holds the last component, walking component by component with
  // O_NOFOLLOW. Returns an invalid fd with errno set (ENOENT, ELOOP/ENOTDIR for symlinks).
  UniqueFd open_parent(const UrlPath& url) const;

 private:
  std::string path_;
  UniqueFd fd_;
  UniqueFd state_fd_;
};

}  // namespace openbits::upload
