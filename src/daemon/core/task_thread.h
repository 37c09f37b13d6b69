// TaskThread: one background thread that runs posted tasks in order (JobManager's peer-cache
// work: copying a validated file into the cache, verifying records loaded at start-up), so
// long file work never runs under the manager's mutex nor delays the call that caused it.
//
// Threading: post() and wait_idle() from any thread; the destructor runs the tasks already
// posted, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace openbits::daemon {

class TaskThread {
 public:
  TaskThread();
  ~TaskThread();
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  void post(std::function<void()> task);
  // Returns once every task posted before the call has run (tests, shutdown).
  void wait_idle();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> tasks_;
  bool running_task_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace openbits::daemon
