// bitsadmin's per-command argument shapes: what each command accepts after its command
// word, parsed into plain structs before anything talks to the daemon. Usage mistakes come
// back as E_INVALIDARG (message: what was wrong), features of later releases as E_NOTIMPL.
// Pure functions; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openbits/status.h"
#include "openbits/types.h"

namespace openbits::cli {

// <job>: a {GUID} names the job by id; anything else is an exact display name.
struct JobReference {
  std::optional<Guid> guid;  // set when the text is a braced GUID
  std::string name;          // the text as given
};
JobReference classify_job_reference(std::string_view text);

// /CREATE [/DOWNLOAD | /UPLOAD | /UPLOAD-REPLY] name
struct CreateArgs {
  JobType type = JobType::kDownload;
  std::string name;
};
Result<CreateArgs> parse_create_args(const std::vector<std::string>& args);

// /LIST [/ALLUSERS] [/VERBOSE] [--json]; /RESET [/ALLUSERS]; /INFO job [/VERBOSE] [--json].
struct ListArgs {
  bool all_users = false;
  bool verbose = false;
  bool json = false;
};
Result<ListArgs> parse_list_args(const std::vector<std::string>& args);
Result<ListArgs> parse_reset_args(const std::vector<std::string>& args);
struct InfoArgs {
  std::string job;
  bool verbose = false;
  bool json = false;
};
Result<InfoArgs> parse_info_args(const std::vector<std::string>& args);

// /MONITOR [/ALLUSERS] [/REFRESH seconds] [--json]; refresh 1..86400, default 5.
struct MonitorArgs {
  bool all_users = false;
  std::uint32_t refresh_s = 5;
  bool json = false;
};
Result<MonitorArgs> parse_monitor_args(const std::vector<std::string>& args);

// /TRANSFER name [/DOWNLOAD] [/PRIORITY p] [/ACLFLAGS f] [/DYNAMIC] url local [url local...]
// The first token is always the name, even when it looks like a switch.
struct TransferArgs {
  std::string name;
  JobType type = JobType::kDownload;  // /UPLOAD and /UPLOAD-REPLY take exactly one file
  JobPriority priority = JobPriority::kNormal;
  std::optional<std::uint32_t> acl_flags;
  bool dynamic = false;
  std::vector<FileSpec> files;
};
Result<TransferArgs> parse_transfer_args(const std::vector<std::string>& args);

// /ADDFILESET's text file: "remote local" per line, '#' comment lines, blank lines skipped.
// `line_numbers`, when given, receives the (1-based) line of each file.
Result<std::vector<FileSpec>> parse_file_set(std::string_view text,
                                             std::vector<std::size_t>* line_numbers = nullptr);

// /SETPROXYSETTINGS job usage [proxy_list bypass_list]
struct ProxyArgs {
  ProxyUsage usage = ProxyUsage::kPreconfig;
  std::optional<std::string> proxy_list;
  std::optional<std::string> bypass_list;
};
Result<ProxyArgs> parse_proxy_args(const std::vector<std::string>& values);

// /SETNOTIFYCMDLINE job program [parameters]; NULL clears either part.
struct NotifyCmdArgs {
  std::optional<std::string> program;
  std::optional<std::string> parameters;
};
Result<NotifyCmdArgs> parse_notify_cmd_args(const std::vector<std::string>& values);

// /SETCUSTOMHEADERS job header [header...]: one header per argument; a lone NULL clears.
Result<std::optional<std::string>> parse_custom_headers(const std::vector<std::string>& values);

// /SETCREDENTIALS job target scheme username password ("NULL NULL": implicit) and
// /REMOVECREDENTIALS job target scheme.
Result<AuthCredentials> parse_credentials_args(const std::vector<std::string>& values);
// A certificate store location as bitsadmin takes it: 1-8 (1 = CURRENT_USER), CURRENT_USER,
// or BG_CERT_STORE_LOCATION_CURRENT_USER.
Result<CertStoreLocation> parse_cert_store_location_arg(std::string_view text);
// A SHA-1 thumbprint: 40 hex digits (spaces and colons between bytes are ignored).
Result<std::array<std::uint8_t, 20>> parse_cert_hash(std::string_view text);

// A 32-bit number in decimal or 0x hex (seconds, flag masks).
Result<std::uint32_t> parse_u32(std::string_view text);
// TRUE / FALSE, any case.
Result<bool> parse_bool_token(std::string_view text);

}  // namespace openbits::cli
