// Descriptions of HRESULTs and error contexts (openbits/names.h). Texts are openbits's own
// wording in the style of BITS's messages.
#include <array>
#include <cstdio>
#include <map>

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

const char* http_text(int status) {
  switch (status) {
    case 100:
      return "The request can be continued.";
    case 101:
      return "The server switched protocols in an upgrade header.";
    case 200:
      return "The server returned 200 where BITS expected something else: the "
             "response was not valid.";
    case 201:
      return "HTTP status 201: Created.";
    case 202:
      return "HTTP status 202: Accepted.";
    case 203:
      return "HTTP status 203: Non-Authoritative Information.";
    case 204:
      return "HTTP status 204: No Content.";
    case 205:
      return "HTTP status 205: Reset Content.";
    case 206:
      return "HTTP status 206: Partial Content (unexpected here).";
    case 300:
      return "The server could not decide what to return (multiple choices).";
    case 301:
      return "The requested resource was assigned a new permanent URL.";
    case 302:
      return "The requested resource resides temporarily under a different URL.";
    case 303:
      return "The response to the request can be found under a different URL.";
    case 304:
      return "The requested resource has not been modified.";
    case 305:
      return "The requested resource must be accessed through a proxy.";
    case 307:
      return "The redirected request keeps the same HTTP verb.";
    case 400:
      return "The request could not be processed by the server due to invalid syntax.";
    case 401:
      return "The requested resource requires user authentication.";
    case 402:
      return "HTTP status 402: Payment Required.";
    case 403:
      return "The client does not have sufficient access rights to the requested "
             "server object.";
    case 404:
      return "The requested URL does not exist on the server.";
    case 405:
      return "The HTTP verb used is not allowed.";
    case 406:
      return "Client browser does not accept the MIME type of the requested page.";
    case 407:
      return "Proxy authentication is required.";
    case 408:
      return "The server timed out waiting for the request.";
    case 409:
      return "The request could not be completed due to a conflict with the current "
             "state of the resource.";
    case 410:
      return "The requested resource is no longer available at the server.";
    case 411:
      return "The server refused to accept the request without a defined content "
             "length.";
    case 412:
      return "The precondition given in one or more of the request header fields "
             "evaluated to false.";
    case 413:
      return "The server is refusing to process a request because the request entity "
             "is larger than the server is able to process.";
    case 414:
      return "The server is refusing to service the request because the request URI "
             "is longer than the server is willing to interpret.";
    case 415:
      return "The server is refusing to service the request because the entity of the "
             "request is in a format not supported.";
    case 416:
      return "The server could not satisfy the range request.";
    case 417:
      return "The server could not meet the expectation given in an Expect request "
             "header.";
    case 429:
      return "HTTP status 429: Too Many Requests.";
    case 449:
      return "The request should be retried after doing the appropriate action.";
    case 500:
      return "An unexpected condition prevented the server from fulfilling the "
             "request.";
    case 501:
      return "The server does not support the functionality required to fulfill the "
             "request.";
    case 502:
      return "The server, while acting as a gateway or proxy, received an invalid "
             "response from the upstream server.";
    case 503:
      return "The service is temporarily overloaded.";
    case 504:
      return "The request was timed out waiting for a gateway.";
    case 505:
      return "The server does not support the HTTP protocol version that was used.";
    default:
      return nullptr;
  }
}

}  // namespace

std::string describe_hresult(HRESULT code) {
  const auto& table = texts();
  if (auto it = table.find(code); it != table.end()) return it->second;
  if (is_http_error(code)) {
    int status = static_cast<int>(code - hr::kHttpFacilityBase);
    if (const char* text = http_text(status)) return text;
    return "HTTP status " + std::to_string(status) + ".";
  }
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
