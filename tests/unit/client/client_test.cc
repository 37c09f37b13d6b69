// Unit tests of Manager/Job/File against a scripted peer (FakeBitsd): the method and
// params of every call as docs/rpc-spec.md writes them, decoding of JobInfo replies, and
// success codes other than S_OK reaching the caller in an ok Status.
#include "openbits/client.h"

#include <gtest/gtest.h>

#include <limits>

#include "fake_bitsd.h"

namespace openbits {
namespace {

using fake::FakeBitsd;
using fake::result_line;
using nlohmann::json;

const char* const kJobId = "{6AF46E48-41D3-453F-B7AF-A694BBC823F7}";

JobInfo sample_job(std::size_t files) {
  JobInfo info;
  info.id = *parse_guid(kJobId);
  info.state = JobState::kTransferring;
  info.display_name = "nightly";
  info.owner = "S-1-22-1-1000";
  info.owner_uid = 1000;
  info.progress = {300, 120, static_cast<std::uint32_t>(files), 1};
  for (std::uint32_t i = 0; i < files; ++i) {
    FileInfo file;
    file.index = i;
    file.remote_name = "http://host/f" + std::to_string(i);
    file.local_name = "/tmp/f" + std::to_string(i);
    file.progress = {100, i == 0 ? 100u : 20u, i == 0};
    info.files.push_back(file);
  }
  return info;
}

// Answers like bitsd for a job with two files; everything else gets {"hresult": 0}.
class ClientTest : public ::testing::Test {
 protected:
  ClientTest()
      : server_([this](const json& request) { return answer(request); }),
        manager_(Manager::connect(server_.path()).value()) {}

  std::vector<std::string> answer(const json& request) {
    std::string method = request["method"];
    json result = {{"hresult", reply_hresult}};
    if (method == "manager.create_job") result = {{"job_id", kJobId}};
    if (method == "job.get" || method == "manager.get_job") {
      result = json::parse(to_json(sample_job(files_in_job), -1));
    }
    if (method == "manager.enum_jobs") {
      result = {{"jobs", json::array({json::parse(to_json(sample_job(0), -1)),
                                      json::parse(to_json(sample_job(1), -1))})}};
    }
    if (method == "job.get_error") {
      result = {{"code", 0x80190194u},
                {"context", 5},
                {"file_index", 0},
                {"protocol", "http"},
                {"description", "Not found"}};
    }
    return {result_line(request, result)};
  }

  Job job() { return manager_.create_job("nightly").value(); }
  json params() const { return server_.last_request()["params"]; }
  std::string method() const { return server_.last_request()["method"]; }

  HRESULT reply_hresult = hr::S_OK;
  std::size_t files_in_job = 2;
  FakeBitsd server_;
  Manager manager_;
};

TEST_F(ClientTest, CreateJobSendsNameAndTypeAndKeepsTheGuid) {
  auto created = manager_.create_job("nightly", JobType::kUploadReply);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(to_string(created->id()), kJobId);
  EXPECT_EQ(method(), "manager.create_job");
  EXPECT_EQ(params(), json({{"display_name", "nightly"}, {"type", "UPLOAD-REPLY"}}));
}

TEST_F(ClientTest, GetJobAndEnumJobs) {
  Guid id = *parse_guid(kJobId);
  auto got = manager_.get_job(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->id(), id);
  EXPECT_EQ(method(), "manager.get_job");
  EXPECT_EQ(params(), json({{"job_id", kJobId}}));
  auto jobs = manager_.enum_jobs(true);
  ASSERT_TRUE(jobs.ok());
  // Paged (manager.enum_jobs with a cursor); the fake answers with no "next": one page.
  EXPECT_EQ(params(), json({{"all_users", true}, {"cursor", ""}}));
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[1].files.size(), 1u);
  auto handles = manager_.enum_job_handles();
  ASSERT_TRUE(handles.ok());
  EXPECT_EQ(params(), json({{"all_users", false}, {"cursor", ""}}));
  EXPECT_EQ(handles->count(), 2u);
}

TEST_F(ClientTest, InfoStateProgressAndFilesDecodeTheJobInfo) {
  Job j = job();
  auto info = j.info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(method(), "job.get");
  EXPECT_EQ(params(), json({{"job_id", kJobId}}));
  EXPECT_EQ(info->display_name, "nightly");
  EXPECT_EQ(info->owner_uid, 1000u);
  EXPECT_EQ(*j.state(), JobState::kTransferring);
  EXPECT_EQ(j.progress()->bytes_transferred, 120u);
  auto files = j.files();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[1].index(), 1u);
  auto second = (*files)[1].info();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->remote_name, "http://host/f1");
  EXPECT_EQ(second->progress.bytes_transferred, 20u);
  EXPECT_FALSE(second->progress.completed);
  files_in_job = 1;  // the file is gone from the job (a new snapshot)
  EXPECT_EQ((*files)[1].info().code(), hr::BG_E_FILE_NOT_FOUND);
  EXPECT_EQ(j.enum_files()->count(), 1u);
}

TEST_F(ClientTest, GetErrorDecodesTheErrorObject) {
  auto error = job().error();
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(method(), "job.get_error");
  EXPECT_EQ(error->code, 0x80190194u);
  EXPECT_EQ(error->context, ErrorContext::kRemoteFile);
  EXPECT_EQ(error->file_index, 0u);
  EXPECT_EQ(error->protocol, "http");
}

TEST_F(ClientTest, SuccessCodesOtherThanSOkAreOkStatuses) {
  Job j = job();
  reply_hresult = hr::BG_S_PARTIAL_COMPLETE;
  Status complete = j.complete();
  EXPECT_TRUE(complete.ok());
  EXPECT_EQ(complete.code(), hr::BG_S_PARTIAL_COMPLETE);
  EXPECT_EQ(method(), "job.complete");
  reply_hresult = hr::BG_S_UNABLE_TO_DELETE_FILES;
  EXPECT_EQ(j.cancel().code(), hr::BG_S_UNABLE_TO_DELETE_FILES);
  EXPECT_EQ(method(), "job.cancel");
  reply_hresult = hr::S_FALSE;
  Status replaced = j.replace_remote_prefix("http://stage", "http://prod");
  EXPECT_TRUE(replaced.ok());
  EXPECT_EQ(replaced.code(), hr::S_FALSE);
  EXPECT_EQ(method(), "job.replace_remote_prefix");
  EXPECT_EQ(
      params(),
      json({{"job_id", kJobId}, {"old_prefix", "http://stage"}, {"new_prefix", "http://prod"}}));
}

TEST_F(ClientTest, LifecycleMethodsNameTheJob) {
  Job j = job();
  const std::vector<std::pair<Status (Job::*)(), std::string>> calls = {
      {&Job::resume, "job.resume"},
      {&Job::suspend, "job.suspend"},
      {&Job::cancel, "job.cancel"},
      {&Job::complete, "job.complete"},
      {&Job::take_ownership, "job.take_ownership"}};
  for (const auto& [call, name] : calls) {
    EXPECT_EQ((j.*call)().code(), hr::S_OK) << name;
    EXPECT_EQ(method(), name);
    EXPECT_EQ(params(), json({{"job_id", kJobId}})) << name;
  }
}

TEST_F(ClientTest, AddFilesSendsTheSetWithRanges) {
  Job j = job();
  ASSERT_TRUE(j.add_file("http://host/a", "/tmp/a").ok());
  EXPECT_EQ(method(), "job.add_files");
  EXPECT_EQ(params()["files"],
            json::parse(R"([{"remote_name":"http://host/a","local_name":"/tmp/a","ranges":[]}])"));
  ASSERT_TRUE(
      j.add_file_with_ranges("http://host/b", "/tmp/b", {{0, 10}, {20, kLengthToEof}}).ok());
  EXPECT_EQ(params()["files"][0]["ranges"],
            json::parse(R"([{"initial_offset":0,"length":10},)"
                        R"({"initial_offset":20,"length":18446744073709551615}])"));
  ASSERT_TRUE(j.add_file_set({{"http://host/c", "/tmp/c", {}}, {"file:///d", "/tmp/d", {}}}).ok());
  EXPECT_EQ(params()["files"].size(), 2u);
  EXPECT_EQ(params()["files"][1]["remote_name"], "file:///d");
  std::size_t sent = server_.requests().size();
  EXPECT_EQ(j.add_file_with_ranges("http://host/e", "/tmp/e", {}).code(), hr::E_INVALIDARG);
  EXPECT_EQ(server_.requests().size(), sent);  // refused locally
}

TEST_F(ClientTest, FileSettersNameJobAndIndex) {
  Job j = job();
  File second = j.files()->at(1);
  ASSERT_TRUE(second.set_remote_name("http://mirror/f1").ok());
  EXPECT_EQ(method(), "file.set_remote_name");
  EXPECT_EQ(params(),
            json({{"job_id", kJobId}, {"file_index", 1}, {"remote_name", "http://mirror/f1"}}));
  ASSERT_TRUE(second.set_validation_state(true).ok());
  EXPECT_EQ(method(), "file.set_validation_state");
  EXPECT_EQ(params(), json({{"job_id", kJobId}, {"file_index", 1}, {"valid", true}}));
}

TEST_F(ClientTest, PropertySettersSendTypedValues) {
  Job j = job();
  auto check = [&](Status status, const char* name, const json& value) {
    EXPECT_TRUE(status.ok()) << name;
    EXPECT_EQ(method(), "job.set_property");
    EXPECT_EQ(params(), json({{"job_id", kJobId}, {"name", name}, {"value", value}})) << name;
  };
  check(j.set_display_name("n"), "display_name", "n");
  check(j.set_description("d"), "description", "d");
  check(j.set_priority(JobPriority::kForeground), "priority", "FOREGROUND");
  check(j.set_notify_flags(0x1F), "notify_flags", 0x1F);
  check(j.set_notify_cmd_line(std::string("/bin/true"), std::nullopt), "notify_cmd_line",
        {{"program", "/bin/true"}, {"parameters", nullptr}});
  check(j.set_minimum_retry_delay(5), "minimum_retry_delay", 5);
  check(j.set_no_progress_timeout(60), "no_progress_timeout", 60);
  check(j.set_maximum_download_time(7), "maximum_download_time", 7);
  check(j.set_proxy_settings(ProxyUsage::kOverride, std::string("http=p:3128"),
                             std::string("<local>")),
        "proxy",
        {{"usage", "OVERRIDE"}, {"proxy_list", "http=p:3128"}, {"bypass_list", "<local>"}});
  check(j.set_file_acl_flags(kCopyFileOwner), "file_acl_flags", 1);
  check(j.set_peer_caching_flags(0), "peer_caching_flags", 0);
  check(j.set_security_flags(0x100), "security_flags", 0x100);
  check(j.set_custom_headers(std::string("A: b\r\n")), "custom_headers", "A: b\r\n");
  check(j.set_custom_headers(std::nullopt), "custom_headers", nullptr);
  check(j.make_custom_headers_write_only(), "custom_headers_write_only", true);
  check(j.set_http_method("PUT"), "http_method", "PUT");
  check(j.set_dynamic_content(true), "dynamic_content", true);
  check(j.set_high_performance(false), "high_performance", false);
  check(j.set_max_download_size(std::numeric_limits<std::uint64_t>::max()), "max_download_size",
        std::numeric_limits<std::uint64_t>::max());
  check(j.set_minimum_notification_interval(250), "minimum_notification_interval_ms", 250);
}

TEST_F(ClientTest, ToJsonUsesTheSpecNames) {
  JobInfo info = sample_job(1);
  json j = json::parse(to_json(info, -1));
  EXPECT_EQ(j["id"], kJobId);
  EXPECT_EQ(j["state"], "TRANSFERRING");
  EXPECT_EQ(j["progress"]["bytes_total"], 300);
  EXPECT_EQ(j["files"][0]["progress"]["completed"], true);
  EXPECT_NE(to_json(info).find('\n'), std::string::npos);  // indented by default
}

}  // namespace
}  // namespace openbits
