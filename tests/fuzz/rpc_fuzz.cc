// libFuzzer target: one JSON-RPC line through bitsd's Dispatcher and JobManager (real
// SQLite store in a temp dir, fake transfer backend). The daemon must answer every input
// without crashing, and answer requests with exactly one JSON object.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "src/daemon/core/job_manager.h"
#include "src/daemon/core/store.h"
#include "src/daemon/rpc/dispatcher.h"
#include "tests/support/fake_clock.h"

namespace {

using namespace openbits;
using namespace openbits::daemon;

class NullBackend final : public TransferBackend {
 public:
  std::uint64_t start(DownloadRequest) override { return ++next_; }
  std::uint64_t start(UploadRequest) override { return ++next_; }
  void stop(std::uint64_t) override {}
  void set_rate_limit(std::uint64_t, std::uint64_t) override {}

 private:
  std::uint64_t next_ = 0;
};

struct World {
  World() {
    std::string templ = "/tmp/openbits-fuzz-XXXXXX";
    dir = ::mkdtemp(templ.data());
    store = std::move(Store::open(dir + "/jobs.db")).value();
    Config config;
    config.max_jobs_per_user = 20;
    jobs = std::make_unique<JobManager>(*store, clock, config);
    (void)jobs->load();
    jobs->set_backend(&backend);
    dispatcher = std::make_unique<Dispatcher>(*jobs);
  }
  std::string dir;
  FakeClock clock;
  NullBackend backend;
  std::unique_ptr<Store> store;
  std::unique_ptr<JobManager> jobs;
  std::unique_ptr<Dispatcher> dispatcher;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  Caller caller;
  caller.uid = 1000;
  caller.gid = 1000;
  std::string line(reinterpret_cast<const char*>(data), size);
  auto response = world.dispatcher->handle_line(caller, line);
  if (response) {
    auto parsed = nlohmann::json::parse(*response, nullptr, false);
    if (!parsed.is_object()) __builtin_trap();
  }
  world.clock.advance_s(7);
  world.jobs->tick();
  return 0;
}
