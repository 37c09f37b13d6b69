// Descriptions of HRESULTs and error contexts (src/common/error_text.cc): every named
// constant of openbits/hresult.h, HTTP statuses, Win32 codes, unknown codes.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "openbits/names.h"

namespace openbits {
namespace {

#define OPENBITS_CODE(name) \
  { #name, hr::name }
// Every HRESULT constant in include/openbits/hresult.h (114; not kHttpFacilityBase).
const std::vector<std::pair<const char*, HRESULT>> kNamedCodes = {
    OPENBITS_CODE(S_OK),
    OPENBITS_CODE(S_FALSE),
    OPENBITS_CODE(E_NOTIMPL),
    OPENBITS_CODE(E_FAIL),
    OPENBITS_CODE(E_PENDING),
    OPENBITS_CODE(E_ACCESSDENIED),
    OPENBITS_CODE(E_OUTOFMEMORY),
    OPENBITS_CODE(E_INVALIDARG),
    OPENBITS_CODE(E_UNEXPECTED),
    OPENBITS_CODE(FILE_NOT_FOUND),
    OPENBITS_CODE(PATH_NOT_FOUND),
    OPENBITS_CODE(DISK_FULL),
    OPENBITS_CODE(WRITE_FAULT),
    OPENBITS_CODE(READ_FAULT),
    OPENBITS_CODE(FILENAME_EXCED_RANGE),
    OPENBITS_CODE(RESOURCE_LANG_NOT_FOUND),
    OPENBITS_CODE(WINHTTP_TIMEOUT),
    OPENBITS_CODE(WINHTTP_NAME_NOT_RESOLVED),
    OPENBITS_CODE(WINHTTP_CANNOT_CONNECT),
    OPENBITS_CODE(WINHTTP_CONNECTION_ERROR),
    OPENBITS_CODE(WINHTTP_SECURE_FAILURE),
    OPENBITS_CODE(WINHTTP_REDIRECT_FAILED),
    OPENBITS_CODE(WINHTTP_INVALID_SERVER_RESPONSE),
    OPENBITS_CODE(WINHTTP_SECURE_CERT_DATE_INVALID),
    OPENBITS_CODE(WINHTTP_SECURE_CERT_CN_INVALID),
    OPENBITS_CODE(WINHTTP_CLIENT_AUTH_CERT_NEEDED),
    OPENBITS_CODE(WINHTTP_SECURE_INVALID_CA),
    OPENBITS_CODE(WINHTTP_SECURE_CERT_REV_FAILED),
    OPENBITS_CODE(WINHTTP_SECURE_CERT_REVOKED),
    OPENBITS_CODE(WINHTTP_SECURE_CERT_WRONG_USAGE),
    OPENBITS_CODE(CRYPT_E_NOT_FOUND),
    OPENBITS_CODE(RPC_X_BAD_STUB_DATA),
    OPENBITS_CODE(BG_E_NOT_FOUND),
    OPENBITS_CODE(BG_E_INVALID_STATE),
    OPENBITS_CODE(BG_E_EMPTY),
    OPENBITS_CODE(BG_E_FILE_NOT_AVAILABLE),
    OPENBITS_CODE(BG_E_PROTOCOL_NOT_AVAILABLE),
    OPENBITS_CODE(BG_S_ERROR_CONTEXT_NONE),
    OPENBITS_CODE(BG_E_ERROR_CONTEXT_UNKNOWN),
    OPENBITS_CODE(BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER),
    OPENBITS_CODE(BG_E_ERROR_CONTEXT_LOCAL_FILE),
    OPENBITS_CODE(BG_E_ERROR_CONTEXT_REMOTE_FILE),
    OPENBITS_CODE(BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT),
    OPENBITS_CODE(BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION),
    OPENBITS_CODE(BG_E_DESTINATION_LOCKED),
    OPENBITS_CODE(BG_E_VOLUME_CHANGED),
    OPENBITS_CODE(BG_E_ERROR_INFORMATION_UNAVAILABLE),
    OPENBITS_CODE(BG_E_NETWORK_DISCONNECTED),
    OPENBITS_CODE(BG_E_MISSING_FILE_SIZE),
    OPENBITS_CODE(BG_E_INSUFFICIENT_HTTP_SUPPORT),
    OPENBITS_CODE(BG_E_INSUFFICIENT_RANGE_SUPPORT),
    OPENBITS_CODE(BG_E_REMOTE_NOT_SUPPORTED),
    OPENBITS_CODE(BG_E_NEW_OWNER_DIFF_MAPPING),
    OPENBITS_CODE(BG_E_NEW_OWNER_NO_FILE_ACCESS),
    OPENBITS_CODE(BG_S_PARTIAL_COMPLETE),
    OPENBITS_CODE(BG_E_PROXY_LIST_TOO_LARGE),
    OPENBITS_CODE(BG_E_PROXY_BYPASS_LIST_TOO_LARGE),
    OPENBITS_CODE(BG_S_UNABLE_TO_DELETE_FILES),
    OPENBITS_CODE(BG_E_INVALID_SERVER_RESPONSE),
    OPENBITS_CODE(BG_E_TOO_MANY_FILES),
    OPENBITS_CODE(BG_E_LOCAL_FILE_CHANGED),
    OPENBITS_CODE(BG_E_ERROR_CONTEXT_REMOTE_APPLICATION),
    OPENBITS_CODE(BG_E_SESSION_NOT_FOUND),
    OPENBITS_CODE(BG_E_TOO_LARGE),
    OPENBITS_CODE(BG_E_STRING_TOO_LONG),
    OPENBITS_CODE(BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH),
    OPENBITS_CODE(BG_E_SERVER_EXECUTE_ENABLE),
    OPENBITS_CODE(BG_E_NO_PROGRESS),
    OPENBITS_CODE(BG_E_USERNAME_TOO_LARGE),
    OPENBITS_CODE(BG_E_PASSWORD_TOO_LARGE),
    OPENBITS_CODE(BG_E_INVALID_AUTH_TARGET),
    OPENBITS_CODE(BG_E_INVALID_AUTH_SCHEME),
    OPENBITS_CODE(BG_E_FILE_NOT_FOUND),
    OPENBITS_CODE(BG_S_PROXY_CHANGED),
    OPENBITS_CODE(BG_E_INVALID_RANGE),
    OPENBITS_CODE(BG_E_OVERLAPPING_RANGES),
    OPENBITS_CODE(BG_E_CONNECT_FAILURE),
    OPENBITS_CODE(BG_E_CONNECTION_CLOSED),
    OPENBITS_CODE(BG_E_BLOCKED_BY_POLICY),
    OPENBITS_CODE(BG_E_INVALID_PROXY_INFO),
    OPENBITS_CODE(BG_E_INVALID_CREDENTIALS),
    OPENBITS_CODE(BG_E_INVALID_HASH_ALGORITHM),
    OPENBITS_CODE(BG_E_RECORD_DELETED),
    OPENBITS_CODE(BG_E_COMMIT_IN_PROGRESS),
    OPENBITS_CODE(BG_E_DISCOVERY_IN_PROGRESS),
    OPENBITS_CODE(BG_E_UPNP_ERROR),
    OPENBITS_CODE(BG_E_TEST_OPTION_BLOCKED_DOWNLOAD),
    OPENBITS_CODE(BG_E_PEERCACHING_DISABLED),
    OPENBITS_CODE(BG_E_BUSYCACHERECORD),
    OPENBITS_CODE(BG_E_TOO_MANY_JOBS_PER_USER),
    OPENBITS_CODE(BG_E_TOO_MANY_JOBS_PER_MACHINE),
    OPENBITS_CODE(BG_E_TOO_MANY_FILES_IN_JOB),
    OPENBITS_CODE(BG_E_TOO_MANY_RANGES_IN_FILE),
    OPENBITS_CODE(BG_E_VALIDATION_FAILED),
    OPENBITS_CODE(BG_E_MAXDOWNLOAD_TIMEOUT),
    OPENBITS_CODE(BG_S_OVERRIDDEN_BY_POLICY),
    OPENBITS_CODE(BG_E_TOKEN_REQUIRED),
    OPENBITS_CODE(BG_E_UNKNOWN_PROPERTY_ID),
    OPENBITS_CODE(BG_E_READ_ONLY_PROPERTY),
    OPENBITS_CODE(BG_E_BLOCKED_BY_COST_TRANSFER_POLICY),
    OPENBITS_CODE(BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY),
    OPENBITS_CODE(BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE),
    OPENBITS_CODE(BG_E_READ_ONLY_PROPERTY_AFTER_RESUME),
    OPENBITS_CODE(BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE),
    OPENBITS_CODE(BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED),
    OPENBITS_CODE(BG_E_STANDBY_MODE),
    OPENBITS_CODE(BG_E_USE_STORED_CREDENTIALS_NOT_SUPPORTED),
    OPENBITS_CODE(BG_E_BLOCKED_BY_BATTERY_POLICY),
    OPENBITS_CODE(BG_E_BLOCKED_BY_BATTERY_SAVER),
    OPENBITS_CODE(BG_E_WATCHDOG_TIMEOUT),
    OPENBITS_CODE(BG_E_APP_PACKAGE_NOT_FOUND),
    OPENBITS_CODE(BG_E_APP_PACKAGE_SCENARIO_NOT_SUPPORTED),
    OPENBITS_CODE(BG_E_DATABASE_CORRUPT),
    OPENBITS_CODE(BG_E_RANDOM_ACCESS_NOT_SUPPORTED),
    OPENBITS_CODE(BG_E_BLOCKED_BY_BACKGROUND_ACCESS_POLICY),
    OPENBITS_CODE(BG_E_BLOCKED_BY_GAME_MODE),
    OPENBITS_CODE(BG_E_BLOCKED_BY_SYSTEM_POLICY),
    OPENBITS_CODE(BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD),
    OPENBITS_CODE(BG_E_UNSUPPORTED_JOB_CONFIGURATION),
    OPENBITS_CODE(BG_E_REMOTE_FILE_CHANGED),
    OPENBITS_CODE(BG_E_SERVER_CERT_VALIDATION_INTERFACE_REQUIRED),
    OPENBITS_CODE(BG_E_READ_ONLY_WHEN_JOB_ACTIVE),
    OPENBITS_CODE(BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK),
};
#undef OPENBITS_CODE

bool looks_like_a_sentence(const std::string& text) {
  return text.size() >= 10 && std::isupper(static_cast<unsigned char>(text.front())) &&
         text.back() == '.';
}

TEST(ErrorTextTest, EveryNamedConstantHasItsOwnSentence) {
  ASSERT_EQ(kNamedCodes.size(), 123u);
  std::map<std::string, const char*> owner_of_text;
  for (const auto& [name, code] : kNamedCodes) {
    std::string text = describe_hresult(code);
    EXPECT_TRUE(looks_like_a_sentence(text)) << name << ": \"" << text << "\"";
    EXPECT_EQ(text.find("Unknown error"), std::string::npos) << name;
    auto [it, inserted] = owner_of_text.emplace(text, name);
    EXPECT_TRUE(inserted) << name << " and " << it->second << " share \"" << text << "\"";
  }
}

TEST(ErrorTextTest, BitsFacilityHasNoGapsBeyondTheReservedRanges) {
  int described = 0;
  for (HRESULT code = 0x80200001; code <= 0x80200076; ++code) {
    std::string text = describe_hresult(code);
    bool reserved = (code >= 0x8020002F && code <= 0x8020003D) ||
                    (code >= 0x8020004A && code <= 0x8020004F) ||
                    (code >= 0x8020005A && code <= 0x8020005F);
    bool success_slot = code == 0x80200006 || code == 0x80200017 || code == 0x8020001A ||
                        code == 0x8020002A || code == 0x80200055;
    if (reserved || success_slot) {
      EXPECT_EQ(text, "Unknown error " + hresult_hex(code) + ".");
    } else {
      EXPECT_NE(text.rfind("Unknown error", 0), 0u) << hresult_hex(code);
      ++described;
    }
  }
  EXPECT_EQ(described, 86);
}

TEST(ErrorTextTest, BitsStyleTexts) {
  EXPECT_EQ(describe_hresult(hr::BG_E_EMPTY), "There are currently no files attached to this job.");
  EXPECT_EQ(describe_hresult(hr::BG_E_INVALID_STATE),
            "The requested action is not allowed in the current job state. The job might have "
            "been canceled or completed transferring. It is in a read-only state now.");
  EXPECT_EQ(describe_hresult(hr::E_ACCESSDENIED), "Access is denied.");
  EXPECT_NE(describe_hresult(0x80070426).find("bitsd"), std::string::npos);
}

TEST(ErrorTextTest, EveryContextHasItsOwnText) {
  const std::vector<std::pair<ErrorContext, HRESULT>> contexts = {
      {ErrorContext::kNone, hr::BG_S_ERROR_CONTEXT_NONE},
      {ErrorContext::kUnknown, hr::BG_E_ERROR_CONTEXT_UNKNOWN},
      {ErrorContext::kGeneralQueueManager, hr::BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER},
      {ErrorContext::kQueueManagerNotification, hr::BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION},
      {ErrorContext::kLocalFile, hr::BG_E_ERROR_CONTEXT_LOCAL_FILE},
      {ErrorContext::kRemoteFile, hr::BG_E_ERROR_CONTEXT_REMOTE_FILE},
      {ErrorContext::kGeneralTransport, hr::BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT},
      {ErrorContext::kRemoteApplication, hr::BG_E_ERROR_CONTEXT_REMOTE_APPLICATION},
      {ErrorContext::kServerCertificateCallback,
       hr::BG_E_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK},
  };
  std::map<std::string, int> seen;
  for (const auto& [context, code] : contexts) {
    std::string text = describe_context(context);
    EXPECT_TRUE(looks_like_a_sentence(text)) << text;
    EXPECT_EQ(text, describe_hresult(code));
    EXPECT_TRUE(seen.emplace(text, static_cast<int>(context)).second) << text;
  }
  EXPECT_EQ(describe_context(ErrorContext::kRemoteFile),
            "The error occurred while the remote file was being processed.");
  EXPECT_EQ(describe_context(static_cast<ErrorContext>(99)),
            describe_context(ErrorContext::kUnknown));
}

TEST(ErrorTextTest, HttpStatusesMapAndNameTheirReason) {
  EXPECT_EQ(http_error(404), 0x80190194u);
  EXPECT_EQ(http_error(500), 0x801901F4u);
  EXPECT_TRUE(is_http_error(http_error(100)));
  EXPECT_TRUE(is_http_error(http_error(599)));
  EXPECT_FALSE(is_http_error(hr::kHttpFacilityBase));
  EXPECT_FALSE(is_http_error(hr::BG_E_NOT_FOUND));
  EXPECT_EQ(describe_hresult(http_error(404)), "The requested URL does not exist on the server.");
  EXPECT_EQ(describe_hresult(http_error(429)), "HTTP status 429: Too Many Requests.");
  EXPECT_EQ(describe_hresult(http_error(308)), "HTTP status 308: Permanent Redirect.");
  EXPECT_EQ(describe_hresult(http_error(206)), "HTTP status 206: Partial Content.");
  EXPECT_EQ(describe_hresult(http_error(451)), "HTTP status 451: Unavailable For Legal Reasons.");
  EXPECT_EQ(describe_hresult(http_error(511)), "HTTP status 511: Network Authentication Required.");
  EXPECT_EQ(describe_hresult(http_error(499)), "HTTP status 499.");
  EXPECT_EQ(describe_hresult(http_error(999)), "HTTP status 999.");
}

TEST(ErrorTextTest, EveryStandardHttpStatusHasADistinctText) {
  const int standard[] = {100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208,
                          226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403,
                          404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416,
                          417, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501,
                          502, 503, 504, 505, 506, 507, 508, 510, 511};
  std::map<std::string, int> seen;
  for (int status : standard) {
    std::string text = describe_hresult(http_error(status));
    EXPECT_TRUE(looks_like_a_sentence(text)) << status << ": " << text;
    EXPECT_NE(text, "HTTP status " + std::to_string(status) + ".") << "no reason for " << status;
    auto [it, inserted] = seen.emplace(text, status);
    EXPECT_TRUE(inserted) << status << " and " << it->second << " share \"" << text << "\"";
  }
}

TEST(ErrorTextTest, Win32CodesUseTheirSystemText) {
  EXPECT_EQ(describe_hresult(0x80070020),
            "The process cannot access the file because it is being used by another process.");
  EXPECT_EQ(describe_hresult(0x80070050), "The file exists.");
  EXPECT_EQ(describe_hresult(0x800705B4),
            "This operation returned because the timeout period expired.");
  EXPECT_EQ(describe_hresult(hr::DISK_FULL), "There is not enough space on the disk.");
  EXPECT_EQ(describe_hresult(0x8007FFFF), "Unknown error 0x8007ffff.");
}

TEST(ErrorTextTest, DisallowedRedirectsNameTheStatus) {
  // What the engine reports under BG_HTTP_REDIRECT_POLICY_DISALLOW: 0x80070000 | status.
  for (int status : {300, 301, 302, 303, 307, 308}) {
    std::string text = describe_hresult(0x80070000u | static_cast<HRESULT>(status));
    EXPECT_NE(text.find("redirect"), std::string::npos) << text;
    EXPECT_NE(text.find(std::to_string(status)), std::string::npos) << text;
  }
  EXPECT_EQ(describe_hresult(0x80070130).find("redirect"), std::string::npos);  // 304
}

TEST(ErrorTextTest, UnknownCodesNameTheCode) {
  EXPECT_EQ(describe_hresult(0x12345678), "Unknown error 0x12345678.");
  EXPECT_EQ(describe_hresult(0x80200077), "Unknown error 0x80200077.");
  EXPECT_EQ(describe_hresult(0xFFFFFFFF), "Unknown error 0xffffffff.");
  EXPECT_EQ(describe_hresult(0x80072EE3), "Unknown error 0x80072ee3.");
}

}  // namespace
}  // namespace openbits
