// File operations of the core on users' files, always under the owner's file-system
// identity (ScopedFsCredentials), so bitsd can never create, rename, read or delete where
// the owner could not: AddFile's checks, temp names, delivery on Complete, deletion on
// Cancel, the reply of upload-reply jobs. Each file's directory is opened once (OwnerDir:
// O_PATH, O_NOFOLLOW) and every step is relative to it (docs/security.md).
//
// Threading: free functions on records the caller holds under JobManager's mutex.
#pragma once

#include <cstdint>
#include <string>

#include "openbits/status.h"
#include "src/daemon/core/job_record.h"
#include "src/daemon/security/fs_credentials.h"

namespace openbits::daemon {

// The HRESULT for an errno from a local file operation.
HRESULT hresult_from_errno(int err);

// A new ".BIT<hex>.tmp" name in the directory of `local_name`.
std::string temp_name_for(const std::string& local_name);
// The temp name for a reply file.
std::string reply_temp_name_for(const std::string& reply_file_name);

// AddFile of a download, as the owner: the destination directory exists and can take new
// files, and the name is not a directory. Also the check of a reply file's name.
Status check_destination(const Credentials& owner, const std::string& local_name);
Status check_reply_destination(const Credentials& owner, const std::string& reply_file_name);
// AddFile of an upload, as the owner: the file exists, is regular and can be read.
Status check_upload_source(const Credentials& owner, const std::string& local_name);
// AddFile of a file:// source, as the owner, without opening it: one that exists must not
// be a directory (E_INVALIDARG saying so); one that does not exist yet may appear later.
Status check_file_source(const Credentials& owner, const std::string& path);

// Deletes the job's temp files (only those of unfinished files if `only_unfinished`):
// BG_S_UNABLE_TO_DELETE_FILES when one stays.
HRESULT delete_temp_files(const JobRecord& job, bool only_unfinished);
// Complete of a download: every finished, valid temp file onto its name.
Status deliver_files(JobRecord& job);
// SetFileACLFlags for file:// sources: owner, group and mode of the source, applied to
// the finished temp file as the job owner.
Status apply_acl_flags(const JobRecord& job, const FileRecord& file);

// Complete of an upload-reply job: the reply onto its name.
Status deliver_reply(const JobRecord& job);
// Up to `length` bytes of the reply file from `offset`, read as the caller's identity
// already is; `reply_size` receives its size. A reply over `max_size` is BG_E_TOO_LARGE:
// no bytes, only the size.
Result<std::string> read_reply(const std::string& path, std::uint64_t offset, std::uint64_t length,
                               std::uint64_t max_size, std::uint64_t& reply_size);

}  // namespace openbits::daemon
