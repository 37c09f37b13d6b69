// Content files of the peer cache; see peer_cache_content.h.
#include "src/daemon/core/peer_cache_content.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

#include "src/daemon/core/job_files.h"

namespace openbits::daemon {
namespace {

constexpr std::size_t kChunk = 1 << 20;

Status errno_status(const char* what) {
  int err = errno;
  return Status(hresult_from_errno(err),
                std::string(what) + ": " + std::error_code(err, std::generic_category()).message());
}

// Hashes bytes [offset, offset + length) of `fd`.
Status hash_range(int fd, std::uint64_t offset, std::uint64_t length, std::vector<char>& buffer,
                  Sha256& hash) {
  while (length > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("cannot read the cached copy");
    if (n == 0) return Status(hr::E_FAIL, "the cached copy is shorter than its record");
    hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  return Status();
}

Status write_all(int fd, const char* data, std::size_t length, std::uint64_t offset) {
  while (length > 0) {
    ssize_t n = ::pwrite(fd, data, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_status("cannot write the cached copy");
    data += n;
    length -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return Status();
}

// One chunk at `offset` by read and write, hashed on the way: the bytes written.
Result<std::uint64_t> copy_chunk_by_hand(int source, int target, std::uint64_t offset,
                                         std::size_t want, std::vector<char>& buffer,
                                         Sha256& hash) {
  ssize_t n;
  do {
    n = ::pread(source, buffer.data(), want, static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_status("cannot read the file to cache");
  auto got = static_cast<std::size_t>(n);
  if (Status s = write_all(target, buffer.data(), got, offset); !s.ok()) return s;
  hash.update(std::string_view(buffer.data(), got));
  return std::uint64_t{got};
}

// copy_file_range cannot cross some pairs of file systems (EXDEV) and is missing on some
// (ENOSYS, EOPNOTSUPP, EINVAL): the copy goes on by hand.
bool copy_range_unsupported(int err) {
  return err == EXDEV || err == ENOSYS || err == EOPNOTSUPP || err == EINVAL;
}

// One chunk at `offset`, in the kernel when it can (the bytes are then hashed as read back
// from `target`): the bytes copied, 0 at the end of `source`.
Result<std::uint64_t> copy_chunk(int source, int target, std::uint64_t offset, std::size_t want,
                                 bool& by_hand, std::vector<char>& buffer, Sha256& hash) {
  if (!by_hand) {
    ssize_t n;
    do {
      auto in = static_cast<off_t>(offset);
      auto out = static_cast<off_t>(offset);
      n = ::copy_file_range(source, &in, target, &out, want, 0);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
      Status hashed = hash_range(target, offset, static_cast<std::uint64_t>(n), buffer, hash);
      if (!hashed.ok()) return hashed;
      return static_cast<std::uint64_t>(n);
    }
    if (!copy_range_unsupported(errno)) return errno_status("cannot copy the file to cache");
    by_hand = true;
  }
  return copy_chunk_by_hand(source, target, offset, want, buffer, hash);
}

Status check_source_size(int source, std::uint64_t size) {
  struct stat st {};
  if (::fstat(source, &st) != 0) return errno_status("cannot stat the file to cache");
  if (!S_ISREG(st.st_mode)) return Status(hr::E_INVALIDARG, "the file to cache is not a file");
  if (static_cast<std::uint64_t>(st.st_size) != size) {
    return Status(hr::E_INVALIDARG, "the file to cache is not of its record's size");
  }
  return Status();
}

Result<std::string> copy_in_chunks(int source, int target, std::uint64_t size) {
  std::vector<char> buffer(kChunk);
  Sha256 hash;
  bool by_hand = false;
  for (std::uint64_t offset = 0; offset < size;) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(size - offset, kChunk));
    auto copied = copy_chunk(source, target, offset, want, by_hand, buffer, hash);
    if (!copied.ok()) return copied.status();
    if (*copied == 0) return Status(hr::E_INVALIDARG, "the file to cache ended early");
    offset += *copied;
  }
  return hash.hex();
}

}  // namespace

Result<std::string> copy_with_sha256(int source, int target, std::uint64_t size) {
  if (Status s = check_source_size(source, size); !s.ok()) return s;
  if (::ioctl(target, FICLONE, source) == 0) {
    // The clone is the whole source: still of `size` bytes (checked again: it may have
    // grown since), hashed as the cache now holds it.
    if (Status s = check_source_size(target, size); !s.ok()) return s;
    return sha256_of_file(target);
  }
  return copy_in_chunks(source, target, size);
}

Result<std::string> sha256_of_file(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_status("cannot stat the cached copy");
  std::vector<char> buffer(kChunk);
  Sha256 hash;
  Status s = hash_range(fd, 0, static_cast<std::uint64_t>(st.st_size), buffer, hash);
  if (!s.ok()) return s;
  return hash.hex();
}

}  // namespace openbits::daemon
