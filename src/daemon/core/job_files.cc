// JobManager file operations on users' directories: delivering finished temp files on
// Complete and deleting temp files on Cancel. Every call runs under the owner's
// file-system identity (ScopedFsCredentials), so bitsd can never rename or delete where
// the owner could not, and each file's directory is opened once (OwnerDir: O_PATH,
// O_NOFOLLOW) with every step relative to it, so nothing is re-resolved between the
// check and the use. See job_manager.h and docs/security.md.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "openbits/names.h"
#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/validation.h"
#include "src/daemon/security/fs_credentials.h"
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

Status JobManager::apply_acl_flags(const JobRecord& job, const FileRecord& file) {
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
  int temp = dir.ok() ? openat_user_path(dir.fd(), leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) : -1;
  if (temp < 0) {
    return Status(hr::E_ACCESSDENIED, std::string("cannot open the temporary file: ") +
                                          std::strerror(dir.ok() ? errno : dir.error()));
  }
  Status result = apply_acl_flags_to(temp, flags, source);
  ::close(temp);
  return result;
}

HRESULT JobManager::delete_temp_files(const JobRecord& job, bool only_unfinished) {
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

Status JobManager::deliver_files(JobRecord& job) {
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

}  // namespace openbits::daemon
