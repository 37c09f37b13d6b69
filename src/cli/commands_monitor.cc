// bitsadmin /MONITOR: the queue, refreshed every N seconds until Ctrl+C. On a terminal
// the screen is redrawn in place (no line wrapping, as bitsadmin.md §9.3 says); otherwise
// each refresh appends one frame followed by a blank line. --json streams one JSON line
// per job that appeared ("added"), changed ("changed": each state change once, from the
// daemon's queue events, and progress at each refresh) or left the queue ("removed", with
// "reason": completed, cancelled or ownership).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <ostream>
#include <thread>

#include "src/cli/arguments.h"
#include "src/cli/commands.h"
#include "src/cli/format.h"

namespace openbits::cli {
namespace {

std::atomic<bool> g_stop{false};

void on_stop(int) { g_stop = true; }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool same_view(const JobInfo& a, const JobInfo& b) {
  return a.state == b.state && a.display_name == b.display_name &&
         a.progress.bytes_transferred == b.progress.bytes_transferred &&
         a.progress.bytes_total == b.progress.bytes_total &&
         a.progress.files_transferred == b.progress.files_transferred &&
         a.progress.files_total == b.progress.files_total &&
         a.times.modification_time == b.times.modification_time;
}

// --json: the daemon's queue events, each state change once as it happens (a job that
// lives less than a refresh interval is shown too), and at every refresh a "changed" line
// for jobs whose progress or name changed meanwhile.
class JsonMonitor {
 public:
  explicit JsonMonitor(std::ostream& out) : out_(out) {}

  // The queue as enum_jobs shows it: the first one lists every job ("added"); later ones
  // only report progress, since states come from the event stream.
  void snapshot(const std::vector<JobInfo>& jobs, bool first) {
    for (const JobInfo& job : jobs) {
      auto seen = seen_.find(job.id);
      if (first && seen == seen_.end()) {
        print("added", job);
        seen_[job.id] = job;
        snapshot_time_[job.id] = job.times.modification_time;
      } else if (seen != seen_.end() && seen->second.state == job.state &&
                 !same_view(seen->second, job)) {
        print("changed", job);
        seen->second = job;
      }
    }
  }

  void event(const QueueEvent& e) {
    auto seen = seen_.find(e.job.id);
    if (e.kind == QueueEvent::Kind::kRemoved) {
      if (seen == seen_.end()) return;
      print("removed", e.job, e.reason);
      seen_.erase(seen);
      snapshot_time_.erase(e.job.id);
      return;
    }
    if (seen == seen_.end()) {
      print("added", e.job);
      seen_[e.job.id] = e.job;
      return;
    }
    if (stale(e.job) || seen->second.state == e.job.state) return;
    print("changed", e.job);
    seen->second = e.job;
  }

 private:
  // An event the first snapshot already showed (it came in between subscribing and the
  // snapshot).
  bool stale(const JobInfo& job) {
    auto at = snapshot_time_.find(job.id);
    if (at == snapshot_time_.end()) return false;
    if (job.times.modification_time > at->second) {
      snapshot_time_.erase(at);
      return false;
    }
    return true;
  }
  void print(const char* what, const JobInfo& job, const std::string& reason = {}) {
    out_ << monitor_event(what, now_ms(), job, reason) << '\n';
  }

  std::ostream& out_;
  std::map<Guid, JobInfo> seen_;
  std::map<Guid, std::int64_t> snapshot_time_;
};

int monitor_json(Context& ctx, Manager& m, const MonitorArgs& args) {
  if (Status s = m.watch_queue(args.all_users); !s.ok()) return ctx.fail("monitor jobs", s);
  JsonMonitor view(ctx.out);
  auto next_refresh = std::chrono::steady_clock::now();
  bool first = true;
  while (!g_stop) {
    if (std::chrono::steady_clock::now() >= next_refresh) {
      auto jobs = m.enum_jobs(args.all_users);
      if (!jobs.ok()) return ctx.fail("monitor jobs", jobs.status());
      view.snapshot(*jobs, first);
      first = false;
      next_refresh += std::chrono::seconds(args.refresh_s);
      ctx.out.flush();
    }
    // Short waits, so Ctrl+C is noticed soon.
    auto event = m.next_queue_event(std::chrono::milliseconds(100));
    if (!event.ok()) return ctx.fail("monitor jobs", event.status());
    if (*event) view.event(**event);
    ctx.out.flush();
  }
  return 0;
}

// Sleeps up to `seconds`, waking early for Ctrl+C.
void pause(std::uint32_t seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!g_stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int monitor(Context& ctx) {
  auto args = parse_monitor_args(ctx.inv.args);
  if (!args.ok()) {
    return ctx.usage("/MONITOR [/ALLUSERS] [/REFRESH seconds] [--json]", args.status());
  }
  auto m = ctx.manager();
  if (!m.ok()) return ctx.fail("monitor jobs", m.status());
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  if (args->json) return monitor_json(ctx, **m, *args);
  bool tty = ::isatty(STDOUT_FILENO) == 1;
  if (tty) ctx.out << "\033[?7l";  // no wrapping while monitoring
  int status = 0;
  while (!g_stop) {
    auto jobs = (*m)->enum_jobs(args->all_users);
    if (!jobs.ok()) {
      status = ctx.fail("monitor jobs", jobs.status());
      break;
    }
    if (tty) {
      ctx.out << "\033[H\033[2J" << monitor_frame(*jobs, args->refresh_s);
    } else {
      ctx.out << monitor_frame(*jobs, args->refresh_s) << '\n';
    }
    ctx.out.flush();
    pause(args->refresh_s);
  }
  if (tty) ctx.out << "\033[?7h" << std::flush;
  return status;
}

}  // namespace

void add_monitor_commands(std::map<std::string, Handler>& table) { table["monitor"] = monitor; }

}  // namespace openbits::cli
