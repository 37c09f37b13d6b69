// bitsadmin output layouts; see format.h.
#include "src/cli/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <sstream>

#include "openbits/client.h"
#include "openbits/names.h"
#include "src/cli/parser.h"

namespace openbits::cli {

std::string banner() {
  return "\nBITSADMIN version 3.0 [openbits 0.1.0]\nBITS administration utility.\n"
         "(C) openbits contributors.\n\n";
}

std::string bytes_text(std::uint64_t bytes) {
  return bytes == kSizeUnknown ? "UNKNOWN" : std::to_string(bytes);
}

std::string time_text(std::int64_t epoch_ms) {
  if (epoch_ms == 0) return "UNKNOWN";
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
  char out[64];
  std::snprintf(out, sizeof(out), "%d/%d/%d %d:%02d:%02d %s", tm.tm_mon + 1, tm.tm_mday,
                tm.tm_year + 1900, hour12, tm.tm_min, tm.tm_sec, tm.tm_hour < 12 ? "AM" : "PM");
  return out;
}

std::string integrity_text(std::uint32_t level) {
  switch (level) {
    case 0x1000:
      return "LOW";
    case 0x2000:
      return "MEDIUM";
    case 0x3000:
      return "HIGH";
    case 0x4000:
      return "SYSTEM";
    default:
      return hresult_hex(level);
  }
}

std::string list_line(const JobInfo& job) {
  std::ostringstream out;
  out << to_string(job.id) << " '" << job.display_name << "' " << to_string(job.state) << ' '
      << job.progress.files_transferred << " / " << job.progress.files_total << ' '
      << bytes_text(job.progress.bytes_transferred) << " / "
      << bytes_text(job.progress.bytes_total);
  return out.str();
}

std::string file_line(const FileInfo& file) {
  return "\t" + bytes_text(file.progress.bytes_transferred) + " / " +
         bytes_text(file.progress.bytes_total) + " " +
         (file.progress.completed ? "COMPLETED" : "WORKING") + " " + file.remote_name + " -> " +
         file.local_name;
}

std::string error_block(const JobInfo& job) {
  if (!job.error) return {};
  const ErrorInfo& e = *job.error;
  std::string file = "(none)";
  if (e.file_index && *e.file_index < job.files.size()) {
    const FileInfo& f = job.files[*e.file_index];
    file = f.remote_name + " -> " + f.local_name;
  }
  // The daemon's description, which may say more about this job than the code's text.
  return "ERROR FILE:    " + file + "\nERROR CODE:    " + hresult_hex(e.code) + " - " +
         (e.description.empty() ? describe_hresult(e.code) : e.description) +
         "\nERROR CONTEXT: " + hresult_hex(static_cast<HRESULT>(e.context)) + " - " +
         describe_context(e.context) + "\n";
}

std::string notify_cmd_text(const JobInfo& job) {
  if (!job.notify_cmd_program) return "none";
  std::string text = *job.notify_cmd_program;
  if (job.notify_cmd_parameters) text += " " + *job.notify_cmd_parameters;
  return text;
}

namespace {

std::string null_text(const std::optional<std::string>& v) { return v ? *v : "NULL"; }
const char* bool_text(bool v) { return v ? "true" : "false"; }

// /INFO /VERBOSE from GUID through PROXY USAGE.
void verbose_head(std::ostream& out, const JobInfo& job) {
  out << "GUID: " << to_string(job.id) << " DISPLAY: '" << job.display_name << "'\n"
      << "TYPE: " << to_string(job.type) << " STATE: " << to_string(job.state)
      << " OWNER: " << job.owner_name << '\n'
      << "PRIORITY: " << to_string(job.priority) << " FILES: " << job.progress.files_transferred
      << " / " << job.progress.files_total
      << " BYTES: " << bytes_text(job.progress.bytes_transferred) << " / "
      << bytes_text(job.progress.bytes_total) << '\n'
      << "CREATION TIME: " << time_text(job.times.creation_time)
      << " MODIFICATION TIME: " << time_text(job.times.modification_time) << '\n'
      << "COMPLETION TIME: " << time_text(job.times.transfer_completion_time)
      << " ACL FLAGS: " << acl_letters(job.file_acl_flags) << '\n'
      << "NOTIFY INTERFACE: " << (job.notify_interface_registered ? "REGISTERED" : "UNREGISTERED")
      << " NOTIFICATION FLAGS: " << job.notify_flags << '\n'
      << "RETRY DELAY: " << job.minimum_retry_delay
      << " NO PROGRESS TIMEOUT: " << job.no_progress_timeout << " ERROR COUNT: " << job.error_count
      << '\n'
      << "PROXY USAGE: " << to_string(job.proxy.usage)
      << " PROXY LIST: " << null_text(job.proxy.proxy_list)
      << " PROXY BYPASS LIST: " << null_text(job.proxy.bypass_list) << '\n';
}

// /INFO /VERBOSE from NOTIFICATION COMMAND LINE to the end (the modern additions).
void verbose_tail(std::ostream& out, const JobInfo& job) {
  out << "NOTIFICATION COMMAND LINE: " << notify_cmd_text(job) << '\n'
      << "owner MIC integrity level: " << integrity_text(job.owner_integrity_level) << '\n'
      << "owner elevated ?           " << bool_text(job.owner_elevated) << '\n'
      << "Peercaching flags\n"
      << "\tEnable download from peers      :" << bool_text(job.peer_caching_flags & 0x1) << '\n'
      << "\tEnable serving to peers         :" << bool_text(job.peer_caching_flags & 0x2) << '\n'
      << "CUSTOM HEADERS: "
      << (job.custom_headers_write_only ? "(write-only)" : null_text(job.custom_headers)) << '\n'
      << "SECURITY FLAGS: " << job.security_flags << " HTTP METHOD: " << job.http_method << '\n'
      << "CLIENT CERTIFICATE: "
      << (job.client_certificate
              ? to_string(job.client_certificate->location) + " " +
                    job.client_certificate->store_name + " " + job.client_certificate->subject
              : std::string("NONE"))
      << '\n';
}

}  // namespace

std::string verbose_block(const JobInfo& job) {
  std::ostringstream out;
  verbose_head(out, job);
  out << error_block(job) << "DESCRIPTION: " << job.description << '\n' << "JOB FILES:\n";
  auto upper = [](bool value) { return value ? "TRUE" : "FALSE"; };
  for (const FileInfo& file : job.files) {
    out << file_line(file) << '\n'
        << "\t\tFROM ORIGIN: " << file.bytes_from_origin << " FROM PEERS: " << file.bytes_from_peers
        << " DOWNLOADED FROM PEER: " << upper(file.downloaded_from_peer)
        << " VALIDATED: " << (file.progress.completed ? upper(file.validation_state) : "PENDING")
        << '\n';
  }
  verbose_tail(out, job);
  return out.str();
}

std::string transient_error_line(const JobInfo& job) {
  HRESULT code = job.error ? job.error->code : hr::E_FAIL;
  std::string description = job.error ? job.error->description : std::string();
  if (description.empty()) description = describe_hresult(code);
  std::string retry =
      job.next_retry_time == 0 ? "when the network is back" : time_text(job.next_retry_time);
  return "STATE: " + to_string(job.state) + " ERROR: " + hresult_hex(code) + " - " + description +
         " NEXT RETRY: " + retry;
}

std::string transfer_frame(const JobInfo& job) {
  std::uint64_t done = job.progress.bytes_transferred;
  std::uint64_t total = job.progress.bytes_total;
  unsigned percent = 0;
  if (total != kSizeUnknown && total > 0) {
    percent = static_cast<unsigned>(done * 100 / total);
  }
  std::ostringstream out;
  out << "DISPLAY: '" << job.display_name << "' TYPE: " << to_string(job.type)
      << " STATE: " << to_string(job.state) << '\n'
      << "PRIORITY: " << to_string(job.priority) << " FILES: " << job.progress.files_transferred
      << " / " << job.progress.files_total << " BYTES: " << bytes_text(done) << " / "
      << bytes_text(total) << " (" << percent << "%)";
  return out.str();
}

std::string json_array(const std::vector<JobInfo>& jobs) {
  std::string out = "[";
  for (const JobInfo& job : jobs) {
    if (out.size() > 1) out += ',';
    out += to_json(job, -1);
  }
  return out + "]";
}

}  // namespace openbits::cli

namespace openbits::cli {

std::string progress_bar(std::uint64_t done, std::uint64_t total, std::size_t width) {
  std::size_t filled = 0;
  if (total != kSizeUnknown && total > 0) {
    filled = static_cast<std::size_t>(static_cast<double>(std::min(done, total)) /
                                      static_cast<double>(total) * static_cast<double>(width));
  }
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

std::string rate_text(double bytes_per_second) {
  static constexpr const char* kUnits[] = {"B/s", "KB/s", "MB/s", "GB/s"};
  double value = std::isfinite(bytes_per_second) ? std::max(0.0, bytes_per_second) : 0.0;
  std::size_t unit = 0;
  // Move up while the printed value would reach 1000 ("999.96 KB/s" reads "1.0 MB/s").
  while (unit + 1 < std::size(kUnits) && value >= (unit == 0 ? 999.5 : 999.95)) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string monitor_frame(const std::vector<JobInfo>& jobs, std::uint32_t refresh_s) {
  std::string frame =
      "MONITORING BACKGROUND COPY MANAGER(" + std::to_string(refresh_s) + " second refresh)\n";
  for (const JobInfo& job : jobs) frame += list_line(job) + "\n";
  return frame;
}

std::string monitor_event(const std::string& event, std::int64_t time_ms, const JobInfo& job,
                          const std::string& reason) {
  std::string head = "{\"event\":\"" + event + "\",\"time\":" + std::to_string(time_ms);
  if (event == "removed") {
    std::string why = reason.empty() ? "" : ",\"reason\":\"" + reason + "\"";
    return head + ",\"job_id\":\"" + to_string(job.id) + "\"" + why + "}";
  }
  return head + ",\"job\":" + to_json(job, -1) + "}";
}

}  // namespace openbits::cli
