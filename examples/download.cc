// openbits_example_download: the smallest complete use of libopenbits.
//
//   openbits_example_download <url> <absolute-local-path>
//
// Connects to bitsd (the socket of $OPENBITS_SOCKET, else the system or user instance),
// creates a download job, adds one file, resumes it, waits (polling twice a second) until
// the job is TRANSFERRED or in ERROR, then completes it (the file appears at the local
// path) or cancels it. TRANSIENT_ERROR is left to bitsd, which retries by itself.
// Exit status 0 when the file was delivered, 1 on any failure, 2 on bad usage.
//
// Build: cmake --build build --target openbits_example_download (links libopenbits.so).
#include <chrono>
#include <cstdio>
#include <thread>

#include "openbits/client.h"

int main(int argc, char** argv) {
  using namespace openbits;
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
  auto job = manager->create_job("example download");
  if (!job.ok()) return fail("create_job", job.status());
  if (Status s = job->add_file(argv[1], argv[2]); !s.ok()) return fail("add_file", s);
  if (Status s = job->resume(); !s.ok()) return fail("resume", s);
  for (;;) {
    auto info = job->info();
    if (!info.ok()) return fail("info", info.status());
    std::printf("%s %llu / %llu bytes\n", to_string(info->state).c_str(),
                static_cast<unsigned long long>(info->progress.bytes_transferred),
                static_cast<unsigned long long>(info->progress.bytes_total));
    if (info->state == JobState::kTransferred) break;
    if (info->state == JobState::kError) {
      ErrorInfo error = info->error.value_or(ErrorInfo{});
      std::fprintf(stderr, "error %s: %s\n", hresult_hex(error.code).c_str(),
                   error.description.c_str());
      (void)job->cancel();
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (Status s = job->complete(); !s.ok()) return fail("complete", s);
  std::printf("delivered %s\n", argv[2]);
  return 0;
}
