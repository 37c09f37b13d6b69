// Base fixture for integration tests: a temp dir with nginx and bitsd running.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "tests/integration/fixture.h"

namespace openbits::itest {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nginx.start(free_port());
    bitsd.start();
    manager.emplace(bitsd.connect());
    out = dir.path() + "/out";
    std::filesystem::create_directories(out);
    std::filesystem::permissions(out, std::filesystem::perms::all);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- bitsd log ---\n" << bitsd.log();
  }
  Job create(const std::string& name = "itest") {
    auto job = manager->create_job(name);
    EXPECT_TRUE(job.ok());
    return *job;
  }

  TempDir dir;
  Nginx nginx{dir.path()};
  Bitsd bitsd{dir.path()};
  std::optional<Manager> manager;
  std::string out;
};

}  // namespace openbits::itest
