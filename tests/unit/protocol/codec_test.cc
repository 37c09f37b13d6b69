// JSON codecs of the public model (src/protocol/codec.cc): every type survives a round trip
// with its values at their limits, the wire shape the RPC spec names (tokens, braced GUIDs,
// unsigned HRESULTs, BITS numbers, nulls for absent optionals), the defaults an older peer's
// message gets for fields it does not send, and malformed input answered with a
// nlohmann::json::exception (the RPC edge turns it into "invalid params"), never a crash.
#include "src/protocol/codec.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "openbits/names.h"

namespace openbits {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t kMinI64 = std::numeric_limits<std::int64_t>::min();
constexpr const char* kGuidText = "{C775D194-090F-431F-B5FB-8334D00D1CB6}";

template <typename T>
T round_trip(const T& value) {
  return json(value).get<T>();
}

// Decodes `j` as T; the test fails if anything but a json::exception escapes.
template <typename T>
bool decodes(const json& j) {
  try {
    (void)j.get<T>();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

Guid sample_guid() { return *parse_guid(kGuidText); }

std::array<std::uint8_t, 20> counting_hash() {
  std::array<std::uint8_t, 20> hash{};
  for (std::size_t i = 0; i < hash.size(); ++i) hash[i] = static_cast<std::uint8_t>(i * 13 + 7);
  return hash;
}

FileInfo sample_file() {
  FileInfo f;
  f.index = 3;
  f.remote_name = "https://example.test/a%20b/\xC3\xA9t\xC3\xA9.bin";
  f.local_name = "/home/u/\xC3\xA9t\xC3\xA9.bin";
  f.temporary_name = "/home/u/.BIT1234.tmp";
  f.progress = {kSizeUnknown, 12345, true};
  f.ranges = {{0, 100}, {kMaxU64 - 1, kLengthToEof}};
  f.validation_state = true;
  f.validation_known = true;
  f.downloaded_from_peer = true;
  f.bytes_from_origin = kMaxU64;
  f.bytes_from_peers = 7;
  return f;
}

ErrorInfo sample_error() {
  ErrorInfo e;
  e.code = hr::kHttpFacilityBase + 404;
  e.context = ErrorContext::kRemoteFile;
  e.file_index = 2;
  e.protocol = "http";
  e.description = "The requested URL does not exist on the server.";
  e.context_description = "The error occurred while the remote file was being processed.";
  return e;
}

ClientCertificate sample_certificate() {
  return {CertStoreLocation::kLocalMachineEnterprise, "MY", counting_hash(), "CN=client,O=Test"};
}

// A job whose every field differs from its default.
JobInfo sample_job() {
  JobInfo j;
  j.id = sample_guid();
  j.type = JobType::kUploadReply;
  j.state = JobState::kTransientError;
  j.priority = JobPriority::kForeground;
  j.display_name = "name \"quoted\" \n newline";
  j.description = std::string(kMaxDescription, 'd');
  j.owner = "S-1-22-1-1000";
  j.owner_uid = kMaxU32;
  j.owner_name = "alice";
  j.owner_elevated = true;
  j.owner_integrity_level = 0x4000;
  j.progress = {kSizeUnknown, kMaxU64, kMaxU32, 1};
  j.times = {kMinI64, -1, std::numeric_limits<std::int64_t>::max()};
  j.error_count = 9;
  j.notify_flags = kNotifyAllFlags;
  j.notify_interface_registered = true;
  j.notify_cmd_program = "/usr/bin/true";
  j.notify_cmd_parameters = "true --flag";
  j.minimum_retry_delay = kMinimumRetryDelayFloor;
  j.no_progress_timeout = 0;
  j.maximum_download_time = kMaxU32;
  j.proxy = {ProxyUsage::kOverride, "http://proxy:3128", "<local>"};
  j.file_acl_flags = kCopyFileAll;
  j.peer_caching_flags = 3;
  j.security_flags = kSslIgnoreUnknownCa | kRedirectPolicyDisallow;
  j.custom_headers = "X-A: 1\r\nX-B: 2";
  j.custom_headers_write_only = true;
  j.client_certificate = sample_certificate();
  j.http_method = "PUT";
  j.dynamic_content = true;
  j.high_performance = true;
  j.max_download_size = 1 << 20;
  j.minimum_notification_interval_ms = 0;
  j.error = sample_error();
  j.next_retry_time = 1'800'000'000'000;
  j.files = {sample_file(), FileInfo{}};
  j.reply_file_name = "/tmp/reply";
  j.reply_bytes_total = 10;
  j.reply_bytes_transferred = 5;
  return j;
}

// The smallest JobInfo message from_json takes: every required member, nothing else.
json minimal_job_json() {
  json j = json(JobInfo{});
  for (const char* optional :
       {"reply_file_name", "next_retry_time", "reply_bytes_total", "reply_bytes_transferred",
        "notify_cmd_program", "notify_cmd_parameters", "custom_headers", "client_certificate",
        "error"}) {
    j.erase(optional);
  }
  return j;
}

void expect_same_file(const FileInfo& a, const FileInfo& b) {
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.remote_name, b.remote_name);
  EXPECT_EQ(a.local_name, b.local_name);
  EXPECT_EQ(a.temporary_name, b.temporary_name);
  EXPECT_EQ(a.progress.bytes_total, b.progress.bytes_total);
  EXPECT_EQ(a.progress.bytes_transferred, b.progress.bytes_transferred);
  EXPECT_EQ(a.progress.completed, b.progress.completed);
  EXPECT_EQ(a.ranges, b.ranges);
  EXPECT_EQ(a.validation_state, b.validation_state);
  EXPECT_EQ(a.validation_known, b.validation_known);
  EXPECT_EQ(a.downloaded_from_peer, b.downloaded_from_peer);
  EXPECT_EQ(a.bytes_from_origin, b.bytes_from_origin);
  EXPECT_EQ(a.bytes_from_peers, b.bytes_from_peers);
}

void expect_same_error(const ErrorInfo& a, const ErrorInfo& b) {
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.file_index, b.file_index);
  EXPECT_EQ(a.protocol, b.protocol);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.context_description, b.context_description);
}

TEST(CodecGuid, TravelsInUpperCaseBracesAndParsesBack) {
  EXPECT_EQ(json(sample_guid()), json(kGuidText));
  EXPECT_EQ(round_trip(sample_guid()), sample_guid());
  EXPECT_EQ(json("{c775d194-090f-431f-b5fb-8334d00d1cb6}").get<Guid>(), sample_guid());
  EXPECT_TRUE(round_trip(Guid{}).is_null());
}

TEST(CodecGuid, MalformedTextOrAnotherJsonTypeIsAJsonError) {
  EXPECT_THROW(json("C775D194-090F-431F-B5FB-8334D00D1CB6").get<Guid>(), json::other_error);
  EXPECT_THROW(json("").get<Guid>(), json::other_error);
  EXPECT_THROW(json(42).get<Guid>(), json::type_error);
  EXPECT_THROW(json(nullptr).get<Guid>(), json::type_error);
  EXPECT_THROW(json::array({1, 2}).get<Guid>(), json::type_error);
}

TEST(CodecEnums, EveryValueTravelsAsItsBitsTokenAndParsesBack) {
  for (int i = 0; i <= static_cast<int>(JobState::kCancelled); ++i) {
    auto state = static_cast<JobState>(i);
    EXPECT_EQ(json(state), json(to_string(state)));
    EXPECT_EQ(round_trip(state), state);
  }
  for (auto type : {JobType::kDownload, JobType::kUpload, JobType::kUploadReply}) {
    EXPECT_EQ(round_trip(type), type);
  }
  for (int i = 0; i <= static_cast<int>(JobPriority::kLow); ++i) {
    EXPECT_EQ(round_trip(static_cast<JobPriority>(i)), static_cast<JobPriority>(i));
  }
  for (int i = 0; i <= static_cast<int>(ProxyUsage::kAutodetect); ++i) {
    EXPECT_EQ(round_trip(static_cast<ProxyUsage>(i)), static_cast<ProxyUsage>(i));
  }
  EXPECT_EQ(json(JobState::kTransientError), json("TRANSIENT_ERROR"));
  EXPECT_EQ(json(JobType::kUploadReply), json("UPLOAD-REPLY"));
  EXPECT_EQ(json(ProxyUsage::kNoProxy), json("NO_PROXY"));
}

TEST(CodecEnums, UnknownTokenOrNumberIsAJsonError) {
  EXPECT_THROW(json("SLEEPING").get<JobState>(), json::other_error);
  EXPECT_THROW(json("SIDEWAYS").get<JobType>(), json::other_error);
  EXPECT_THROW(json("URGENT").get<JobPriority>(), json::other_error);
  EXPECT_THROW(json("SOMETIMES").get<ProxyUsage>(), json::other_error);
  // The number behind the token is not accepted in its place.
  EXPECT_THROW(json(2).get<JobState>(), json::type_error);
  EXPECT_THROW(json(0).get<JobType>(), json::type_error);
  EXPECT_THROW(json(true).get<JobPriority>(), json::type_error);
  EXPECT_THROW(json(nullptr).get<ProxyUsage>(), json::type_error);
}

TEST(CodecProgress, RangesProgressAndTimesKeepTheirLimitValues) {
  FileRange to_eof{kMaxU64 - 1, kLengthToEof};
  EXPECT_EQ(round_trip(to_eof), to_eof);
  EXPECT_EQ(json(to_eof)["length"].get<std::uint64_t>(), kMaxU64);

  JobProgress job{kSizeUnknown, kMaxU64, kMaxU32, kMaxU32 - 1};
  JobProgress job_back = round_trip(job);
  EXPECT_EQ(job_back.bytes_total, kSizeUnknown);
  EXPECT_EQ(job_back.bytes_transferred, kMaxU64);
  EXPECT_EQ(job_back.files_total, kMaxU32);
  EXPECT_EQ(job_back.files_transferred, kMaxU32 - 1);

  FileProgress file{kSizeUnknown, 1, true};
  FileProgress file_back = round_trip(file);
  EXPECT_EQ(file_back.bytes_total, kSizeUnknown);
  EXPECT_EQ(file_back.bytes_transferred, 1u);
  EXPECT_TRUE(file_back.completed);

  JobTimes times{kMinI64, 0, std::numeric_limits<std::int64_t>::max()};
  JobTimes times_back = round_trip(times);
  EXPECT_EQ(times_back.creation_time, kMinI64);
  EXPECT_EQ(times_back.modification_time, 0);
  EXPECT_EQ(times_back.transfer_completion_time, std::numeric_limits<std::int64_t>::max());
}

// Regression: members were read with nlohmann's get_to, which wrapped -1 into
// 18446744073709551615 and 4294967297 into 1, truncated floats and took true as 1.
TEST(CodecIntegers, NumbersThatDoNotFitTheirMemberAreAJsonError) {
  EXPECT_THROW((json{{"initial_offset", -1}, {"length", 2}}.get<FileRange>()), json::out_of_range);
  EXPECT_THROW((json{{"initial_offset", 1.5}, {"length", 2}}.get<FileRange>()), json::type_error);
  EXPECT_THROW((json{{"initial_offset", true}, {"length", 2}}.get<FileRange>()), json::type_error);
  json credentials = {{"target", 4294967297ULL}, {"scheme", 1}};
  EXPECT_THROW(credentials.get<AuthCredentials>(), json::out_of_range);
  EXPECT_EQ(get_integer<std::uint32_t>(json(4294967295ULL)), kMaxU32);
  EXPECT_THROW(get_integer<std::uint32_t>(json(4294967296ULL)), json::out_of_range);
  EXPECT_THROW(get_integer<std::uint32_t>(json(-1)), json::out_of_range);
  EXPECT_EQ(get_integer<std::int64_t>(json(kMinI64)), kMinI64);
  EXPECT_THROW(get_integer<std::int64_t>(json(kMaxU64)), json::out_of_range);
  EXPECT_THROW(get_integer<int>(json("7")), json::type_error);
  EXPECT_EQ(get_integer_or(json::object(), "absent", 7), 7);
}

TEST(CodecProgress, EveryMemberIsRequired) {
  for (const char* key : {"initial_offset", "length"}) {
    json j = json(FileRange{1, 2});
    j.erase(key);
    EXPECT_THROW(j.get<FileRange>(), json::out_of_range) << key;
  }
  for (const char* key : {"bytes_total", "bytes_transferred", "files_total", "files_transferred"}) {
    json j = json(JobProgress{});
    j.erase(key);
    EXPECT_THROW(j.get<JobProgress>(), json::out_of_range) << key;
  }
  for (const char* key : {"bytes_total", "bytes_transferred", "completed"}) {
    json j = json(FileProgress{});
    j.erase(key);
    EXPECT_THROW(j.get<FileProgress>(), json::out_of_range) << key;
  }
  for (const char* key : {"creation_time", "modification_time", "transfer_completion_time"}) {
    json j = json(JobTimes{});
    j.erase(key);
    EXPECT_THROW(j.get<JobTimes>(), json::out_of_range) << key;
  }
}

TEST(CodecProgress, WrongJsonTypesAreJsonErrors) {
  EXPECT_THROW((json{{"initial_offset", "0"}, {"length", 1}}.get<FileRange>()), json::type_error);
  EXPECT_THROW((json{{"initial_offset", 0}, {"length", nullptr}}.get<FileRange>()),
               json::type_error);
  EXPECT_THROW(json::array({0, 1}).get<FileRange>(), json::type_error);
  EXPECT_THROW(json(nullptr).get<JobProgress>(), json::type_error);
  json progress = json(FileProgress{});
  progress["completed"] = 1;
  EXPECT_THROW(progress.get<FileProgress>(), json::type_error);
}

TEST(CodecErrorInfo, CodeTravelsUnsignedAndContextAsItsBitsNumber) {
  ErrorInfo e = sample_error();
  json j = e;
  EXPECT_EQ(j["code"], json(0x80190194u));
  EXPECT_TRUE(j["code"].is_number_unsigned());
  EXPECT_EQ(j["context"], json(5));
  EXPECT_EQ(j["file_index"], json(2));
  expect_same_error(round_trip(e), e);
}

TEST(CodecErrorInfo, NoFileIndexTravelsAsNullAndTextsDefaultToEmpty) {
  ErrorInfo e = sample_error();
  e.file_index.reset();
  EXPECT_TRUE(json(e)["file_index"].is_null());
  EXPECT_FALSE(round_trip(e).file_index.has_value());

  ErrorInfo bare = json{{"code", 0x80070005u}, {"context", 4}}.get<ErrorInfo>();
  EXPECT_EQ(bare.code, 0x80070005u);
  EXPECT_EQ(bare.context, ErrorContext::kLocalFile);
  EXPECT_FALSE(bare.file_index.has_value());
  EXPECT_EQ(bare.protocol, "");
  EXPECT_EQ(bare.description, "");
  EXPECT_EQ(bare.context_description, "");
}

TEST(CodecErrorInfo, MissingCodeOrContextOrWrongTypesAreJsonErrors) {
  EXPECT_THROW((json{{"context", 4}}.get<ErrorInfo>()), json::out_of_range);
  EXPECT_THROW((json{{"code", 1}}.get<ErrorInfo>()), json::out_of_range);
  EXPECT_THROW((json{{"code", "E_FAIL"}, {"context", 4}}.get<ErrorInfo>()), json::type_error);
  EXPECT_THROW((json{{"code", 1}, {"context", "LOCAL_FILE"}}.get<ErrorInfo>()), json::type_error);
  EXPECT_THROW((json{{"code", 1}, {"context", 4}, {"description", 7}}.get<ErrorInfo>()),
               json::type_error);
  EXPECT_THROW((json{{"code", 1}, {"context", 4}, {"file_index", "2"}}.get<ErrorInfo>()),
               json::type_error);
}

TEST(CodecFileInfo, EveryMemberSurvivesARoundTrip) {
  FileInfo f = sample_file();
  expect_same_file(round_trip(f), f);
  expect_same_file(round_trip(FileInfo{}), FileInfo{});
  json j = f;
  EXPECT_EQ(j["ranges"].size(), 2u);
  EXPECT_EQ(j["progress"]["bytes_total"].get<std::uint64_t>(), kSizeUnknown);
}

TEST(CodecFileInfo, OptionalMembersDefaultWhenAbsent) {
  json j = {{"index", 1},
            {"remote_name", "http://h/f"},
            {"local_name", "/tmp/f"},
            {"progress", FileProgress{100, 50, false}}};
  FileInfo f = j.get<FileInfo>();
  EXPECT_EQ(f.index, 1u);
  EXPECT_EQ(f.temporary_name, "");
  EXPECT_TRUE(f.ranges.empty());
  EXPECT_FALSE(f.validation_state);
  EXPECT_FALSE(f.validation_known);
  EXPECT_FALSE(f.downloaded_from_peer);
  EXPECT_EQ(f.bytes_from_origin, 0u);
  EXPECT_EQ(f.bytes_from_peers, 0u);
  EXPECT_EQ(f.progress.bytes_total, 100u);
}

TEST(CodecFileInfo, MissingRequiredMembersOrWrongTypesAreJsonErrors) {
  for (const char* key : {"index", "remote_name", "local_name", "progress"}) {
    json j = json(sample_file());
    j.erase(key);
    EXPECT_THROW(j.get<FileInfo>(), json::out_of_range) << key;
  }
  json j = json(sample_file());
  j["ranges"] = json::array({json{{"initial_offset", 0}}});  // a range without its length
  EXPECT_THROW(j.get<FileInfo>(), json::out_of_range);
  j = json(sample_file());
  j["remote_name"] = 12;
  EXPECT_THROW(j.get<FileInfo>(), json::type_error);
  j = json(sample_file());
  j["validation_state"] = "yes";
  EXPECT_THROW(j.get<FileInfo>(), json::type_error);
}

TEST(CodecProxySettings, ListsTravelAsTextOrNull) {
  ProxySettings set{ProxyUsage::kOverride, "http://p:1 http://q:2", "<local>;*.corp"};
  json j = set;
  EXPECT_EQ(j["usage"], json("OVERRIDE"));
  ProxySettings back = round_trip(set);
  EXPECT_EQ(back.usage, ProxyUsage::kOverride);
  EXPECT_EQ(back.proxy_list, set.proxy_list);
  EXPECT_EQ(back.bypass_list, set.bypass_list);

  ProxySettings none{ProxyUsage::kNoProxy, std::nullopt, std::nullopt};
  EXPECT_TRUE(json(none)["proxy_list"].is_null());
  EXPECT_TRUE(json(none)["bypass_list"].is_null());
  ProxySettings none_back = json{{"usage", "NO_PROXY"}}.get<ProxySettings>();
  EXPECT_FALSE(none_back.proxy_list.has_value());
  EXPECT_FALSE(none_back.bypass_list.has_value());
  // An empty list is a list, not "none".
  ProxySettings empty{ProxyUsage::kOverride, "", ""};
  EXPECT_EQ(round_trip(empty).proxy_list, std::optional<std::string>(""));
}

TEST(CodecProxySettings, MissingOrUnknownUsageOrNonTextListsAreJsonErrors) {
  EXPECT_THROW((json{{"proxy_list", "http://p:1"}}.get<ProxySettings>()), json::out_of_range);
  EXPECT_THROW((json{{"usage", "MAYBE"}}.get<ProxySettings>()), json::other_error);
  EXPECT_THROW((json{{"usage", "OVERRIDE"}, {"proxy_list", 1}}.get<ProxySettings>()),
               json::type_error);
}

TEST(CodecAuthCredentials, TargetAndSchemeTravelAsBitsNumbersAndNullMeansImplicit) {
  AuthCredentials c{AuthTarget::kProxy, AuthScheme::kNegotiate, "DOMAIN\\user", "p\"w\n"};
  json j = c;
  EXPECT_EQ(j["target"], json(2));
  EXPECT_EQ(j["scheme"], json(4));
  AuthCredentials back = round_trip(c);
  EXPECT_EQ(back.target, AuthTarget::kProxy);
  EXPECT_EQ(back.scheme, AuthScheme::kNegotiate);
  EXPECT_EQ(back.user_name, c.user_name);
  EXPECT_EQ(back.password, c.password);

  AuthCredentials implicit{AuthTarget::kServer, AuthScheme::kNtlm, std::nullopt, std::nullopt};
  EXPECT_TRUE(json(implicit)["user_name"].is_null());
  EXPECT_TRUE(json(implicit)["password"].is_null());
  EXPECT_FALSE(round_trip(implicit).user_name.has_value());
  EXPECT_FALSE(round_trip(implicit).password.has_value());
}

TEST(CodecAuthCredentials, NumbersOutsideTheEnumsReachTheDaemonForBitsOwnError) {
  AuthCredentials c = json{{"target", 9}, {"scheme", 0}}.get<AuthCredentials>();
  EXPECT_EQ(static_cast<int>(c.target), 9);
  EXPECT_EQ(static_cast<int>(c.scheme), 0);
  EXPECT_THROW((json{{"scheme", 1}}.get<AuthCredentials>()), json::out_of_range);
  EXPECT_THROW((json{{"target", "SERVER"}, {"scheme", 1}}.get<AuthCredentials>()),
               json::type_error);
}

TEST(CodecClientCertificate, HashTravelsAsFortyLowerCaseHexDigits) {
  ClientCertificate cert = sample_certificate();
  json j = cert;
  EXPECT_EQ(j["location"], json(7));
  EXPECT_EQ(j["hash"], json(hash_to_hex(counting_hash())));
  EXPECT_EQ(j["hash"].get<std::string>().size(), 40u);
  EXPECT_EQ(round_trip(cert), cert);

  json no_subject = j;
  no_subject.erase("subject");
  EXPECT_EQ(no_subject.get<ClientCertificate>().subject, "");
}

TEST(CodecClientCertificate, MalformedHashOrMissingMembersAreJsonErrors) {
  json j = json(sample_certificate());
  j["hash"] = "00";
  EXPECT_THROW(j.get<ClientCertificate>(), json::other_error);
  j["hash"] = std::string(40, 'g');
  EXPECT_THROW(j.get<ClientCertificate>(), json::other_error);
  j["hash"] = nullptr;
  EXPECT_THROW(j.get<ClientCertificate>(), json::type_error);
  for (const char* key : {"location", "store_name", "hash"}) {
    json missing = json(sample_certificate());
    missing.erase(key);
    EXPECT_THROW(missing.get<ClientCertificate>(), json::out_of_range) << key;
  }
}

TEST(CodecHashHex, EncodesLowerCaseAndDecodesEitherCase) {
  std::array<std::uint8_t, 20> hash{};
  hash[0] = 0xAB;
  hash[19] = 0x0F;
  std::string hex = hash_to_hex(hash);
  EXPECT_EQ(hex, "ab" + std::string(36, '0') + "0f");
  EXPECT_EQ(hash_from_hex(hex), hash);
  EXPECT_EQ(hash_from_hex("AB" + std::string(36, '0') + "0F"), hash);
  EXPECT_EQ(hash_from_hex(hash_to_hex(counting_hash())), counting_hash());
}

TEST(CodecHashHex, WrongLengthOrNonHexDigitsGiveNothing) {
  std::string good = hash_to_hex(counting_hash());
  EXPECT_FALSE(hash_from_hex("").has_value());
  EXPECT_FALSE(hash_from_hex(good.substr(1)).has_value());
  EXPECT_FALSE(hash_from_hex(good + "0").has_value());
  for (char bad : {'g', 'G', ' ', '-', 'x', '\0'}) {
    std::string text = good;
    text[17] = bad;
    EXPECT_FALSE(hash_from_hex(text).has_value()) << static_cast<int>(bad);
  }
}

TEST(CodecJobInfo, EveryMemberSurvivesARoundTrip) {
  JobInfo job = sample_job();
  JobInfo back = round_trip(job);
  EXPECT_EQ(json(back), json(job));  // every member, as the wire sees it
  EXPECT_EQ(back.id, job.id);
  EXPECT_EQ(back.state, JobState::kTransientError);
  EXPECT_EQ(back.description.size(), kMaxDescription);
  EXPECT_EQ(back.owner_uid, kMaxU32);
  EXPECT_EQ(back.times.creation_time, kMinI64);
  EXPECT_EQ(back.client_certificate, job.client_certificate);
  ASSERT_TRUE(back.error.has_value());
  expect_same_error(*back.error, *job.error);
  ASSERT_EQ(back.files.size(), 2u);
  expect_same_file(back.files[0], job.files[0]);
  EXPECT_EQ(back.reply_bytes_total, 10u);
  EXPECT_EQ(back.next_retry_time, job.next_retry_time);
}

TEST(CodecJobInfo, AbsentOptionalsTravelAsNullAndComeBackAbsent) {
  JobInfo job;  // no notify command, headers, certificate or error
  json j = job;
  for (const char* key : {"notify_cmd_program", "notify_cmd_parameters", "custom_headers",
                          "client_certificate", "error"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_TRUE(j[key].is_null()) << key;
  }
  JobInfo back = round_trip(job);
  EXPECT_FALSE(back.notify_cmd_program.has_value());
  EXPECT_FALSE(back.custom_headers.has_value());
  EXPECT_FALSE(back.client_certificate.has_value());
  EXPECT_FALSE(back.error.has_value());
  EXPECT_EQ(json(back), j);
}

TEST(CodecJobInfo, MembersAnOlderPeerDoesNotSendGetTheirDefaults) {
  JobInfo job = minimal_job_json().get<JobInfo>();
  EXPECT_EQ(job.reply_file_name, "");
  EXPECT_EQ(job.next_retry_time, 0);
  EXPECT_EQ(job.reply_bytes_total, kSizeUnknown);
  EXPECT_EQ(job.reply_bytes_transferred, 0u);
  EXPECT_FALSE(job.notify_cmd_program.has_value());
  EXPECT_FALSE(job.notify_cmd_parameters.has_value());
  EXPECT_FALSE(job.error.has_value());
}

TEST(CodecJobInfo, EachRequiredMemberMissingIsAJsonError) {
  json minimal = minimal_job_json();
  ASSERT_TRUE(decodes<JobInfo>(minimal));
  for (const auto& item : minimal.items()) {
    json j = minimal;
    j.erase(item.key());
    EXPECT_THROW(j.get<JobInfo>(), json::out_of_range) << item.key();
  }
}

TEST(CodecJobInfo, EachMemberOfTheWrongJsonTypeIsAJsonError) {
  json good = json(sample_job());
  for (const auto& item : good.items()) {
    // An object where the member is a string or number, a string where it is anything else.
    json wrong = item.value().is_string() ? json::object({{"x", 1}}) : json("text");
    json j = good;
    j[item.key()] = wrong;
    EXPECT_FALSE(decodes<JobInfo>(j)) << item.key();
  }
}

TEST(CodecJobInfo, NonObjectMessagesAreJsonErrors) {
  for (const json& j : {json(nullptr), json(1), json("job"), json::array({json(JobInfo{})})}) {
    EXPECT_FALSE(decodes<JobInfo>(j)) << j.dump();
  }
}

// Numbers beyond a member's C++ type are not refused by the codec (nlohmann converts them);
// what must hold is that decoding returns or throws a json error, never crashes.
TEST(CodecJobInfo, NumbersOutOfRangeNeverCrashTheDecoder) {
  json good = json(sample_job());
  for (const json& number :
       {json(-1), json(kMaxU64), json(std::int64_t{1} << 40), json(1.5), json(kMinI64)}) {
    for (const auto& item : good.items()) {
      if (!item.value().is_number()) continue;
      json j = good;
      j[item.key()] = number;
      (void)decodes<JobInfo>(j);
    }
  }
}

TEST(CodecFileSpec, RoundTripsAndRangesAreOptional) {
  FileSpec spec{"http://h/a b", "/tmp/a b", {{10, 20}, {30, kLengthToEof}}};
  FileSpec back = round_trip(spec);
  EXPECT_EQ(back.remote_name, spec.remote_name);
  EXPECT_EQ(back.local_name, spec.local_name);
  EXPECT_EQ(back.ranges, spec.ranges);
  FileSpec whole = json{{"remote_name", "http://h/f"}, {"local_name", "/tmp/f"}}.get<FileSpec>();
  EXPECT_TRUE(whole.ranges.empty());
}

TEST(CodecFileSpec, MissingNamesOrWrongTypesAreJsonErrors) {
  EXPECT_THROW((json{{"local_name", "/tmp/f"}}.get<FileSpec>()), json::out_of_range);
  EXPECT_THROW((json{{"remote_name", "http://h/f"}}.get<FileSpec>()), json::out_of_range);
  EXPECT_THROW((json{{"remote_name", 1}, {"local_name", "/tmp/f"}}.get<FileSpec>()),
               json::type_error);
  EXPECT_THROW((json{{"remote_name", "http://h/f"}, {"local_name", "/tmp/f"}, {"ranges", "0-10"}}
                    .get<FileSpec>()),
               json::type_error);
}

}  // namespace
}  // namespace openbits
