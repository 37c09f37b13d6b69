// Descriptions of HRESULTs and error contexts (openbits/names.h): BITS facility codes,
// generic COM/Win32 codes, WinHTTP-style transport codes, HTTP statuses (0x80190000 +
// status) and other HRESULT_FROM_WIN32 values. Texts are openbits's own wording in the
// style of BITS's messages. Thread-safe: immutable tables (function-local statics).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "openbits/names.h"

namespace openbits {
namespace {

const std::map<HRESULT, const char*>& texts() {
  static const std::map<HRESULT, const char*> table = {
      {hr::S_OK, "The operation completed successfully."},
      {hr::S_FALSE, "The operation completed, but there was nothing to do."},
      {hr::E_NOTIMPL, "The requested operation or value is not supported."},
      {hr::E_FAIL, "Unspecified error."},
      {hr::E_PENDING, "The data necessary to complete this operation is not yet available."},
      {hr::E_ACCESSDENIED, "Access is denied."},
      {hr::E_OUTOFMEMORY, "Not enough memory is available to complete this operation."},
      {hr::E_INVALIDARG, "The parameter is incorrect."},
      {hr::E_UNEXPECTED, "An unexpected failure occurred."},
      {hr::FILE_NOT_FOUND, "The system cannot find the file specified."},
      {hr::PATH_NOT_FOUND, "The system cannot find the path specified."},
      {hr::DISK_FULL, "There is not enough space on the disk."},
      {hr::WRITE_FAULT, "The system cannot write to the specified device."},
      {hr::READ_FAULT, "The system cannot read from the specified device."},
      {hr::FILENAME_EXCED_RANGE, "The file name or extension is too long."},
      {hr::RESOURCE_LANG_NOT_FOUND, "No text exists for the requested language."},
      {hr::NOT_SUPPORTED, "The request is not supported."},
      {hr::FILE_CORRUPT, "The file or directory is corrupted and unreadable."},
      {0x80070426,
       "The service has not been started (bitsd is not running or its socket "
       "cannot be reached)."},
      {hr::WINHTTP_TIMEOUT, "The operation timed out."},
      {hr::WINHTTP_NAME_NOT_RESOLVED, "The server name or address could not be resolved."},
      {hr::WINHTTP_CANNOT_CONNECT, "A connection with the server could not be established."},
      {hr::WINHTTP_CONNECTION_ERROR, "The connection with the server was reset or terminated."},
      {hr::WINHTTP_SECURE_FAILURE,
       "A security error occurred: the server's certificate could not be verified."},
      {hr::WINHTTP_REDIRECT_FAILED,
       "The redirect failed because it would lower security or "
       "leave the HTTP protocols."},
      {hr::WINHTTP_INVALID_SERVER_RESPONSE, "The server response could not be parsed."},
      {hr::WINHTTP_SECURE_CERT_DATE_INVALID,
       "The server's certificate has expired or is not yet valid."},
      {hr::WINHTTP_SECURE_CERT_CN_INVALID,
       "The server's certificate does not name the server that was contacted."},
      {hr::WINHTTP_CLIENT_AUTH_CERT_NEEDED,
       "The server requires a client certificate, and the job has none."},
      {hr::WINHTTP_SECURE_INVALID_CA,
       "The server's certificate was issued by an authority that is not trusted."},
      {hr::WINHTTP_SECURE_CERT_REV_FAILED,
       "The revocation of the server's certificate could not be checked (no certificate "
       "revocation list could be obtained)."},
      {hr::WINHTTP_SECURE_CERT_REVOKED, "The server's certificate has been revoked."},
      {hr::WINHTTP_SECURE_CERT_WRONG_USAGE,
       "The server's certificate is not valid for authenticating a server."},
      {hr::CRYPT_E_NOT_FOUND, "No certificate in the store matches the one requested."},
      {hr::RPC_X_BAD_STUB_DATA, "The certificate hash must be exactly 20 bytes."},
      // Other WinHTTP codes (0x80072EE0 + n) that BITS reports for transport failures.
      {0x80072EE4, "An internal error occurred in the HTTP transport."},
      {0x80072EE5, "The URL is not valid."},
      {0x80072EE6, "The URL uses a scheme other than http or https."},
      {0x80072EF1, "The operation was canceled, usually because the connection was closed."},
      {0x80072F05, "The server's certificate has expired or is not yet valid."},
      {0x80072F06, "The server's certificate was issued for a different host name."},
      {0x80072F0C, "The server requires a client certificate, and none was supplied."},
      {0x80072F0D, "The server's certificate was issued by an authority that is not trusted."},
      {0x80072F19, "The revocation status of the server's certificate could not be checked."},
      {0x80072F86, "The proxy auto-configuration script contains an error."},
      {0x80072F87, "The proxy auto-configuration script could not be downloaded."},
      {0x80072F89, "The server's certificate is not valid."},
      {0x80072F8A, "The server's certificate has been revoked."},
      {0x80072F94, "The proxy auto-configuration URL could not be found."},
      {0x80072F99, "The client certificate has no private key."},
      {0x80072F9A, "The private key of the client certificate cannot be accessed."},
      {hr::BG_E_NOT_FOUND, "The requested job was not found."},
      {hr::BG_E_INVALID_STATE,
       "The requested action is not allowed in the current job state. The job might have been "
       "canceled or completed transferring. It is in a read-only state now."},
      {hr::BG_E_EMPTY, "There are currently no files attached to this job."},
      {hr::BG_E_FILE_NOT_AVAILABLE, "No file is available because no URL generated an error."},
      {hr::BG_E_PROTOCOL_NOT_AVAILABLE,
       "No protocol is available because no URL generated an error."},
      {hr::BG_S_ERROR_CONTEXT_NONE, "An error has not occurred."},
      {hr::BG_E_ERROR_CONTEXT_UNKNOWN, "The error occurred in an unknown location."},
      {hr::BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
       "The error occurred in the Background Intelligent Transfer Service (BITS) queue manager."},
      {hr::BG_E_ERROR_CONTEXT_LOCAL_FILE,
       "The error occurred while the local file was being processed. Verify that the file is "
       "not in use, and then try again."},
      {hr::BG_E_ERROR_CONTEXT_REMOTE_FILE,
       "The error occurred while the remote file was being processed."},
      {hr::BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT,
       "The error occurred in the transport layer. "
       "The client could not connect to the server."},
      {hr::BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION,
       "The error occurred while the notification callback was being processed. BITS will try "
       "again later."},
      {hr::BG_E_DESTINATION_LOCKED,
       "The destination file system volume is not available. "
       "BITS will retry when it becomes available."},
      {hr::BG_E_VOLUME_CHANGED, "The destination volume has changed."},
      {hr::BG_E_ERROR_INFORMATION_UNAVAILABLE, "No errors have occurred."},
      {hr::BG_E_NETWORK_DISCONNECTED,
       "There are currently no active network connections. "
       "BITS will try again when a network is available."},
      {hr::BG_E_MISSING_FILE_SIZE,
       "The server did not return the file size. The URL might "
       "point to dynamic content."},
      {hr::BG_E_INSUFFICIENT_HTTP_SUPPORT, "The server does not support HTTP 1.1."},
      {hr::BG_E_INSUFFICIENT_RANGE_SUPPORT,
       "The server does not support the necessary HTTP protocol: it does not honour Range "
       "requests. BITS requires the server to support the Range protocol header."},
      {hr::BG_E_REMOTE_NOT_SUPPORTED, "BITS cannot be used remotely."},
      {hr::BG_E_NEW_OWNER_DIFF_MAPPING,
       "The drive mapping for the job is different for the "
       "current owner than for the previous owner."},
      {hr::BG_E_NEW_OWNER_NO_FILE_ACCESS,
       "The new owner has insufficient access to the local files for the job."},
      {hr::BG_S_PARTIAL_COMPLETE,
       "Some of the transferred files were deleted because they "
       "were incomplete."},
      {hr::BG_E_PROXY_LIST_TOO_LARGE,
       "The HTTP proxy list cannot be longer than 4,000 "
       "characters. The job was not modified."},
      {hr::BG_E_PROXY_BYPASS_LIST_TOO_LARGE,
       "The HTTP proxy bypass list cannot be longer "
       "than 4,000 characters. The job was not modified."},
      {hr::BG_S_UNABLE_TO_DELETE_FILES,
       "Some of the temporary files could not be deleted. Look for files named .BIT*.tmp in "
       "the destination directories."},
      {hr::BG_E_INVALID_SERVER_RESPONSE,
       "The server's response was not valid. The server was "
       "not following the defined protocol. Resume the job, "
       "and then BITS will try again."},
      {hr::BG_E_TOO_MANY_FILES, "No more files can be added to this job."},
      {hr::BG_E_LOCAL_FILE_CHANGED,
       "The local file was changed during the transfer. Recreate the job, and then try to "
       "transfer it again."},
      {hr::BG_E_ERROR_CONTEXT_REMOTE_APPLICATION,
       "The error was reported by the server application."},
      {hr::BG_E_SESSION_NOT_FOUND, "The specified upload session was not found on the server."},
      {hr::BG_E_TOO_LARGE,
       "The upload file is larger than the server allows, or the reply is "
       "larger than GetReplyData can return."},
      {hr::BG_E_STRING_TOO_LONG, "The string is too long."},
      {hr::BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH,
       "The client and server versions of BITS are not compatible."},
      {hr::BG_E_SERVER_EXECUTE_ENABLE,
       "Scripting or execute permissions are enabled on the "
       "upload directory. BITS refuses to upload there."},
      {hr::BG_E_NO_PROGRESS,
       "The job is not making headway. The server may be misconfigured. "
       "BITS will try again later."},
      {hr::BG_E_USERNAME_TOO_LARGE, "The user name cannot be longer than 300 characters."},
      {hr::BG_E_PASSWORD_TOO_LARGE, "The password cannot be longer than 65,535 characters."},
      {hr::BG_E_INVALID_AUTH_TARGET,
       "The authentication target specified in the credentials "
       "is not defined."},
      {hr::BG_E_INVALID_AUTH_SCHEME,
       "The authentication scheme specified in the credentials "
       "is not defined."},
      {hr::BG_E_FILE_NOT_FOUND,
       "The specified file name does not match any of the files in "
       "the job."},
      {hr::BG_S_PROXY_CHANGED, "The proxy server was changed."},
      {hr::BG_E_INVALID_RANGE,
       "The requested byte range extends beyond the end of the web "
       "page or is not valid."},
      {hr::BG_E_OVERLAPPING_RANGES,
       "The list of byte ranges contains some overlapping "
       "ranges, which are not supported."},
      {hr::BG_E_CONNECT_FAILURE, "A connection could not be established."},
      {hr::BG_E_CONNECTION_CLOSED, "The connection was closed prematurely."},
      {hr::BG_E_BLOCKED_BY_POLICY, "A policy blocks background transfers at this time."},
      {hr::BG_E_INVALID_PROXY_INFO,
       "The proxy or proxy bypass list is not valid; the job "
       "cannot be transferred."},
      {hr::BG_E_INVALID_CREDENTIALS, "The format of the supplied credentials is not valid."},
      {hr::BG_E_INVALID_HASH_ALGORITHM, "The selected hash algorithm is not supported."},
      {hr::BG_E_RECORD_DELETED, "The peer-cache record was deleted; the update was abandoned."},
      {hr::BG_E_COMMIT_IN_PROGRESS, "Another update of the cache record is in progress."},
      {hr::BG_E_DISCOVERY_IN_PROGRESS, "Peer discovery is already running. Try again later."},
      {hr::BG_E_UPNP_ERROR, "The Internet gateway device returned an error."},
      {hr::BG_E_TEST_OPTION_BLOCKED_DOWNLOAD, "A test option blocked the download."},
      {hr::BG_E_PEERCACHING_DISABLED, "Peer caching is disabled."},
      {hr::BG_E_BUSYCACHERECORD, "The cache record is in use. Try again in a few seconds."},
      {hr::BG_E_TOO_MANY_JOBS_PER_USER,
       "The job count for the user has exceeded the "
       "per-user job limit."},
      {hr::BG_E_TOO_MANY_JOBS_PER_MACHINE,
       "The job count for the computer has exceeded the "
       "per-computer job limit."},
      {hr::BG_E_TOO_MANY_FILES_IN_JOB,
       "The file count for the job has exceeded the per-job "
       "file limit."},
      {hr::BG_E_TOO_MANY_RANGES_IN_FILE,
       "The range count for the file has exceeded the "
       "per-file range limit."},
      {hr::BG_E_VALIDATION_FAILED,
       "The content failed validation or the web response was "
       "not valid."},
      {hr::BG_E_MAXDOWNLOAD_TIMEOUT, "The job exceeded its maximum download time."},
      {hr::BG_S_OVERRIDDEN_BY_POLICY, "The setting was saved, but a policy overrides it."},
      {hr::BG_E_TOKEN_REQUIRED, "A helper token is needed but is not available."},
      {hr::BG_E_UNKNOWN_PROPERTY_ID, "The property ID is not known."},
      {hr::BG_E_READ_ONLY_PROPERTY, "The property is read-only."},
      {hr::BG_E_BLOCKED_BY_COST_TRANSFER_POLICY,
       "The job's transfer policy does not allow transfers on the current network."},
      {hr::BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY,
       "The property is supported for download jobs only."},
      {hr::BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE,
       "The property cannot be changed after a file has been added to the job."},
      {hr::BG_E_READ_ONLY_PROPERTY_AFTER_RESUME,
       "The property cannot be changed after the job has been resumed."},
      {hr::BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE,
       "The maximum download size must be between 1 and 18446744073709551615."},
      {hr::BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED, "The download reached its maximum size."},
      {hr::BG_E_STANDBY_MODE, "Transfers are paused while the computer saves power."},
      {hr::BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED,
       "Stored credentials can be used for the proxy target only."},
      {hr::BG_E_BLOCKED_BY_BATTERY_POLICY, "Transfers are paused while on battery power."},
      {hr::BG_E_BLOCKED_BY_BATTERY_SAVER, "Transfers are paused by battery saver."},
      {hr::BG_E_WATCHDOG_TIMEOUT, "An internal operation timed out."},
      {hr::BG_E_APP_PACKAGE_NOT_FOUND, "No application package was found for the caller."},
      {hr::BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED,
       "The application-package scenario is not supported on this device."},
      {hr::BG_E_DATABASE_CORRUPT, "The job store is damaged or cannot be used."},
      {hr::BG_E_RANDOM_ACCESS_NOT_SUPPORTED,
       "Random access to the file is not supported for this job."},
      {hr::BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY,
       "The owner's background access settings do not allow the transfer."},
      {hr::BG_E_BLOCKED_BY_GAME_MODE,
       "Transfers are paused while another application is in "
       "game mode."},
      {hr::BG_E_BLOCKED_BY_SYSTEM_POLICY, "Transfers are paused for system resource reasons."},
      {hr::BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD,
       "The operation is not supported for a job with a custom HTTP method."},
      {hr::BG_E_UNSUPPORTED_JOB_CONFIGURATION,
       "The job's configuration is incompatible with the request."},
      {hr::BG_E_REMOTE_FILE_CHANGED,
       "The remote file changed during the transfer. Resume the "
       "job to download it again."},
      {hr::BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED,
       "The server-certificate validation callback is required; register it and resume."},
      {hr::BG_E_READ_ONLY_WHEN_JOB_ACTIVE,
       "The property can be changed only when the job is suspended, in error or transferred."},
      {hr::BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK,
       "The error occurred in the application's server-certificate validation callback."},
  };
  return table;
}

struct HttpStatus {
  int status;
  const char* phrase;    // the standard reason phrase
  const char* sentence;  // BITS-style text for the statuses BITS names; else null
};

// Every registered HTTP status (RFC 9110 and the IANA registry, plus IIS's 449).
constexpr std::array<HttpStatus, 63> kHttpStatuses = {{
    {100, "Continue", "The request can be continued."},
    {101, "Switching Protocols", "The server switched protocols in an upgrade header."},
    {102, "Processing", nullptr},
    {103, "Early Hints", nullptr},
    {200, "OK",
     "The server returned 200 where BITS expected something else: the response was not "
     "valid."},
    {201, "Created", nullptr},
    {202, "Accepted", nullptr},
    {203, "Non-Authoritative Information", nullptr},
    {204, "No Content", nullptr},
    {205, "Reset Content", nullptr},
    {206, "Partial Content", nullptr},
    {207, "Multi-Status", nullptr},
    {208, "Already Reported", nullptr},
    {226, "IM Used", nullptr},
    {300, "Multiple Choices", "The server could not decide what to return (multiple choices)."},
    {301, "Moved Permanently", "The requested resource was assigned a new permanent URL."},
    {302, "Found", "The requested resource resides temporarily under a different URL."},
    {303, "See Other", "The response to the request can be found under a different URL."},
    {304, "Not Modified", "The requested resource has not been modified."},
    {305, "Use Proxy", "The requested resource must be accessed through a proxy."},
    {307, "Temporary Redirect", "The redirected request keeps the same HTTP verb."},
    {308, "Permanent Redirect", nullptr},
    {400, "Bad Request", "The request could not be processed by the server due to invalid syntax."},
    {401, "Unauthorized", "The requested resource requires user authentication."},
    {402, "Payment Required", nullptr},
    {403, "Forbidden",
     "The client does not have sufficient access rights to the requested server object."},
    {404, "Not Found", "The requested URL does not exist on the server."},
    {405, "Method Not Allowed", "The HTTP verb used is not allowed."},
    {406, "Not Acceptable", "The server cannot return the resource in a type the client accepts."},
    {407, "Proxy Authentication Required", "Proxy authentication is required."},
    {408, "Request Timeout", "The server timed out waiting for the request."},
    {409, "Conflict",
     "The request could not be completed due to a conflict with the current state of the "
     "resource."},
    {410, "Gone", "The requested resource is no longer available at the server."},
    {411, "Length Required",
     "The server refused to accept the request without a defined content length."},
    {412, "Precondition Failed",
     "The precondition given in one or more of the request header fields evaluated to false."},
    {413, "Content Too Large",
     "The server is refusing to process a request because the request entity is larger than "
     "the server is able to process."},
    {414, "URI Too Long",
     "The server is refusing to service the request because the request URI is longer than "
     "the server is willing to interpret."},
    {415, "Unsupported Media Type",
     "The server is refusing to service the request because the entity of the request is in "
     "a format not supported."},
    {416, "Range Not Satisfiable", "The server could not satisfy the range request."},
    {417, "Expectation Failed",
     "The server could not meet the expectation given in an Expect request header."},
    {418, "I'm a teapot", nullptr},
    {421, "Misdirected Request", nullptr},
    {422, "Unprocessable Content", nullptr},
    {423, "Locked", nullptr},
    {424, "Failed Dependency", nullptr},
    {425, "Too Early", nullptr},
    {426, "Upgrade Required", nullptr},
    {428, "Precondition Required", nullptr},
    {429, "Too Many Requests", nullptr},
    {431, "Request Header Fields Too Large", nullptr},
    {449, "Retry With", "The request should be retried after doing the appropriate action."},
    {451, "Unavailable For Legal Reasons", nullptr},
    {500, "Internal Server Error",
     "An unexpected condition prevented the server from fulfilling the request."},
    {501, "Not Implemented",
     "The server does not support the functionality required to fulfill the request."},
    {502, "Bad Gateway",
     "The server, while acting as a gateway or proxy, received an invalid response from the "
     "upstream server."},
    {503, "Service Unavailable", "The service is temporarily overloaded."},
    {504, "Gateway Timeout", "The request was timed out waiting for a gateway."},
    {505, "HTTP Version Not Supported",
     "The server does not support the HTTP protocol version that was used."},
    {506, "Variant Also Negotiates", nullptr},
    {507, "Insufficient Storage", nullptr},
    {508, "Loop Detected", nullptr},
    {510, "Not Extended", nullptr},
    {511, "Network Authentication Required", nullptr},
}};

std::string http_text(int status) {
  for (const HttpStatus& entry : kHttpStatuses) {
    if (entry.status != status) continue;
    if (entry.sentence) return entry.sentence;
    return "HTTP status " + std::to_string(status) + ": " + entry.phrase + ".";
  }
  return "HTTP status " + std::to_string(status) + ".";
}

// Texts of Win32 error codes (the low 16 bits of HRESULT_FROM_WIN32 values) that a
// program may meet; the ones in texts() win.
const std::map<std::uint32_t, const char*>& win32_texts() {
  static const std::map<std::uint32_t, const char*> table = {
      {1, "Incorrect function."},
      {4, "The system cannot open the file: too many files are open."},
      {6, "The handle is invalid."},
      {8, "Not enough memory resources are available to process this command."},
      {15, "The system cannot find the drive specified."},
      {17, "The system cannot move the file to a different disk drive."},
      {19, "The media is write protected."},
      {21, "The device is not ready."},
      {23, "Data error (cyclic redundancy check)."},
      {31, "A device attached to the system is not functioning."},
      {32, "The process cannot access the file because it is being used by another process."},
      {33,
       "The process cannot access the file because another process has locked a portion "
       "of it."},
      {38, "Reached the end of the file."},
      {39, "The disk is full."},
      {50, "The request is not supported."},
      {53, "The network path was not found."},
      {59, "An unexpected network error occurred."},
      {64, "The specified network name is no longer available."},
      {80, "The file exists."},
      {82, "The directory or file cannot be created."},
      {109, "The pipe has been ended."},
      {110, "The system cannot open the device or file specified."},
      {122, "The data area passed to a system call is too small."},
      {123, "The file name, directory name, or volume label syntax is incorrect."},
      {145, "The directory is not empty."},
      {161, "The specified path is invalid."},
      {170, "The requested resource is in use."},
      {183, "Cannot create a file when that file already exists."},
      {232, "The pipe is being closed."},
      {267, "The directory name is invalid."},
      {1053, "The service did not respond to the start or control request in time."},
      {1058, "The service cannot be started because it is disabled."},
      {1117, "The request could not be performed because of an I/O device error."},
      {1222, "The network is not present or not started."},
      {1223, "The operation was canceled by the user."},
      {1231, "The network location cannot be reached."},
      {1232, "The remote host cannot be reached."},
      {1235, "The request was aborted."},
      {1236, "The network connection was aborted by the local system."},
      {1326, "The user name or password is incorrect."},
      {1392, "The file or directory is corrupted and unreadable."},
      {1460, "This operation returned because the timeout period expired."},
      {1816, "Not enough quota is available to process this command."},
  };
  return table;
}

// openbits reports a redirect refused by BG_HTTP_REDIRECT_POLICY_DISALLOW as
// HRESULT_FROM_WIN32(<3xx status>) (bits-spec §1.4); the Win32 codes with those numbers are
// unrelated oplock and disk errors that openbits never reports, so name the redirect.
std::optional<std::string> redirect_text(std::uint32_t win32) {
  if (win32 < 300 || win32 > 308 || win32 == 304 || win32 == 305 || win32 == 306) {
    return std::nullopt;
  }
  return "The server redirected the request (HTTP status " + std::to_string(win32) +
         "), and the job's redirect policy does not allow redirects.";
}

std::optional<std::string> win32_text(HRESULT code) {
  if ((code & 0xFFFF0000u) != 0x80070000u) return std::nullopt;
  std::uint32_t win32 = code & 0xFFFFu;
  if (auto redirect = redirect_text(win32)) return redirect;
  const auto& table = win32_texts();
  if (auto it = table.find(win32); it != table.end()) return std::string(it->second);
  return std::nullopt;
}

}  // namespace

std::string describe_hresult(HRESULT code) {
  const auto& table = texts();
  if (auto it = table.find(code); it != table.end()) return it->second;
  if (is_http_error(code)) return http_text(static_cast<int>(code - hr::kHttpFacilityBase));
  if (auto text = win32_text(code)) return *text;
  return "Unknown error " + hresult_hex(code) + ".";
}

std::string describe_context(ErrorContext context) {
  switch (context) {
    case ErrorContext::kNone:
      return describe_hresult(hr::BG_S_ERROR_CONTEXT_NONE);
    case ErrorContext::kUnknown:
      return describe_hresult(hr::BG_E_ERROR_CONTEXT_UNKNOWN);
    case ErrorContext::kGeneralQueueManager:
      return describe_hresult(hr::BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER);
    case ErrorContext::kQueueManagerNotification:
      return describe_hresult(hr::BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION);
    case ErrorContext::kLocalFile:
      return describe_hresult(hr::BG_E_ERROR_CONTEXT_LOCAL_FILE);
    case ErrorContext::kRemoteFile:
      return describe_hresult(hr::BG_E_ERROR_CONTEXT_REMOTE_FILE);
    case ErrorContext::kGeneralTransport:
      return describe_hresult(hr::BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT);
    case ErrorContext::kRemoteApplication:
      return describe_hresult(hr::BG_E_ERROR_CONTEXT_REMOTE_APPLICATION);
    case ErrorContext::kServerCertificateCallback:
      return describe_hresult(hr::BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK);
  }
  return describe_hresult(hr::BG_E_ERROR_CONTEXT_UNKNOWN);
}

}  // namespace openbits
