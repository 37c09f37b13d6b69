// append_job_info_json: the same JSON value as the codec's to_json for every member, with
// strings that need escaping, invalid UTF-8, absent and present optionals, files.
#include "src/daemon/rpc/job_info_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "src/common/ids.h"
#include "src/protocol/codec.h"

namespace openbits::daemon::testing {
namespace {

using nlohmann::json;

json printed(const JobInfo& info) {
  std::string text;
  append_job_info_json(text, info, info.notify_interface_registered);
  return json::parse(text);
}

json from_codec(const JobInfo& info) {
  return json::parse(json(info).dump(-1, ' ', false, json::error_handler_t::replace));
}

JobInfo every_member_set() {
  JobInfo info;
  info.id = random_guid();
  info.type = JobType::kUploadReply;
  info.state = JobState::kTransientError;
  info.priority = JobPriority::kForeground;
  info.display_name = "quote \" backslash \\ tab \t bell \x07 del \x7f \xc3\xa9t\xc3\xa9";
  info.description = "invalid UTF-8: \xff\xfe end";
  info.owner = "S-1-22-1-1000";
  info.owner_uid = 1000;
  info.owner_name = "alice";
  info.owner_elevated = true;
  info.owner_integrity_level = 0x1000;
  info.progress = {1u << 31, 77, 2, 1};
  info.times = {1700000000000, 1700000000123, 1700000000456};
  info.error_count = 3;
  info.notify_flags = 0xB;
  info.notify_interface_registered = true;
  info.notify_cmd_program = "/usr/bin/notify";
  info.notify_cmd_parameters = "notify \"%1\"";
  info.minimum_retry_delay = 60;
  info.no_progress_timeout = 120;
  info.maximum_download_time = 3600;
  info.proxy.usage = ProxyUsage::kOverride;
  info.proxy.proxy_list = "http://proxy:3128";
  info.proxy.bypass_list = "<local>";
  info.file_acl_flags = 1;
  info.peer_caching_flags = 3;
  info.security_flags = 0x10;
  info.custom_headers = "X-A: 1\r\nX-B: 2";
  info.custom_headers_write_only = true;
  info.client_certificate = ClientCertificate{CertStoreLocation::kLocalMachine, "MY", {}, "CN=x"};
  info.http_method = "POST";
  info.dynamic_content = true;
  info.high_performance = true;
  info.max_download_size = 1 << 20;
  info.minimum_notification_interval_ms = 250;
  info.error = ErrorInfo{0x80190194, ErrorContext::kRemoteFile, 1, "http", "not found", "remote"};
  info.next_retry_time = 1700000009999;
  FileInfo file;
  file.index = 1;
  file.remote_name = "http://h/a b";
  file.local_name = "/tmp/a";
  file.ranges = {{0, 10}, {20, 5}};
  info.files = {FileInfo{}, file};
  info.reply_file_name = "/tmp/a.reply";
  info.reply_bytes_total = 99;
  info.reply_bytes_transferred = 9;
  return info;
}

TEST(JobInfoTextTest, DefaultJobPrintsWhatTheCodecPrints) {
  JobInfo info;
  info.id = random_guid();
  EXPECT_EQ(printed(info), from_codec(info));
}

TEST(JobInfoTextTest, EveryMemberPrintsWhatTheCodecPrints) {
  JobInfo info = every_member_set();
  json ours = printed(info);
  json codec = from_codec(info);
  EXPECT_EQ(ours, codec) << ours.dump(1) << "\n---\n" << codec.dump(1);
  EXPECT_EQ(ours["description"], "invalid UTF-8: \xef\xbf\xbd\xef\xbf\xbd end");
}

TEST(JobInfoTextTest, GivenInterfaceFlagWinsOverTheSnapshots) {
  JobInfo info;
  std::string text;
  append_job_info_json(text, info, true);
  EXPECT_TRUE(json::parse(text)["notify_interface_registered"].get<bool>());
}

TEST(JobInfoTextTest, AppendsAfterWhatIsAlreadyThere) {
  std::string text = "[";
  append_job_info_json(text, JobInfo{}, false);
  text += ",";
  append_job_info_json(text, JobInfo{}, false);
  text += "]";
  EXPECT_EQ(json::parse(text).size(), 2u);
}

}  // namespace
}  // namespace openbits::daemon::testing
