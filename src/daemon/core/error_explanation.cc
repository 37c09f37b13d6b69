// Job-specific error descriptions; see error_explanation.h.
#include "src/daemon/core/error_explanation.h"

#include "src/daemon/core/validation.h"

namespace openbits::daemon {
namespace {

// The last Ack acknowledged every byte but named no reply (upload_transfer.cc
// continue_from): the server committed the upload and has nothing to answer with.
bool upload_without_reply(const JobRecord& job, const ErrorInfo& error) {
  if (job.info.type != JobType::kUploadReply || job.files.empty() || job.upload.sent) return false;
  if (error.code != hr::BG_E_INVALID_SERVER_RESPONSE || job.info.state != JobState::kError) {
    return false;
  }
  const FileProgress& progress = job.files[0].info.progress;
  return progress.bytes_total != kSizeUnknown && progress.bytes_transferred == progress.bytes_total;
}

}  // namespace

std::optional<std::string> explain_job_error(const JobRecord& job, const ErrorInfo& error) {
  if (upload_without_reply(job, error)) {
    return "The server received the whole upload but sent no reply URL (BITS-Reply-URL): it "
           "has no back-end application to answer upload-reply jobs, so trying again will "
           "not help. Configure the server's back end (bits-upload-server: notification_type "
           "1 or 2 and notification_url), or send the file with an UPLOAD job instead.";
  }
  if (error.code == hr::E_INVALIDARG && error.context == ErrorContext::kRemoteFile &&
      error.file_index && *error.file_index < job.files.size()) {
    auto remote =
        validate_remote_name(job.files[*error.file_index].info.remote_name, std::string::npos);
    if (remote.ok() && remote->kind == RemoteKind::kFile) {
      return "The source " + remote->path +
             " is not a regular file (it is a directory, a device or a pipe): a file:// name "
             "must name a file.";
    }
  }
  return std::nullopt;
}

}  // namespace openbits::daemon
