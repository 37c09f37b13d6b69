// bitsadmin /MONITOR: the queue, refreshed every N seconds until Ctrl+C. On a terminal
// the screen is redrawn in place (no line wrapping, as bitsadmin.md §9.3 says); otherwise
// each refresh appends one frame followed by a blank line. --json streams one JSON line
// per job that appeared ("added"), changed ("changed") or left the queue ("removed").
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

// Prints the events between two snapshots of the queue; `seen` becomes `jobs`.
void print_events(std::ostream& out, std::map<Guid, JobInfo>& seen,
                  const std::vector<JobInfo>& jobs) {
  std::int64_t time = now_ms();
  std::map<Guid, JobInfo> current;
  for (const JobInfo& job : jobs) {
    auto before = seen.find(job.id);
    if (before == seen.end()) {
      out << monitor_event("added", time, job) << '\n';
    } else if (!same_view(before->second, job)) {
      out << monitor_event("changed", time, job) << '\n';
    }
    current[job.id] = job;
  }
  for (const auto& [id, job] : seen) {
    if (!current.count(id)) out << monitor_event("removed", time, job) << '\n';
  }
  seen = std::move(current);
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
  bool tty = !args->json && ::isatty(STDOUT_FILENO) == 1;
  if (tty) ctx.out << "\033[?7l";  // no wrapping while monitoring
  std::map<Guid, JobInfo> seen;
  int status = 0;
  while (!g_stop) {
    auto jobs = (*m)->enum_jobs(args->all_users);
    if (!jobs.ok()) {
      status = ctx.fail("monitor jobs", jobs.status());
      break;
    }
    if (args->json) {
      print_events(ctx.out, seen, *jobs);
    } else if (tty) {
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
