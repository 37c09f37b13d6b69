// The file-source path of the transfer engine: file:// URLs and absolute paths are copied
// by the engine thread in bounded chunks, the source opened with the owner's credentials so
// the owner's permissions apply. Validators are the source's size and mtime. Engine thread.
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "src/common/percent.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/security/user_open.h"
#include "src/daemon/transfer/transfer_internal.h"

namespace openbits::daemon::transfer_detail {
namespace {

// "/p" -> "/p"; "file:///p" and "file://localhost/p" -> "/p" (decoded); other hosts -> none.
std::optional<std::string> source_path(const std::string& remote) {
  if (!remote.empty() && remote.front() == '/') return remote;
  std::string rest = remote.substr(7);
  if (strncasecmp(rest.c_str(), "localhost/", 10) == 0) rest = rest.substr(9);
  if (rest.empty() || rest.front() != '/') return std::nullopt;
  return percent_decode(rest);
}

std::string mtime_text(const struct stat& st) {
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

bool is_file_source(const std::string& remote) {
  return (!remote.empty() && remote.front() == '/') ||
         strncasecmp(remote.c_str(), "file://", 7) == 0;
}

bool open_source(Transfer& t) {
  auto path = source_path(t.common().remote_name);
  if (!path) {
    t.fail({hr::PATH_NOT_FOUND, ErrorContext::kRemoteFile, false},
           "not a local file URL: " + t.common().remote_name);
    return false;
  }
  RegularFile source;
  {
    ScopedFsCredentials as_owner(t.common().owner);
    // A terminal, device or FIFO planted as the source is refused before it is opened.
    source = as_owner.ok() ? open_regular_file(AT_FDCWD, *path) : RegularFile{-1, EACCES, false};
  }
  if (source.not_regular) {
    t.fail({hr::E_INVALIDARG, ErrorContext::kRemoteFile, false}, *path + " is not a file");
    return false;
  }
  t.source_fd = source.fd;
  struct stat st {};
  int err = source.error;
  if (t.source_fd < 0 || ::fstat(t.source_fd, &st) != 0) {
    if (t.source_fd >= 0) err = errno;
    t.fail(classify_source_errno(err), "cannot read " + *path + ": " + std::strerror(err));
    return false;
  }
  t.seen.size = static_cast<std::uint64_t>(st.st_size);
  t.seen.last_modified = mtime_text(st);
  t.seen.accept_ranges = true;
  t.mtime_ms = std::int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
  return true;
}

namespace {

// After the last byte: the source must still be what was announced.
void check_source_unchanged(Transfer& t) {
  struct stat st {};
  if (::fstat(t.source_fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != t.seen.size ||
      mtime_text(st) != t.seen.last_modified) {
    t.fail({hr::BG_E_REMOTE_FILE_CHANGED, ErrorContext::kRemoteFile, true},
           "the source changed during the copy");
  }
}

}  // namespace

void copy_some(Transfer& t, std::vector<char>& buffer, std::uint64_t budget) {
  std::uint64_t copied = 0;
  while (copied < budget && t.offset < t.total && !t.failure) {
    auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), t.total - t.offset));
    ssize_t n = ::pread(t.source_fd, buffer.data(), want, static_cast<off_t>(t.offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      t.fail(n == 0 ? Failure{hr::BG_E_REMOTE_FILE_CHANGED, ErrorContext::kRemoteFile, true}
                    : classify_source_errno(errno),
             n == 0 ? "the source shrank during the copy" : std::strerror(errno));
      return;
    }
    if (!write_all(t, buffer.data(), static_cast<std::size_t>(n))) return;
    copied += static_cast<std::uint64_t>(n);
    if (checkpoint_due(t) && !checkpoint(t)) return;
  }
  if (!t.failure && t.offset >= t.total) check_source_unchanged(t);
}

}  // namespace openbits::daemon::transfer_detail
