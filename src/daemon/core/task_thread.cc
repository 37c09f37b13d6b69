// The background task thread; see task_thread.h.
#include "src/daemon/core/task_thread.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace openbits::daemon {

TaskThread::TaskThread() : thread_([this] { run(); }) {}

TaskThread::~TaskThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void TaskThread::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  changed_.notify_all();
}

void TaskThread::wait_idle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return tasks_.empty() && !running_task_; });
}

void TaskThread::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    running_task_ = true;
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {  // a task's failure is its own, not bitsd's
      spdlog::error("background task failed: {}", e.what());
    }
    lock.lock();
    running_task_ = false;
    changed_.notify_all();
  }
}

}  // namespace openbits::daemon
