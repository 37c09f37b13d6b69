// Shared fixture for bitsd unit tests: a temporary directory, a fresh on-disk store, a
// fake clock and a fake transfer backend that records what the manager asked for, so
// tests drive the transfer events by hand.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <utility>
#include <variant>
#include <vector>

#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/store.h"
#include "src/daemon/transfer/sha256.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon::testing {

// Records every request; tokens count from 1, so started.at(token - 1) is token's request.
class FakeBackend final : public TransferBackend {
 public:
  using Request = std::variant<DownloadRequest, UploadRequest>;
  std::uint64_t start(DownloadRequest request) override { return record(std::move(request)); }
  std::uint64_t start(UploadRequest request) override { return record(std::move(request)); }
  void stop(std::uint64_t token) override {
    stopped.push_back(token);
    std::erase(running, token);
  }
  void set_rate_limit(std::uint64_t token, std::uint64_t bytes_per_s) override {
    rate_limits.emplace_back(token, bytes_per_s);
  }
  void set_pool_rate(std::uint64_t pool, std::uint64_t bytes_per_s) override {
    pool_rates[pool] = bytes_per_s;
  }
  void join_rate_pool(std::uint64_t token, std::uint64_t pool) override { pool_of[token] = pool; }
  std::uint64_t last_token() const { return next_token - 1; }
  // What every request carries, of the latest one.
  const TransferRequest& last() const {
    return std::visit([](const auto& r) -> const TransferRequest& { return r; }, started.back());
  }
  const DownloadRequest& last_download() const { return download(last_token()); }
  const UploadRequest& last_upload() const { return std::get<UploadRequest>(started.back()); }
  const DownloadRequest& download(std::uint64_t token) const {
    return std::get<DownloadRequest>(started.at(token - 1));
  }

  std::vector<Request> started;
  std::vector<std::uint64_t> stopped;
  std::vector<std::uint64_t> running;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> rate_limits;  // token, bytes per s
  std::map<std::uint64_t, std::uint64_t> pool_rates;                 // pool: bytes per s
  std::map<std::uint64_t, std::uint64_t> pool_of;                    // token: pool
  std::uint64_t next_token = 1;

 private:
  std::uint64_t record(Request request) {
    started.push_back(std::move(request));
    running.push_back(next_token);
    return next_token++;
  }
};

using test::TempDir;

inline Caller user_caller(uid_t uid = 1000) {
  Caller c;
  c.uid = uid;
  c.gid = uid;
  c.integrity_level = kIntegrityMedium;
  return c;
}

inline Caller root_caller() {
  Caller c;
  c.admin = true;
  c.elevated = true;
  c.integrity_level = kIntegritySystem;
  return c;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { open_manager(); }

  void open_manager() {
    manager.reset();
    store.reset();
    auto opened = Store::open(dir.path() + "/jobs.db");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store = std::move(opened).value();
    manager = std::make_unique<JobManager>(*store, clock, config);
    ASSERT_TRUE(manager->load().ok());
    manager->set_backend(&backend);
  }

  // A download job of `caller` with `files` files whose local names are in the temp dir.
  Guid make_job(const Caller& caller, int files = 1) {
    auto id = manager->create_job(caller, "test job", JobType::kDownload);
    EXPECT_TRUE(id.ok());
    std::vector<FileSpec> specs;
    for (int i = 0; i < files; ++i) {
      specs.push_back({"http://127.0.0.1:1/f" + std::to_string(i),
                       dir.path() + "/out" + std::to_string(i) + "-" + std::to_string(counter++),
                       {}});
    }
    if (files > 0) {
      EXPECT_TRUE(manager->add_files(caller, *id, specs).ok());
    }
    return *id;
  }

  JobState state_of(const Guid& id) { return manager->job_info(root_caller(), id)->state; }

  // Simulates the engine finishing the transfer `token`: writes the temp file, reports it.
  void finish_transfer(std::uint64_t token, const std::string& content = "0123456789") {
    const DownloadRequest& request = backend.download(token);
    std::ofstream(request.temp_name) << content;
    std::erase(backend.running, token);  // the engine is done with it
    manager->on_connected(token);
    if (request.hash_body) {  // as the engine: the SHA-256 of what it wrote
      Sha256 hash;
      hash.update(content);
      manager->on_body_sha256(token, hash.hex());
    }
    manager->on_complete(token, content.size(), 0);
  }

  // Brings a fresh one-file job of `caller` to `state` through real events.
  Guid job_in_state(JobState state, const Caller& caller) {
    Guid id = make_job(caller);
    switch (state) {
      case JobState::kSuspended:
        break;
      case JobState::kQueued:
        manager->set_backend(nullptr);
        EXPECT_TRUE(manager->resume(caller, id).ok());
        manager->set_backend(&backend);
        break;
      case JobState::kConnecting:
        EXPECT_TRUE(manager->resume(caller, id).ok());
        break;
      case JobState::kTransferring:
        EXPECT_TRUE(manager->resume(caller, id).ok());
        manager->on_connected(backend.last_token());
        break;
      case JobState::kTransientError:
        EXPECT_TRUE(manager->resume(caller, id).ok());
        manager->on_error(backend.last_token(), http_error(503), ErrorContext::kRemoteFile, true, 0,
                          "");
        break;
      case JobState::kError:
        EXPECT_TRUE(manager->resume(caller, id).ok());
        manager->on_error(backend.last_token(), http_error(404), ErrorContext::kRemoteFile, false,
                          0, "");
        break;
      case JobState::kTransferred:
        EXPECT_TRUE(manager->resume(caller, id).ok());
        finish_transfer(backend.last_token());
        break;
      case JobState::kAcknowledged:
        EXPECT_TRUE(manager->resume(caller, id).ok());
        finish_transfer(backend.last_token());
        EXPECT_TRUE(manager->complete(caller, id).ok());
        break;
      case JobState::kCancelled:
        EXPECT_TRUE(manager->cancel(caller, id).ok());
        break;
    }
    EXPECT_EQ(state_of(id), state);
    return id;
  }

  TempDir dir;
  FakeClock clock;
  Config config;
  FakeBackend backend;
  std::unique_ptr<Store> store;
  std::unique_ptr<JobManager> manager;
  int counter = 0;
};

}  // namespace openbits::daemon::testing
