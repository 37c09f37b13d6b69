// openbits/names.h: text forms of the model: BITS tokens for enums (as bitsadmin prints
// them), GUIDs in braces, and the description of any HRESULT or error context.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "openbits/export.h"
#include "openbits/types.h"

namespace openbits {

OPENBITS_EXPORT std::string to_string(JobState state);              // "TRANSIENT_ERROR"
OPENBITS_EXPORT std::string to_string(JobType type);                // "UPLOAD-REPLY"
OPENBITS_EXPORT std::string to_string(JobPriority priority);        // "FOREGROUND"
OPENBITS_EXPORT std::string to_string(ProxyUsage usage);            // "NO_PROXY"
OPENBITS_EXPORT std::string to_string(AuthTarget target);           // "PROXY"
OPENBITS_EXPORT std::string to_string(AuthScheme scheme);           // "NEGOTIATE"
OPENBITS_EXPORT std::string to_string(CertStoreLocation location);  // "LOCAL_MACHINE"
OPENBITS_EXPORT std::string to_string(const Guid& guid);            // "{C775D194-...}" upper case

// Case-insensitive parses of the same tokens; nullopt when unknown.
OPENBITS_EXPORT std::optional<JobState> parse_job_state(std::string_view text);
OPENBITS_EXPORT std::optional<JobType> parse_job_type(std::string_view text);
OPENBITS_EXPORT std::optional<JobPriority> parse_job_priority(std::string_view text);
OPENBITS_EXPORT std::optional<ProxyUsage> parse_proxy_usage(std::string_view text);
OPENBITS_EXPORT std::optional<AuthTarget> parse_auth_target(std::string_view text);
OPENBITS_EXPORT std::optional<AuthScheme> parse_auth_scheme(std::string_view text);
// "CURRENT_USER" or "BG_CERT_STORE_LOCATION_CURRENT_USER" (numbers are the caller's business).
OPENBITS_EXPORT std::optional<CertStoreLocation> parse_cert_store_location(std::string_view text);
// Accepts "{8-4-4-4-12}" hex, any case, braces required.
OPENBITS_EXPORT std::optional<Guid> parse_guid(std::string_view text);

// Description of an HRESULT (BITS, HTTP, Win32 and errno-derived codes). Never empty:
// unknown codes get a generic text naming the code.
OPENBITS_EXPORT std::string describe_hresult(HRESULT code);
// Description of an error context ("The error occurred while the remote file was being
// processed.").
OPENBITS_EXPORT std::string describe_context(ErrorContext context);
// "0x80200002" (lower-case hex, 8 digits), as bitsadmin prints codes.
OPENBITS_EXPORT std::string hresult_hex(HRESULT code);

}  // namespace openbits
