// The steps of an upload job (bits-spec §6) as types. Each step is one engine transfer and
// knows what it asks the engine for, which counter its progress moves and what the record
// says once it is done; TransferCoordinator (job_upload.cc) runs them in order:
//   SendFile      Create-Session (or the recorded session) and the Fragments; a plain
//                 upload's engine closes its session in the same transfer;
//   FetchReply    upload-reply: the reply named by BITS-Reply-URL, downloaded with
//                 download rules into a temp file next to the reply file;
//   CloseSession  upload-reply: Close-Session, only after the reply is on disk.
// The record's flags (JobRecord::Upload: sent, reply_done, closed) are the persisted truth;
// next_upload_step reads them, so a restarted daemon resumes at the right step.
#pragma once

#include <cstdint>
#include <optional>
#include <variant>

#include "src/daemon/transfer/transfer.h"

namespace openbits::daemon {

struct Config;
struct JobRecord;

// What the engine is asked for: a download of one file or one step of an upload.
using AnyRequest = std::variant<DownloadRequest, UploadRequest>;

struct SendFileStep {
  AnyRequest request(JobRecord& job, TransferRequest common, const Config& config) const;
  void on_validators(JobRecord& job, const RemoteValidators& v, bool restarted) const;
  std::uint64_t& progress(JobRecord& job) const;
  void finish(JobRecord& job, std::uint64_t total_bytes) const;
  static constexpr bool kTransfersTheFile = true;  // FileTransferred event when it ends
};

struct FetchReplyStep {
  AnyRequest request(JobRecord& job, TransferRequest common, const Config& config) const;
  void on_validators(JobRecord& job, const RemoteValidators& v, bool restarted) const;
  std::uint64_t& progress(JobRecord& job) const;
  void finish(JobRecord& job, std::uint64_t total_bytes) const;
  static constexpr bool kTransfersTheFile = false;
};

struct CloseSessionStep {
  AnyRequest request(JobRecord& job, TransferRequest common, const Config& config) const;
  void on_validators(JobRecord&, const RemoteValidators&, bool) const {}
  std::uint64_t& progress(JobRecord& job) const;
  void finish(JobRecord& job, std::uint64_t total_bytes) const;
  static constexpr bool kTransfersTheFile = false;
};

using UploadStep = std::variant<SendFileStep, FetchReplyStep, CloseSessionStep>;

// The step the record still needs; nullopt when the upload is done (TRANSFERRED).
std::optional<UploadStep> next_upload_step(const JobRecord& job);

}  // namespace openbits::daemon
