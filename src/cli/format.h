// bitsadmin's output layouts (bitsadmin.md §6, §8, §9) as pure functions of JobInfo values,
// so every layout is unit-tested without a daemon.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "openbits/types.h"

namespace openbits::cli {

std::string banner();
// "12345" or "UNKNOWN" for BG_SIZE_UNKNOWN.
std::string bytes_text(std::uint64_t bytes);
// Local time as "M/D/YYYY h:mm:ss AM"; "UNKNOWN" for 0.
std::string time_text(std::int64_t epoch_ms);
std::string integrity_text(std::uint32_t level);  // LOW MEDIUM HIGH SYSTEM or hex

// "{GUID} 'name' STATE f / F b / B"
std::string list_line(const JobInfo& job);
// "\t<done> / <total> <WORKING|COMPLETED> <remote> -> <local>"
std::string file_line(const FileInfo& file);
// The three ERROR lines (with trailing newline); empty when the job has no error.
std::string error_block(const JobInfo& job);
// The /INFO /VERBOSE block.
std::string verbose_block(const JobInfo& job);
// The two /TRANSFER status lines (no trailing newline).
std::string transfer_frame(const JobInfo& job);
// /TRANSFER's report of a job waiting in TRANSIENT_ERROR (no newline): "STATE:
// TRANSIENT_ERROR ERROR: 0x... - <description> NEXT RETRY: <time_text>" (or "when the
// network is back" when no timer is set).
std::string transient_error_line(const JobInfo& job);
// "[#####.....]": `width` cells filled in proportion to done/total (empty when unknown).
std::string progress_bar(std::uint64_t done, std::uint64_t total, std::size_t width);
// A transfer rate in the largest decimal unit that keeps it at least 1: "512 B/s",
// "12.3 KB/s", "4.5 MB/s", "1.2 GB/s" (K = 1000). Negative or non-finite rates read 0 B/s.
std::string rate_text(double bytes_per_second);
// One /MONITOR screen: the header line and a /LIST line per job (each ends in '\n').
std::string monitor_frame(const std::vector<JobInfo>& jobs, std::uint32_t refresh_s);
// One /MONITOR --json line (no newline): {"event":event,"time":ms,"job":JobInfo}, or for
// "removed" {"event":"removed","time":ms,"job_id":GUID,"reason":reason} (no reason when
// empty).
std::string monitor_event(const std::string& event, std::int64_t time_ms, const JobInfo& job,
                          const std::string& reason = {});
// /LIST --json: a one-line JSON array of the jobs (openbits::to_json of each).
std::string json_array(const std::vector<JobInfo>& jobs);
// "NOTIFICATION COMMAND LINE" value: "none" or program + parameters.
std::string notify_cmd_text(const JobInfo& job);

}  // namespace openbits::cli
