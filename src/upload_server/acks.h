// Builders for the Ack responses of bits-spec.md §6.3.
#pragma once

#include <cstdint>
#include <string>

#include "src/upload_server/upload_service.h"

namespace openbits::upload {

inline constexpr std::uint32_t kEInvalidArg = 0x80070057;
inline constexpr std::uint32_t kEAccessDenied = 0x80070005;
inline constexpr std::uint32_t kEFail = 0x80004005;
inline constexpr std::uint32_t kDiskFull = 0x80070070;  // HRESULT_FROM_WIN32(ERROR_DISK_FULL)
inline constexpr std::uint32_t kSessionNotFound = 0x8020001F;  // BG_E_SESSION_NOT_FOUND
inline constexpr std::uint32_t kTooLarge = 0x80200020;         // BG_E_TOO_LARGE
inline constexpr unsigned kContextServer = 0x5;                // BG_ERROR_CONTEXT_REMOTE_FILE
inline constexpr unsigned kContextApplication = 0x7;  // BG_ERROR_CONTEXT_REMOTE_APPLICATION

inline std::uint32_t http_error_code(unsigned status) { return 0x80190000u + status; }

Response ack(unsigned status, const std::string& session_id = {});
// An Ack with BITS-Error-Code and BITS-Error-Context (statuses other than 200/201).
Response error_ack(unsigned status, std::uint32_t code, unsigned context,
                   const std::string& session_id = {});
// error_ack with the reason in a text/plain body, for a client to show its user.
Response error_ack_because(unsigned status, std::uint32_t code, const std::string& reason,
                           const std::string& session_id = {});
// Why a file at the URL is not replaced (409): overwrites are off.
inline constexpr const char* kExistsReason =
    "the file already exists on the server and this server does not overwrite files";
// A Fragment Ack: always BITS-Received-Content-Range.
Response fragment_ack(unsigned status, const std::string& session_id, std::uint64_t received);

}  // namespace openbits::upload
