// Which files peer caching may touch at all (docs/peer-caching.md): the same rule for
// serving (JobManager's cache, job_manager_peer.cc) and for fetching from peers
// (TransferCoordinator). Pure functions on records held under JobManager's mutex.
#pragma once

#include <string>

#include "src/daemon/core/job_record.h"

namespace openbits::daemon {

// A plain download from an HTTP origin that may be one user's by nothing (no credentials,
// client certificate, custom headers or verb, no dynamic content, no ranges).
inline bool plain_origin_download(const JobRecord& job, const FileRecord& file) {
  const JobInfo& info = job.info;
  bool private_content = !job.credentials.empty() || info.client_certificate.has_value() ||
                         (info.custom_headers && !info.custom_headers->empty()) ||
                         info.http_method != "GET";
  const std::string& url = file.info.remote_name;
  bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  return info.type == JobType::kDownload && !private_content && !info.dynamic_content &&
         file.info.ranges.empty() && http;
}

}  // namespace openbits::daemon
