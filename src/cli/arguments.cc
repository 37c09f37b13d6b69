// bitsadmin per-command argument shapes; see arguments.h.
#include "src/cli/arguments.h"

#include <sstream>

#include "openbits/names.h"
#include "src/cli/parser.h"

namespace openbits::cli {
namespace {

Status invalid(std::string message) { return Status(hr::E_INVALIDARG, std::move(message)); }

// Sets the flag named by `token` among /ALLUSERS /VERBOSE /JSON (--json) when `allowed`
// lists it; false for anything else.
bool take_option(std::string_view token, std::string_view allowed, ListArgs& out) {
  if (token.empty() || (token.front() != '/' && token.front() != '-')) return false;
  std::string word = normalise_switch(token);
  if (word.empty() || allowed.find(" " + word + " ") == std::string_view::npos) return false;
  if (word == "allusers") out.all_users = true;
  if (word == "verbose") out.verbose = true;
  if (word == "json") out.json = true;
  return true;
}

Result<ListArgs> parse_options(const std::vector<std::string>& args, std::string_view allowed) {
  ListArgs out;
  for (const std::string& arg : args) {
    if (!take_option(arg, allowed, out)) return invalid("unexpected argument '" + arg + "'");
  }
  return out;
}

}  // namespace

JobReference classify_job_reference(std::string_view text) {
  return JobReference{parse_guid(text), std::string(text)};
}

Result<CreateArgs> parse_create_args(const std::vector<std::string>& args) {
  CreateArgs out;
  bool named = false;
  for (const std::string& arg : args) {
    if (is_switch(arg, "download")) {
      out.type = JobType::kDownload;
    } else if (is_switch(arg, "upload")) {
      out.type = JobType::kUpload;
    } else if (is_switch(arg, "upload-reply")) {
      out.type = JobType::kUploadReply;
    } else if (!named) {
      out.name = arg;
      named = true;
    } else {
      return invalid("unexpected argument '" + arg + "'");
    }
  }
  if (!named) return invalid("the job needs a display name");
  return out;
}

Result<ListArgs> parse_list_args(const std::vector<std::string>& args) {
  return parse_options(args, " allusers verbose json ");
}

Result<ListArgs> parse_reset_args(const std::vector<std::string>& args) {
  return parse_options(args, " allusers ");
}

Result<InfoArgs> parse_info_args(const std::vector<std::string>& args) {
  if (args.empty()) return invalid("the job is missing");
  auto options = parse_options({args.begin() + 1, args.end()}, " verbose json ");
  if (!options.ok()) return options.status();
  return InfoArgs{args[0], options->verbose, options->json};
}

Result<MonitorArgs> parse_monitor_args(const std::vector<std::string>& args) {
  MonitorArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (is_switch(args[i], "allusers")) {
      out.all_users = true;
    } else if (is_switch(args[i], "json")) {
      out.json = true;
    } else if (is_switch(args[i], "refresh")) {
      if (i + 1 == args.size()) return invalid("/REFRESH needs a number of seconds");
      auto seconds = parse_number(args[++i]);
      if (!seconds || *seconds == 0 || *seconds > 86400) {
        return invalid("the refresh interval must be 1 to 86400 seconds");
      }
      out.refresh_s = static_cast<std::uint32_t>(*seconds);
    } else {
      return invalid("unexpected argument '" + args[i] + "'");
    }
  }
  return out;
}

Result<TransferArgs> parse_transfer_args(const std::vector<std::string>& args) {
  if (args.empty()) return invalid("the job needs a display name");
  TransferArgs t;
  t.name = args[0];
  std::size_t i = 1;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool has_value = i + 1 < args.size();
    if (is_switch(a, "download")) {
      t.type = JobType::kDownload;
    } else if (is_switch(a, "upload")) {
      t.type = JobType::kUpload;
    } else if (is_switch(a, "upload-reply")) {
      t.type = JobType::kUploadReply;
    } else if (is_switch(a, "dynamic")) {
      t.dynamic = true;
    } else if (is_switch(a, "priority") && has_value) {
      auto p = parse_job_priority(args[++i]);
      if (!p) return invalid("unknown priority '" + args[i] + "'");
      t.priority = *p;
    } else if (is_switch(a, "aclflags") && has_value) {
      t.acl_flags = parse_acl_flags(args[++i]);
      if (!t.acl_flags) return invalid("ACL flags are letters among O G D S");
    } else {
      break;
    }
  }
  if (i >= args.size() || (args.size() - i) % 2 != 0) {
    return invalid("files are given as remote_url local_name pairs");
  }
  for (; i < args.size(); i += 2) t.files.push_back({args[i], args[i + 1], {}});
  if (t.type != JobType::kDownload && t.files.size() != 1) {
    return Status(hr::BG_E_TOO_MANY_FILES, "an upload job transfers exactly one file");
  }
  return t;
}

Result<std::vector<FileSpec>> parse_file_set(std::string_view text,
                                             std::vector<std::size_t>* line_numbers) {
  std::vector<FileSpec> files;
  std::istringstream in{std::string(text)};
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream fields(line);
    std::string remote;
    if (!(fields >> remote) || remote.front() == '#') continue;
    std::string local;
    std::string extra;
    if (!(fields >> local) || (fields >> extra)) {
      return invalid("line " + std::to_string(number) + " is not 'remote_url local_name': '" +
                     line + "'");
    }
    files.push_back({remote, local, {}});
    if (line_numbers) line_numbers->push_back(number);
  }
  if (files.empty()) return invalid("the file set lists no files");
  return files;
}

Result<ProxyArgs> parse_proxy_args(const std::vector<std::string>& values) {
  if (values.empty()) return invalid("the proxy usage is missing");
  auto usage = parse_proxy_usage(values[0]);
  if (!usage) return invalid("unknown proxy usage '" + values[0] + "'");
  ProxyArgs out{*usage, std::nullopt, std::nullopt};
  if (*usage != ProxyUsage::kOverride) {
    if (values.size() != 1) return invalid("only OVERRIDE takes proxy and bypass lists");
    return out;
  }
  if (values.size() != 3) return invalid("OVERRIDE needs a proxy list and a bypass list");
  out.proxy_list = null_or(values[1]);
  out.bypass_list = null_or(values[2]);
  if (out.bypass_list && out.bypass_list->empty()) out.bypass_list.reset();
  return out;
}

Result<NotifyCmdArgs> parse_notify_cmd_args(const std::vector<std::string>& values) {
  if (values.empty() || values.size() > 2) return invalid("give a program and its parameters");
  NotifyCmdArgs out{null_or(values[0]), std::nullopt};
  if (values.size() == 2) out.parameters = null_or(values[1]);
  if (!out.program && out.parameters) return invalid("parameters need a program");
  return out;
}

Result<std::optional<std::string>> parse_custom_headers(const std::vector<std::string>& values) {
  if (values.empty()) return invalid("give at least one header (or NULL)");
  if (values.size() == 1 && !null_or(values[0])) return std::optional<std::string>();
  std::string headers;
  for (const std::string& h : values) {
    if (h.find_first_of("\r\n") != std::string::npos) return invalid("one header per argument");
    headers += h + "\r\n";
  }
  return std::optional<std::string>(headers);
}

Result<AuthCredentials> parse_credentials_args(const std::vector<std::string>& values) {
  if (values.size() != 2 && values.size() != 4) {
    return invalid("give a target, a scheme, and for /SETCREDENTIALS a user name and password");
  }
  auto target = parse_auth_target(values[0]);
  if (!target) return Status(hr::BG_E_INVALID_AUTH_TARGET, "the target is SERVER or PROXY");
  auto scheme = parse_auth_scheme(values[1]);
  if (!scheme) {
    return Status(hr::BG_E_INVALID_AUTH_SCHEME,
                  "the scheme is BASIC, DIGEST, NTLM, NEGOTIATE or PASSPORT");
  }
  AuthCredentials out{*target, *scheme, std::nullopt, std::nullopt};
  if (values.size() == 4) {
    out.user_name = null_or(values[2]);
    out.password = null_or(values[3]);
  }
  return out;
}

Result<CertStoreLocation> parse_cert_store_location_arg(std::string_view text) {
  if (auto n = parse_number(text)) {
    if (*n < 1 || *n > 8) return Status(hr::E_NOTIMPL, "store locations are 1 to 8");
    return static_cast<CertStoreLocation>(*n - 1);
  }
  if (auto location = parse_cert_store_location(text)) return *location;
  return invalid("unknown certificate store location '" + std::string(text) + "'");
}

Result<std::array<std::uint8_t, 20>> parse_cert_hash(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c != ' ' && c != ':') hex.push_back(c);
  }
  std::array<std::uint8_t, 20> hash{};
  if (hex.size() != 2 * hash.size()) {
    return Status(hr::RPC_X_BAD_STUB_DATA, "a certificate hash is 40 hex digits (SHA-1)");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hash.size(); ++i) {
    int high = nibble(hex[2 * i]);
    int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return Status(hr::RPC_X_BAD_STUB_DATA, "a certificate hash is 40 hex digits (SHA-1)");
    }
    hash[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return hash;
}

Result<std::uint32_t> parse_u32(std::string_view text) {
  auto n = parse_number(text);
  if (!n || *n > 0xFFFFFFFFull) return invalid("'" + std::string(text) + "' is not a number");
  return static_cast<std::uint32_t>(*n);
}

Result<bool> parse_bool_token(std::string_view text) {
  std::string word = normalise_switch(text);
  if (text.empty() || text.front() == '/' || text.front() == '-') word.clear();
  if (word == "true") return true;
  if (word == "false") return false;
  return invalid("use TRUE or FALSE");
}

}  // namespace openbits::cli
