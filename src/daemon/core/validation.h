// Validation of what callers hand to bitsd: remote names, local names, byte ranges and
// property values, with the exact HRESULTs BITS gives. Pure functions (no file-system
// access; the daemon checks directories separately, as the owner). Thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openbits/status.h"
#include "openbits/types.h"
#include "src/daemon/platform/limits.h"

namespace openbits::daemon {

enum class RemoteKind { kHttp, kFile };

struct RemoteName {
  RemoteKind kind = RemoteKind::kHttp;
  std::string path;  // for kFile: the absolute local path of the source
};

// http://, https://, file:///abs/path or /abs/path. E_INVALIDARG when malformed, with an
// unsupported scheme, over max_length characters (2,200 by default), with a path segment
// over 260 characters, with wildcards, spaces or control characters, with a port that is
// not 1 to 65535, or with a user name or password (user:password@host: credentials go
// through SetCredentials; the message never repeats them).
Result<RemoteName> validate_remote_name(std::string_view remote,
                                        std::size_t max_length = kMaxRemoteName);

// Absolute, normalised (no "." or ".." segments, no "//"), no wildcards or control
// characters, not ending in '/', at most max_length characters: else E_INVALIDARG.
Status validate_local_name(std::string_view local, std::size_t max_length = kMaxLocalName);

// BITS AddFileWithRanges rules: count 0 -> E_INVALIDARG; an offset of BG_LENGTH_TO_EOF ->
// BG_E_INVALID_RANGE; overlapping or duplicate ranges (sorted by offset; equal offsets in
// reverse order overlap) -> BG_E_OVERLAPPING_RANGES; more than max_ranges ->
// BG_E_TOO_MANY_RANGES_IN_FILE (max_ranges 0 = unlimited).
Status validate_ranges(const std::vector<FileRange>& ranges, std::size_t max_ranges);

// The directory part of an absolute local name ("/a/b/c" -> "/a/b").
std::string parent_directory(std::string_view local);

// Display names and descriptions: control characters (below 0x20, 0x7F) -> E_INVALIDARG
// naming `what`, so that one job stays one line in /list and in the log.
Status validate_job_text(std::string_view text, const char* what);

// Notify flags: bits outside 0x3F -> E_NOTIMPL.
Status validate_notify_flags(std::uint32_t flags);

// SetNotifyCmdLine rules: program absolute and <= max_program (a path, 260 by default),
// parameters <= max_parameters and starting with the program token (too long:
// BG_E_STRING_TOO_LONG); program null with parameters -> E_INVALIDARG.
Status validate_notify_cmd_line(const std::optional<std::string>& program,
                                const std::optional<std::string>& parameters,
                                std::size_t max_program = kMaxLocalName,
                                std::size_t max_parameters = kMaxNotifyParameters);

// SetProxySettings rules (lists only with OVERRIDE, OVERRIDE needs a proxy list; each
// list at most max_list characters, 4,000 by default; no user:password@ in the proxy list:
// E_INVALIDARG pointing to SetCredentials).
Status validate_proxy_settings(const ProxySettings& proxy, std::size_t max_list = kMaxProxyList);

// Security flags: known bits 0x1F, redirect policy 0x000/0x100/0x200 in mask 0x700,
// 0x800 allow HTTPS->HTTP; else E_NOTIMPL.
Status validate_security_flags(std::uint32_t flags);

// Custom headers: each line "Name: value" ending in CRLF; over max_length characters
// including a terminator (16,384 by default) -> BG_E_STRING_TOO_LONG; a malformed line ->
// E_INVALIDARG.
Status validate_custom_headers(std::string_view headers,
                               std::size_t max_length = kMaxCustomHeaders);

// An RFC 7230 token (GET, POST, ...): else E_INVALIDARG.
Status validate_http_method(std::string_view method);

}  // namespace openbits::daemon
