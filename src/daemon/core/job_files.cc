// The core's file operations on users' files. See job_files.h.
#include "src/daemon/core/job_files.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "openbits/names.h"
#include "src/common/ids.h"
#include "src/common/unique_fd.h"
#include "src/daemon/core/validation.h"
#include "src/daemon/security/owner_path.h"
#include "src/daemon/security/user_open.h"

namespace openbits::daemon {

Status check_file_source(const Credentials& owner, const std::string& path) {
  ScopedFsCredentials as_owner(owner);
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status(hr::E_INVALIDARG,
                  "the source " + path + " is a directory; a file:// name must name a file");
  }
  return Status();
}

HRESULT hresult_from_errno(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
      return hr::E_ACCESSDENIED;
    case ENOENT:
      return hr::FILE_NOT_FOUND;
    case ENOTDIR:
      return hr::PATH_NOT_FOUND;
    case ELOOP:
      return hr::E_ACCESSDENIED;  // a symlink where a directory or the file should be
    case ENOSPC:
    case EDQUOT:
      return hr::DISK_FULL;
    default:
      return hr::E_FAIL;
  }
}

namespace {

void set_modification_time(const OwnerDir& dir, const std::string& leaf, std::int64_t mtime_ms) {
  if (mtime_ms <= 0) return;
  struct timespec times[2];
  times[0].tv_sec = mtime_ms / 1000;
  times[0].tv_nsec = (mtime_ms % 1000) * 1000000;
  times[1] = times[0];
  (void)::utimensat(dir.fd(), leaf.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

Status delivery_failed(const JobRecord& job, const std::string& local, int err) {
  spdlog::warn("job {}: cannot deliver {}: {}", to_string(job.info.id), local, std::strerror(err));
  return Status(hresult_from_errno(err), "cannot deliver " + local + ": " + std::strerror(err));
}

// Copies the owner, group and mode of `source` to the open temp file, as BITS's flags ask.
Status apply_acl_flags_to(int temp, std::uint32_t flags, const struct stat& source) {
  if ((flags & (kCopyFileOwner | kCopyFileGroup)) != 0) {
    uid_t uid = (flags & kCopyFileOwner) ? source.st_uid : static_cast<uid_t>(-1);
    gid_t gid = (flags & kCopyFileGroup) ? source.st_gid : static_cast<gid_t>(-1);
    if (::fchown(temp, uid, gid) != 0) {
      return Status(hr::E_ACCESSDENIED,
                    std::string("cannot copy owner/group: ") + std::strerror(errno));
    }
  }
  if ((flags & kCopyFileDacl) != 0 && ::fchmod(temp, source.st_mode & 07777) != 0) {
    return Status(hr::E_ACCESSDENIED,
                  std::string("cannot copy permissions: ") + std::strerror(errno));
  }
  return Status();  // SACL: Linux has no audit ACL on files; nothing to copy
}

}  // namespace

std::string temp_name_for(const std::string& local_name) {
  return parent_directory(local_name) + (parent_directory(local_name) == "/" ? "" : "/") + ".BIT" +
         random_hex_id(8) + ".tmp";
}

std::string reply_temp_name_for(const std::string& reply_file_name) {
  return temp_name_for(reply_file_name);
}

Status check_reply_destination(const Credentials& owner, const std::string& reply_file_name) {
  return check_destination(owner, reply_file_name);
}

Status check_destination(const Credentials& owner, const std::string& local_name) {
  ScopedFsCredentials as_owner(owner);
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  std::string dir = parent_directory(local_name);
  // The rule the transfer and Complete apply (owner_path.h): the directory itself may not
  // be a symlink, and for root's jobs no component of its path may be.
  OwnerDir opened(local_name, owner.uid == 0);
  if (!opened.ok()) {
    if (opened.error() == EACCES) return Status(hr::E_ACCESSDENIED, "cannot reach " + dir);
    if (opened.error() == ELOOP) {
      return Status(hr::E_ACCESSDENIED,
                    dir + " is a symlink" + (owner.uid == 0 ? " or under one" : ""));
    }
    if (opened.error() == ENOTDIR) return Status(hr::PATH_NOT_FOUND, dir + " is not a directory");
    return Status(hr::PATH_NOT_FOUND, "the directory " + dir + " does not exist");
  }
  struct stat st {};
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return Status(hr::E_ACCESSDENIED, "the job owner cannot write to " + dir);
  }
  if (::lstat(local_name.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status(hr::E_INVALIDARG, local_name + " is a directory");
  }
  return Status();
}

Status check_upload_source(const Credentials& owner, const std::string& local_name) {
  ScopedFsCredentials as_owner(owner);
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  // A terminal, device or FIFO is refused before it is opened (open_regular_file).
  RegularFile file = open_regular_file(AT_FDCWD, local_name);
  UniqueFd opened(file.fd);  // only the check: closed again
  if (file.not_regular) return Status(hr::E_INVALIDARG, local_name + " is not a regular file");
  if (!opened.valid()) {
    if (file.error == ENOENT || file.error == ENOTDIR) {
      return Status(hr::FILE_NOT_FOUND, local_name + " does not exist");
    }
    return Status(hr::E_ACCESSDENIED, "the job owner cannot read " + local_name);
  }
  return Status();
}

Status apply_acl_flags(const JobRecord& job, const FileRecord& file) {
  std::uint32_t flags = job.info.file_acl_flags;
  // Only the kind matters here: no length limit (the config's may have changed since).
  auto remote =
      validate_remote_name(file.info.remote_name, std::numeric_limits<std::size_t>::max());
  if (flags == 0 || !remote.ok() || remote->kind != RemoteKind::kFile) return Status();
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  struct stat source {};
  if (!as_owner.ok() || ::stat(remote->path.c_str(), &source) != 0) {
    return Status(hr::E_ACCESSDENIED, "cannot read the source's owner and permissions");
  }
  OwnerDir dir(file.info.temporary_name, job.info.owner_uid == 0);
  std::string leaf = leaf_name(file.info.temporary_name);
  UniqueFd temp(dir.ok() ? openat_user_path(dir.fd(), leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
                         : -1);
  if (!temp.valid()) {
    return Status(hr::E_ACCESSDENIED, std::string("cannot open the temporary file: ") +
                                          std::strerror(dir.ok() ? errno : dir.error()));
  }
  return apply_acl_flags_to(temp.get(), flags, source);
}

HRESULT delete_temp_files(const JobRecord& job, bool only_unfinished) {
  std::vector<const std::string*> temps;
  for (const FileRecord& file : job.files) {
    if (only_unfinished && file.transferred) continue;
    // HIGH_PERFORMANCE writes straight into the local name: the caller cleans up.
    if (file.info.temporary_name != file.info.local_name) {
      temps.push_back(&file.info.temporary_name);
    }
  }
  if (temps.empty()) return hr::S_OK;
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  if (!as_owner.ok()) {
    // Unlinking as root could remove what the owner could not: leave every file.
    spdlog::warn("job {}: cannot act as uid {}; its {} temporary file(s) are left in place",
                 to_string(job.info.id), job.info.owner_uid, temps.size());
    return hr::BG_S_UNABLE_TO_DELETE_FILES;
  }
  HRESULT result = hr::S_OK;
  for (const std::string* temp : temps) {
    OwnerDir dir(*temp, job.info.owner_uid == 0);
    int err = dir.ok() ? 0 : dir.error();
    if (dir.ok() && ::unlinkat(dir.fd(), leaf_name(*temp).c_str(), 0) != 0) err = errno;
    if (err == 0 || err == ENOENT) continue;  // deleted, never created, or already gone
    spdlog::warn("job {}: cannot delete temporary file {}: {}", to_string(job.info.id), *temp,
                 std::strerror(err));
    result = hr::BG_S_UNABLE_TO_DELETE_FILES;
  }
  return result;
}

Status deliver_files(JobRecord& job) {
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  for (FileRecord& file : job.files) {
    if (!file.transferred || (file.info.validation_known && !file.info.validation_state)) {
      continue;
    }
    const std::string& temp = file.info.temporary_name;
    const std::string& local = file.info.local_name;
    // The temp file lives in the destination's directory: one descriptor serves both names.
    OwnerDir dir(local, job.info.owner_uid == 0);
    if (!dir.ok()) return delivery_failed(job, local, dir.error());
    std::string temp_leaf = leaf_name(temp);
    std::string local_leaf = leaf_name(local);
    if (temp == local) {  // HIGH_PERFORMANCE: already in place
      set_modification_time(dir, local_leaf, file.remote_mtime_ms);
      continue;
    }
    struct stat st {};
    if (::fstatat(dir.fd(), temp_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT &&
        ::fstatat(dir.fd(), local_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      continue;  // delivered by an earlier Complete that did not finish
    }
    // renameat(2) replaces the final component itself, never following a symlink there.
    if (::renameat(dir.fd(), temp_leaf.c_str(), dir.fd(), local_leaf.c_str()) != 0) {
      return delivery_failed(job, local, errno);
    }
    set_modification_time(dir, local_leaf, file.remote_mtime_ms);
    file.info.validation_state = true;
    file.info.validation_known = true;
    // The new name must be on disk before ACKNOWLEDGED is committed, or a power cut could
    // leave a finished job whose file still carries its temporary name.
    sync_directory(dir);
  }
  return Status();
}

Status deliver_reply(const JobRecord& job) {
  const JobRecord::Upload& u = job.upload;
  if (!u.reply_done) return Status(hr::BG_E_INVALID_STATE, "the reply has not arrived");
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  const std::string& target = job.info.reply_file_name;
  // Both directories are opened once as the owner and every step is relative to them, so a
  // directory swapped for a symlink cannot redirect the rename (docs/security.md).
  bool no_symlinks = job.info.owner_uid == 0;
  OwnerDir from(u.reply_temp_name, no_symlinks);
  OwnerDir to(target, no_symlinks);
  if (!from.ok() || !to.ok()) {
    int err = from.ok() ? to.error() : from.error();
    return Status(hresult_from_errno(err), "cannot deliver " + target + ": " + std::strerror(err));
  }
  std::string temp_leaf = leaf_name(u.reply_temp_name);
  std::string target_leaf = leaf_name(target);
  struct stat st {};
  if (::fstatat(from.fd(), temp_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT &&
      ::fstatat(to.fd(), target_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return Status();  // delivered by an earlier Complete that did not finish
  }
  if (::renameat(from.fd(), temp_leaf.c_str(), to.fd(), target_leaf.c_str()) != 0) {
    int err = errno;
    return Status(hresult_from_errno(err), "cannot deliver " + target + ": " + std::strerror(err));
  }
  sync_directory(to);
  return Status();
}

Result<std::string> read_reply(const std::string& path, std::uint64_t offset, std::uint64_t length,
                               std::uint64_t max_size, std::uint64_t& reply_size) {
  RegularFile file = open_regular_file(AT_FDCWD, path, O_NOFOLLOW);
  if (file.not_regular) {
    return Status(hr::E_ACCESSDENIED, "the reply " + path + " is not a regular file");
  }
  UniqueFd fd(file.fd);
  if (!fd.valid()) return Status(hresult_from_errno(file.error), "cannot read the reply " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Status(hr::E_ACCESSDENIED, "the reply " + path + " is not a regular file");
  }
  reply_size = static_cast<std::uint64_t>(st.st_size);
  if (reply_size > max_size) {
    return Status(hr::BG_E_TOO_LARGE, "the reply is " + std::to_string(reply_size) +
                                          " bytes, more than GetReplyData returns (1 MiB)");
  }
  length = offset >= reply_size ? 0 : std::min(length, reply_size - offset);
  std::string data(length, '\0');
  ssize_t got = ::pread(fd.get(), data.data(), length, static_cast<off_t>(offset));
  if (got < 0) return Status(hresult_from_errno(errno), "cannot read the reply " + path);
  data.resize(static_cast<std::size_t>(got));
  return data;
}

}  // namespace openbits::daemon
