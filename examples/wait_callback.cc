// openbits_example_wait_callback: waiting for a job with callbacks instead of polling.
//
//   openbits_example_wait_callback <url> <absolute-local-path>
//
// Creates a download job, registers a JobCallback (Job::set_callback) and resumes the job,
// then lets Manager::process_events() deliver bitsd's notifications: progress lines from
// modification(), and at the end transferred() (complete the job, the file appears) or
// error() (print the error, cancel the job). Returning S_OK from those two tells bitsd the
// event was handled; otherwise it would deliver it again later.
// Exit status 0 when the file was delivered, 1 on any failure, 2 on bad usage.
#include <cstdio>

#include "openbits/client.h"

namespace {

using namespace openbits;

class Waiter final : public JobCallback {
 public:
  Status transferred(Job& job) override {
    Status s = job.complete();
    std::printf("transferred: %s\n", s.ok() ? "completed" : hresult_hex(s.code()).c_str());
    result_ = s.ok() ? 0 : 1;
    return Status();
  }
  Status error(Job& job, const ErrorInfo& error) override {
    std::printf("error %s: %s\n", hresult_hex(error.code).c_str(), error.description.c_str());
    (void)job.cancel();
    result_ = 1;
    return Status();
  }
  void modification(Job&, const JobInfo& info) override {
    std::printf("%s %llu bytes\n", to_string(info.state).c_str(),
                static_cast<unsigned long long>(info.progress.bytes_transferred));
  }
  int result() const { return result_; }

 private:
  int result_ = -1;  // -1 while waiting
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <url> <absolute-local-path>\n", argv[0]);
    return 2;
  }
  auto fail = [](const char* what, const Status& s) {
    std::fprintf(stderr, "%s failed: %s %s\n", what, hresult_hex(s.code()).c_str(),
                 describe_hresult(s.code()).c_str());
    return 1;
  };
  auto manager = Manager::connect();
  if (!manager.ok()) return fail("connect", manager.status());
  auto job = manager->create_job("example callback");
  if (!job.ok()) return fail("create_job", job.status());
  auto waiter = std::make_shared<Waiter>();
  // Transferred, error and modification callbacks.
  if (Status s =
          job->set_notify_flags(kNotifyJobTransferred | kNotifyJobError | kNotifyJobModification);
      !s.ok()) {
    return fail("set_notify_flags", s);
  }
  if (Status s = job->set_callback(waiter); !s.ok()) return fail("set_callback", s);
  if (Status s = job->add_file(argv[1], argv[2]); !s.ok()) return fail("add_file", s);
  if (Status s = job->resume(); !s.ok()) return fail("resume", s);
  while (waiter->result() < 0) {
    auto handled = manager->process_events(std::chrono::seconds(5));
    if (!handled.ok()) return fail("process_events", handled.status());
  }
  if (waiter->result() == 0) std::printf("delivered %s\n", argv[2]);
  return waiter->result();
}
