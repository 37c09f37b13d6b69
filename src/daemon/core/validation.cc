// Validation of caller input; see validation.h.
#include "src/daemon/core/validation.h"

#include <algorithm>
#include <cctype>

#include "src/daemon/core/notify_cmd_line.h"

namespace openbits::daemon {
namespace {

Status invalid(std::string message) { return Status(hr::E_INVALIDARG, std::move(message)); }

bool has_forbidden_char(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F || c == '*' || c == '?' || c == ' ';
  });
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

bool segments_within(std::string_view path, std::size_t limit) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end - start > limit) return false;
    start = end + 1;
  }
  return true;
}

bool valid_url_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  static constexpr std::string_view kAllowed = "-._~:/?#[]@!$&'()*+,;=%";
  return kAllowed.find(c) != std::string_view::npos;
}

// The port after the host ("host:port", "[v6]:port"): absent, or 1 to 65535.
Status validate_port(std::string_view authority) {
  std::size_t host_end = authority.front() == '[' ? authority.find(']') : 0;
  if (host_end == std::string_view::npos) return invalid("the URL's IPv6 address has no ']'");
  std::size_t colon = authority.find(':', host_end);
  if (colon == std::string_view::npos || colon + 1 == authority.size()) return Status();
  std::string_view port = authority.substr(colon + 1);
  bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
                  return std::isdigit(static_cast<unsigned char>(c)) != 0;
                });
  unsigned long number = digits ? std::stoul(std::string(port)) : 0;
  if (number == 0 || number > 65535) {
    return invalid("the URL's port is not a number from 1 to 65535");
  }
  return Status();
}

Result<RemoteName> validate_http_url(std::string_view remote) {
  std::size_t scheme_end = remote.find("://");
  std::string_view rest = remote.substr(scheme_end + 3);
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') {
    return invalid("the URL has no host name");
  }
  if (!std::all_of(remote.begin(), remote.end(), valid_url_char)) {
    return invalid("the URL contains characters that are not legal in a URL");
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    // Never echoed: the text before '@' may be a password.
    return invalid(
        "the URL contains a user name or password (user:password@host); give credentials "
        "with /setcredentials (SetCredentials) instead, which keeps them sealed");
  }
  if (authority.empty() || authority.front() == ':') return invalid("the URL has no host name");
  if (Status s = validate_port(authority); !s.ok()) return s;
  std::size_t path_start = rest.find('/');
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  if (!segments_within(path, kMaxRemoteSegment)) {
    return invalid("a segment of the URL path is longer than 260 characters");
  }
  return RemoteName{RemoteKind::kHttp, {}};
}

}  // namespace

Result<RemoteName> validate_remote_name(std::string_view remote, std::size_t max_length) {
  if (remote.empty()) return invalid("the remote name is empty");
  if (remote.size() > max_length) {
    return invalid("the remote name is longer than " + std::to_string(max_length) + " characters");
  }
  if (starts_with_ci(remote, "http://") || starts_with_ci(remote, "https://")) {
    return validate_http_url(remote);
  }
  std::string_view path = remote;
  if (starts_with_ci(remote, "file://")) {
    path = remote.substr(7);
    if (starts_with_ci(path, "localhost/")) path.remove_prefix(9);
  } else if (remote.find("://") != std::string_view::npos) {
    return invalid("the remote name uses a protocol that is not supported");
  }
  if (path.empty() || path.front() != '/') {
    return invalid("the remote name is neither an http(s) URL nor an absolute path");
  }
  if (has_forbidden_char(path) || !segments_within(path, kMaxRemoteSegment)) {
    return invalid("the remote path contains wildcards, control characters or overlong names");
  }
  return RemoteName{RemoteKind::kFile, std::string(path)};
}

Status validate_local_name(std::string_view local, std::size_t max_length) {
  if (local.empty() || local.front() != '/') {
    return invalid("the local name must be a full (absolute) path");
  }
  if (local.size() > max_length) {
    return invalid("the local name is longer than " + std::to_string(max_length) + " characters");
  }
  if (std::any_of(local.begin(), local.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F || c == '*' || c == '?';
      })) {
    return invalid("the local name contains wildcards or control characters");
  }
  if (local.back() == '/') return invalid("the local name names a directory");
  std::size_t start = 1;
  while (start <= local.size()) {
    std::size_t end = local.find('/', start);
    if (end == std::string_view::npos) end = local.size();
    std::string_view segment = local.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return invalid("the local name must be a normalised absolute path");
    }
    start = end + 1;
  }
  return Status();
}

Status validate_ranges(const std::vector<FileRange>& ranges, std::size_t max_ranges) {
  if (ranges.empty()) return invalid("no byte ranges were given");
  if (max_ranges != 0 && ranges.size() > max_ranges) {
    return Status(hr::BG_E_TOO_MANY_RANGES_IN_FILE);
  }
  for (const auto& range : ranges) {
    if (range.initial_offset == kLengthToEof) return Status(hr::BG_E_INVALID_RANGE);
  }
  // A stable sort keeps equal offsets in caller order. BITS accepts "100:5,100:0" but
  // rejects "100:0,100:5": a zero-length range before another at the same offset overlaps.
  std::vector<FileRange> sorted = ranges;
  std::stable_sort(sorted.begin(), sorted.end(), [](const FileRange& a, const FileRange& b) {
    return a.initial_offset < b.initial_offset;
  });
  std::uint64_t covered_end = 0;  // end of the bytes claimed so far
  bool eof_claimed = false;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const FileRange& cur = sorted[i];
    if (i > 0) {
      const FileRange& prev = sorted[i - 1];
      bool zero_then_same = prev.length == 0 && cur.initial_offset == prev.initial_offset;
      bool into_claimed = cur.length != 0 && (eof_claimed || cur.initial_offset < covered_end);
      if (zero_then_same || into_claimed) return Status(hr::BG_E_OVERLAPPING_RANGES);
    }
    if (cur.length == kLengthToEof) {
      eof_claimed = true;
    } else {
      covered_end = std::max(covered_end, cur.initial_offset + cur.length);
    }
  }
  return Status();
}

std::string parent_directory(std::string_view local) {
  std::size_t slash = local.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(local.substr(0, slash));
}

Status validate_job_text(std::string_view text, const char* what) {
  if (std::any_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
      })) {
    return invalid(std::string("the ") + what +
                   " contains control characters (a line break, a tab or another character "
                   "below 0x20, or 0x7F)");
  }
  return Status();
}

Status validate_notify_flags(std::uint32_t flags) {
  if ((flags & ~kNotifyAllFlags) != 0) return Status(hr::E_NOTIMPL);
  return Status();
}

Status validate_notify_cmd_line(const std::optional<std::string>& program,
                                const std::optional<std::string>& parameters,
                                std::size_t max_program, std::size_t max_parameters) {
  if (!program) {
    if (parameters) return invalid("parameters were given without a program");
    return Status();
  }
  if (program->size() > max_program || (parameters && parameters->size() > max_parameters)) {
    return Status(hr::BG_E_STRING_TOO_LONG);
  }
  if (program->empty() || program->front() != '/') {
    return invalid("the notification program must be an absolute path");
  }
  if (parameters && !parameters->empty()) {
    std::vector<std::string> tokens = split_command_line(*parameters);
    if (tokens.empty() || tokens.front() != *program) {
      return invalid("the first parameter must be the program itself");
    }
  }
  return Status();
}

Status validate_proxy_settings(const ProxySettings& proxy, std::size_t max_list) {
  auto usage = static_cast<int>(proxy.usage);
  if (usage < 0 || usage > 3) return Status(hr::E_NOTIMPL);
  if (proxy.proxy_list && proxy.proxy_list->size() > max_list) {
    return Status(hr::BG_E_PROXY_LIST_TOO_LARGE);
  }
  if (proxy.bypass_list && proxy.bypass_list->size() > max_list) {
    return Status(hr::BG_E_PROXY_BYPASS_LIST_TOO_LARGE);
  }
  if (proxy.proxy_list && proxy.proxy_list->find('@') != std::string::npos) {
    return invalid(
        "the proxy list contains a user name or password (user:password@proxy); give proxy "
        "credentials with /setcredentials job PROXY instead, which keeps them sealed");
  }
  if (proxy.usage == ProxyUsage::kOverride) {
    if (!proxy.proxy_list || proxy.proxy_list->empty()) {
      return invalid("OVERRIDE needs a proxy list");
    }
  } else if (proxy.proxy_list || proxy.bypass_list) {
    return invalid("proxy and bypass lists are allowed only with OVERRIDE");
  }
  return Status();
}

Status validate_security_flags(std::uint32_t flags) {
  constexpr std::uint32_t kKnown = 0x1F | 0x700 | 0x800;
  if ((flags & ~kKnown) != 0) return Status(hr::E_NOTIMPL);
  std::uint32_t policy = flags & 0x700;
  if (policy != 0x000 && policy != 0x100 && policy != 0x200) return Status(hr::E_NOTIMPL);
  return Status();
}

Status validate_custom_headers(std::string_view headers, std::size_t max_length) {
  if (headers.size() + 1 > max_length) return Status(hr::BG_E_STRING_TOO_LONG);
  std::size_t start = 0;
  while (start < headers.size()) {
    std::size_t end = headers.find("\r\n", start);
    if (end == std::string_view::npos) end = headers.size();
    std::string_view line = headers.substr(start, end - start);
    std::size_t colon = line.find(':');
    if (!line.empty() && (colon == 0 || colon == std::string_view::npos)) {
      return invalid("each custom header must be a 'Name: value' line");
    }
    if (std::any_of(line.begin(), line.end(),
                    [](char c) { return c == '\r' || c == '\n' || c == '\0'; })) {
      return invalid("a custom header contains a line break");
    }
    start = end + 2;
  }
  return Status();
}

Status validate_http_method(std::string_view method) {
  static constexpr std::string_view kTchar = "!#$%&'*+-.^_`|~";
  if (method.empty() || method.size() > 64) return invalid("the HTTP method is not a token");
  for (char c : method) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && kTchar.find(c) == std::string_view::npos) {
      return invalid("the HTTP method is not a token");
    }
  }
  return Status();
}

}  // namespace openbits::daemon
