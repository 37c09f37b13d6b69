// JobManager file operations on users' directories: delivering finished temp files on
// Complete and deleting temp files on Cancel. Every call runs under the owner's
// file-system identity (ScopedFsCredentials), so bitsd can never rename or delete where
// the owner could not. See job_manager.h.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "openbits/names.h"
#include "src/daemon/job_manager.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/daemon/validation.h"

namespace openbits::daemon {
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
    case ENOSPC:
    case EDQUOT:
      return hr::DISK_FULL;
    default:
      return hr::E_FAIL;
  }
}

namespace {

void set_modification_time(const std::string& path, std::int64_t mtime_ms) {
  if (mtime_ms <= 0) return;
  struct timespec times[2];
  times[0].tv_sec = mtime_ms / 1000;
  times[0].tv_nsec = (mtime_ms % 1000) * 1000000;
  times[1] = times[0];
  (void)::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

}  // namespace

Status JobManager::apply_acl_flags(const JobRecord& job, const FileRecord& file) {
  std::uint32_t flags = job.info.file_acl_flags;
  auto remote = validate_remote_name(file.info.remote_name);
  if (flags == 0 || !remote.ok() || remote->kind != RemoteKind::kFile) return Status();
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  struct stat source {};
  if (!as_owner.ok() || ::stat(remote->path.c_str(), &source) != 0) {
    return Status(hr::E_ACCESSDENIED, "cannot read the source's owner and permissions");
  }
  const char* temp = file.info.temporary_name.c_str();
  if ((flags & (kCopyFileOwner | kCopyFileGroup)) != 0) {
    uid_t uid = (flags & kCopyFileOwner) ? source.st_uid : static_cast<uid_t>(-1);
    gid_t gid = (flags & kCopyFileGroup) ? source.st_gid : static_cast<gid_t>(-1);
    if (::lchown(temp, uid, gid) != 0) {
      return Status(hr::E_ACCESSDENIED,
                    std::string("cannot copy owner/group: ") + std::strerror(errno));
    }
  }
  if ((flags & kCopyFileDacl) != 0 && ::chmod(temp, source.st_mode & 07777) != 0) {
    return Status(hr::E_ACCESSDENIED,
                  std::string("cannot copy permissions: ") + std::strerror(errno));
  }
  return Status();  // SACL: Linux has no audit ACL on files; nothing to copy
}

HRESULT JobManager::delete_temp_files(const JobRecord& job, bool only_unfinished) {
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  HRESULT result = hr::S_OK;
  for (const FileRecord& file : job.files) {
    if (only_unfinished && file.transferred) continue;
    const std::string& temp = file.info.temporary_name;
    if (temp == file.info.local_name) continue;  // HIGH_PERFORMANCE: caller cleans up
    if (!as_owner.ok() || (::unlink(temp.c_str()) != 0 && errno != ENOENT)) {
      spdlog::warn("job {}: cannot delete temporary file {}: {}", to_string(job.info.id), temp,
                   std::strerror(errno));
      result = hr::BG_S_UNABLE_TO_DELETE_FILES;
    }
  }
  return result;
}

namespace {

void sync_parent_directory(const std::string& path) {
  std::size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

Status JobManager::deliver_files(JobRecord& job) {
  ScopedFsCredentials as_owner(credentials_for(job.info.owner_uid, job.owner_gid));
  if (!as_owner.ok()) return Status(hr::E_ACCESSDENIED, "cannot assume the owner's identity");
  for (FileRecord& file : job.files) {
    if (!file.transferred || (file.info.validation_known && !file.info.validation_state)) {
      continue;
    }
    const std::string& temp = file.info.temporary_name;
    const std::string& local = file.info.local_name;
    if (temp == local) {  // HIGH_PERFORMANCE: already in place
      set_modification_time(local, file.remote_mtime_ms);
      continue;
    }
    struct stat st {};
    if (::lstat(temp.c_str(), &st) != 0 && errno == ENOENT && ::lstat(local.c_str(), &st) == 0) {
      continue;  // delivered by an earlier Complete that did not finish
    }
    // rename(2) replaces the final component itself, never following a symlink there.
    if (::rename(temp.c_str(), local.c_str()) != 0) {
      int err = errno;
      spdlog::warn("job {}: cannot rename {} to {}: {}", to_string(job.info.id), temp, local,
                   std::strerror(err));
      return Status(hresult_from_errno(err), "cannot deliver " + local + ": " + std::strerror(err));
    }
    set_modification_time(local, file.remote_mtime_ms);
    file.info.validation_state = true;
    file.info.validation_known = true;
    // The new name must be on disk before ACKNOWLEDGED is committed, or a power cut could
    // leave a finished job whose file still carries its temporary name.
    sync_parent_directory(local);
  }
  return Status();
}

}  // namespace openbits::daemon
