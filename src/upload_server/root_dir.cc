#include "src/upload_server/root_dir.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <system_error>
#include <utility>

#include "src/common/percent.h"
#include "src/common/utf8.h"

namespace openbits::upload {
namespace {

constexpr std::size_t kMaxComponent = 255;
constexpr std::size_t kMaxPath = 4096;

// A decoded component a client can have meant as a file name: well-formed UTF-8 (what a BITS
// client percent-encodes), no control characters (percent_decode already refuses %00).
bool safe_component(const std::string& name) {
  if (name.empty() || name.size() > kMaxComponent || name[0] == '.') return false;
  if (!valid_utf8(name)) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '/' || c == '\\') return false;
  }
  return true;
}

std::string errno_text() { return std::error_code(errno, std::generic_category()).message(); }

}  // namespace

std::string_view strip_authority(std::string_view target) {
  auto scheme_end = target.find("://");
  if (target.empty() || target[0] == '/' || scheme_end == std::string_view::npos) return target;
  auto path_start = target.find('/', scheme_end + 3);
  return path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
}

std::string UrlPath::joined() const {
  std::string out;
  for (const auto& c : components) out += "/" + c;
  return out;
}

std::optional<UrlPath> parse_url_path(std::string_view target) {
  if (target.size() > kMaxPath) return std::nullopt;
  target = strip_authority(target);
  if (target.empty() || target[0] != '/') return std::nullopt;
  UrlPath url;
  auto query_start = target.find('?');
  if (query_start != std::string_view::npos) {
    url.query = std::string(target.substr(query_start + 1));
    target = target.substr(0, query_start);
  }
  if (target.find('#') != std::string_view::npos) return std::nullopt;
  std::size_t pos = 1;
  while (pos <= target.size()) {
    auto end = target.find('/', pos);
    if (end == std::string_view::npos) end = target.size();
    auto raw = target.substr(pos, end - pos);
    pos = end + 1;
    if (raw.empty()) {
      if (end == target.size()) return std::nullopt;  // trailing '/': no file name
      continue;                                       // "//" collapses
    }
    auto decoded = percent_decode(raw);
    if (!decoded || !safe_component(*decoded)) return std::nullopt;
    url.components.push_back(std::move(*decoded));
  }
  if (url.components.empty()) return std::nullopt;
  return url;
}

namespace {

Status local_file_error(std::string message) {
  return Status(hr::E_FAIL, ErrorContext::kLocalFile, std::move(message));
}

}  // namespace

Result<RootDir> RootDir::open(const std::string& path) {
  std::unique_ptr<char, decltype(&::free)> resolved(::realpath(path.c_str(), nullptr), &::free);
  if (!resolved) return local_file_error("root " + path + ": " + errno_text());
  RootDir root;
  root.path_ = resolved.get();
  root.fd_.reset(::open(root.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.fd_.valid()) return local_file_error("root " + root.path_ + ": " + errno_text());
  if (::mkdirat(root.fd(), kStateDirName, 0700) != 0 && errno != EEXIST) {
    return local_file_error("state directory: " + std::string(errno_text()));
  }
  root.state_fd_.reset(
      ::openat(root.fd(), kStateDirName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.state_fd_.valid()) return local_file_error(root.state_path() + ": " + errno_text());
  return root;
}

UniqueFd RootDir::open_parent(const UrlPath& url) const {
  UniqueFd dir(::fcntl(fd(), F_DUPFD_CLOEXEC, 0));
  for (std::size_t i = 0; i + 1 < url.components.size() && dir.valid(); ++i) {
    dir = UniqueFd(::openat(dir.get(), url.components[i].c_str(),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  return dir;
}

}  // namespace openbits::upload
