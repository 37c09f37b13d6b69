// Callbacks and notification command lines; see notifier.h.
#include "src/daemon/notify/notifier.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "openbits/names.h"
#include "src/daemon/core/notify_cmd_line.h"
#include "src/daemon/notify/notify_throttle.h"
#include "src/daemon/security/fs_credentials.h"
#include "src/protocol/codec.h"

namespace openbits::daemon {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

bool is_terminal(JobState s) { return s == JobState::kTransferred || s == JobState::kError; }
bool is_final(JobState s) { return s == JobState::kAcknowledged || s == JobState::kCancelled; }

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

struct Account {
  std::string name;
  std::string home = "/";
};

Account account_of(uid_t uid) {
  Account account{std::to_string(uid)};
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found) {
    account.name = pw.pw_name;
    if (pw.pw_dir && *pw.pw_dir) account.home = pw.pw_dir;
  }
  return account;
}

// What an event shows of a job: never its write-only data (custom headers, the notification
// command line), which a subscriber that lost the job must not see and none needs.
JobInfo event_view(const JobInfo& job) {
  JobInfo info = job;
  info.notify_interface_registered = true;
  info.custom_headers.reset();
  info.notify_cmd_program.reset();
  info.notify_cmd_parameters.reset();
  return info;
}

// Ranges of a ranged file that are complete: the ranges are fetched in order and the
// file's byte count is their running sum.
std::size_t completed_ranges(const FileInfo& file) {
  std::uint64_t left = file.progress.bytes_transferred;
  std::size_t done = 0;
  for (const FileRange& range : file.ranges) {
    if (range.length == kLengthToEof) return file.progress.completed ? file.ranges.size() : done;
    if (left < range.length) break;
    left -= range.length;
    ++done;
  }
  return done;
}

}  // namespace

struct Notifier::Tracked {
  JobInfo info;
  bool known = false;
  std::optional<uid_t> cmd_uid;
  gid_t cmd_gid = 0;
  std::uint64_t subscriber = 0;  // connection, 0 = none
  uid_t subscriber_uid = 0;
  bool subscriber_admin = false;  // may read the job whoever owns it
  // The current stay in TRANSFERRED or ERROR ("episode"); 0 = not in one.
  std::uint64_t episode = 0;
  bool done = false;             // acknowledged by a callback or a program exiting 0
  bool callback_failed = false;  // use the command line for the rest of the episode
  bool not_run_logged = false;   // "program not run" was logged in this episode
  // A file.transferred callback failed while a command line was registered: no more file
  // callbacks, and the command line takes the job's notifications (until a new subscriber).
  bool file_callbacks_failed = false;
  std::uint64_t outstanding = 0;  // delivery awaiting its answer
  bool program_running = false;
  std::int64_t retry_at_ms = 0;
  NotifyThrottle throttle;
  std::map<std::uint32_t, std::size_t> ranges_reported;
  // file.transferred events not yet acknowledged, in order; the one awaiting its answer.
  // A vector, not a deque: an empty deque still allocates ~600 bytes, per job of the queue.
  std::vector<std::uint32_t> files_pending;
  std::uint64_t file_outstanding = 0;
  std::int64_t file_retry_at_ms = 0;
  std::unique_ptr<asio::steady_timer> retry_timer;
  std::int64_t retry_timer_due_ms = 0;  // 0 = not armed
  std::unique_ptr<asio::steady_timer> throttle_timer;
};

// Whether the Notifier holds nothing of the job that its next event would not bring again:
// not in TRANSFERRED or ERROR, no subscriber, nothing pending, awaiting an answer, running
// or on a timer. Such a job is not kept: a copy of every queued job's JobInfo cost ~0.9 KiB
// per job, and a big queue's jobs are mostly idle.
bool Notifier::dormant(const Tracked& t) {
  return t.episode == 0 && t.subscriber == 0 && t.outstanding == 0 && t.file_outstanding == 0 &&
         !t.program_running && t.files_pending.empty() && t.ranges_reported.empty() &&
         !t.file_callbacks_failed && !t.retry_timer && !t.throttle_timer;
}

Notifier::Notifier(asio::io_context& io, Clock& clock, ProcessLauncher& launcher, Options options)
    : io_(io), clock_(clock), launcher_(launcher), options_(std::move(options)) {}

Notifier::~Notifier() { *alive_ = false; }

void Notifier::job_event(JobEvent event) {
  asio::post(io_, [this, alive = alive_, event = std::move(event)]() mutable {
    if (*alive) handle(std::move(event));
  });
}

void Notifier::handle(JobEvent event) {
  Guid id = event.info.id;
  auto& slot = jobs_[id];
  if (!slot) slot = std::make_unique<Tracked>();
  Tracked& t = *slot;
  // A job not tracked was dropped while dormant (in neither TRANSFERRED nor ERROR), or is
  // new: it changed state if it is in one of those now.
  bool state_changed = t.known ? t.info.state != event.info.state : is_terminal(event.info.state);
  t.info = std::move(event.info);
  t.known = true;
  t.cmd_uid = event.cmd_uid;
  t.cmd_gid = event.cmd_gid;
  drop_foreign_subscriber(id, t);
  if (event.kind == JobEvent::Kind::kFileTransferred) {
    t.files_pending.push_back(event.file_index);
    pump_files(id, t);
    return;
  }
  JobState state = t.info.state;
  if (is_final(state)) {
    remove(id);
    return;
  }
  if (is_terminal(state)) {
    if (t.episode == 0 || state_changed) start_episode(t, state);
    if (!state_changed) modification(id, t);
  } else {
    t.episode = 0;
    modification(id, t);
  }
  evaluate(id, t);
  if (dormant(t)) jobs_.erase(id);
}

// After TakeOwnership the subscriber may be someone who can no longer read the job: it
// loses the subscription and every delivery it has not answered (an answer would take the
// new owner's notification), so it hears nothing more of the job.
void Notifier::drop_foreign_subscriber(const Guid& id, Tracked& t) {
  if (t.subscriber == 0 || t.subscriber_admin || t.subscriber_uid == t.info.owner_uid) return;
  std::uint64_t connection = t.subscriber;
  spdlog::info("job {}: subscription of uid {} dropped: the job belongs to uid {} now",
               to_string(id), t.subscriber_uid, t.info.owner_uid);
  t.subscriber = 0;
  t.throttle.drop();
  std::vector<std::uint64_t> lost;
  for (const auto& [delivery, d] : deliveries_) {
    if (d.job == id && d.connection == connection) lost.push_back(delivery);
  }
  for (std::uint64_t delivery : lost) (void)acknowledge(connection, delivery, hr::E_FAIL);
}

void Notifier::start_episode(Tracked& t, JobState state) {
  t.episode = next_episode_++;
  t.done = false;
  t.callback_failed = false;
  t.not_run_logged = false;
  t.outstanding = 0;
  t.retry_at_ms = 0;
  t.throttle.drop();  // no JobModification for the change to ERROR/TRANSFERRED
  if (t.throttle_timer) t.throttle_timer->cancel();
  spdlog::debug("job {} entered {}: notifications pending", to_string(t.info.id), to_string(state));
}

void Notifier::remove(const Guid& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  if (it->second->retry_timer) it->second->retry_timer->cancel();
  if (it->second->throttle_timer) it->second->throttle_timer->cancel();
  jobs_.erase(it);  // deliveries and programs in flight keep their user's slot until done
}

void Notifier::evaluate_all() {
  for (auto& [id, t] : jobs_) evaluate(id, *t);
}

void Notifier::evaluate(const Guid& id, Tracked& t) {
  pump_files(id, t);
  if (t.episode == 0 || t.done || t.outstanding != 0 || t.program_running) return;
  std::uint32_t flags = t.info.notify_flags;
  std::uint32_t wanted =
      t.info.state == JobState::kTransferred ? kNotifyJobTransferred : kNotifyJobError;
  if ((flags & kNotifyDisable) != 0 || (flags & wanted) == 0) return;
  if (clock_.monotonic_ms() < t.retry_at_ms) {
    arm_timer(id, t, t.retry_at_ms, false);
    return;
  }
  if (t.subscriber != 0 && !t.callback_failed && !t.file_callbacks_failed) {
    // FileTransferred calls come first (bits-spec §1.7), also while they are retried.
    bool files_first = t.file_outstanding != 0 || !t.files_pending.empty();
    if (!files_first && take_slot(t.subscriber_uid)) send_callback(id, t);
    return;
  }
  if (!t.info.notify_cmd_program || !t.cmd_uid) return;
  if (system_account(t)) {
    log_not_run(t);
  } else if (take_slot(*t.cmd_uid)) {
    run_program(id, t);
  }
}

bool Notifier::take_slot(uid_t uid) {
  std::uint32_t& count = in_flight_[uid];
  if (count >= options_.max_in_flight) return false;
  ++count;
  return true;
}

void Notifier::release_slot(uid_t uid) {
  auto it = in_flight_.find(uid);
  if (it != in_flight_.end() && it->second > 0) --it->second;
  // A waiting notification of this user may go now; not re-entrantly.
  asio::post(io_, [this, alive = alive_] {
    if (*alive) evaluate_all();
  });
}

void Notifier::send_callback(const Guid& id, Tracked& t) {
  std::uint64_t delivery = next_delivery_++;
  bool transferred = t.info.state == JobState::kTransferred;
  JobInfo info = event_view(t.info);
  json params = {{"job_id", id}, {"delivery", delivery}, {"job", info}};
  if (!transferred) params["error"] = t.info.error.value_or(ErrorInfo{});
  Delivery d{id, t.subscriber_uid, t.episode, t.subscriber, nullptr, std::nullopt};
  if (!send(t.subscriber, transferred ? "job.transferred" : "job.error", std::move(params))) {
    t.subscriber = 0;  // the connection is closing: fall back as if it had failed
    release_slot(d.uid);
    return;
  }
  t.outstanding = delivery;
  spdlog::info("job {}: {} callback sent to uid {} (delivery {})", to_string(id),
               transferred ? "transferred" : "error", t.subscriber_uid, delivery);
  track(delivery, std::move(d));
}

void Notifier::track(std::uint64_t delivery, Delivery d) {
  d.timeout = std::make_unique<asio::steady_timer>(
      io_, std::chrono::milliseconds(options_.callback_timeout_ms));
  d.timeout->async_wait([this, alive = alive_, delivery](boost::system::error_code ec) {
    if (ec || !*alive) return;
    auto it = deliveries_.find(delivery);
    if (it == deliveries_.end()) return;
    spdlog::warn("job {}: the callback did not answer within {} ms", to_string(it->second.job),
                 options_.callback_timeout_ms);
    (void)acknowledge(it->second.connection, delivery, hr::E_FAIL);
  });
  deliveries_.emplace(delivery, std::move(d));
}

void Notifier::pump_files(const Guid& id, Tracked& t) {
  std::uint32_t flags = t.info.notify_flags;
  if ((flags & kNotifyDisable) != 0 || (flags & kNotifyFileTransferred) == 0 ||
      t.file_callbacks_failed) {
    t.files_pending.clear();
    return;
  }
  if (t.subscriber == 0 || t.file_outstanding != 0 || t.files_pending.empty()) return;
  if (clock_.monotonic_ms() < t.file_retry_at_ms) {
    arm_timer(id, t, t.file_retry_at_ms, false);
    return;
  }
  std::uint32_t index = t.files_pending.front();
  if (index >= t.info.files.size()) {
    t.files_pending.erase(t.files_pending.begin());
    return;
  }
  if (!take_slot(t.subscriber_uid)) return;
  std::uint64_t delivery = next_delivery_++;
  json params = {
      {"job_id", id}, {"delivery", delivery}, {"file_index", index}, {"file", t.info.files[index]}};
  if (!send(t.subscriber, "file.transferred", std::move(params))) {
    t.subscriber = 0;
    release_slot(t.subscriber_uid);
    return;
  }
  t.file_outstanding = delivery;
  track(delivery, Delivery{id, t.subscriber_uid, 0, t.subscriber, nullptr, index});
}

Status Notifier::file_answered(const Delivery& d, std::uint64_t delivery, HRESULT result) {
  auto job = jobs_.find(d.job);
  if (job == jobs_.end() || job->second->file_outstanding != delivery) return Status();
  Tracked& t = *job->second;
  t.file_outstanding = 0;
  if (result == hr::S_OK) {
    if (!t.files_pending.empty() && t.files_pending.front() == *d.file)
      t.files_pending.erase(t.files_pending.begin());
    t.file_retry_at_ms = 0;
  } else {
    spdlog::warn("job {}: file {} callback of uid {} failed ({})", to_string(d.job), *d.file, d.uid,
                 hresult_hex(result));
    if (t.subscriber != 0 && t.subscriber != d.connection) {
      // A new subscriber gets the event at once.
    } else if (cmd_line_runnable(t)) {
      t.file_callbacks_failed = true;  // the command line instead (bits-spec §1.7)
      t.files_pending.clear();
      t.file_retry_at_ms = 0;
    } else {
      t.file_retry_at_ms = clock_.monotonic_ms() + std::int64_t{t.info.minimum_retry_delay} * 1000;
    }
  }
  evaluate(d.job, t);
  return Status();
}

Status Notifier::acknowledge(std::uint64_t connection, std::uint64_t delivery, HRESULT result) {
  auto it = deliveries_.find(delivery);
  if (it == deliveries_.end() || it->second.connection != connection) {
    return Status(hr::BG_E_NOT_FOUND, "no such notification is awaiting an answer");
  }
  Delivery d = std::move(it->second);
  deliveries_.erase(it);
  if (d.timeout) d.timeout->cancel();
  release_slot(d.uid);
  if (d.file) return file_answered(d, delivery, result);
  auto job = jobs_.find(d.job);
  if (job == jobs_.end() || job->second->episode != d.episode) return Status();
  Tracked& t = *job->second;
  t.outstanding = 0;
  if (result == hr::S_OK) {
    t.done = true;
    spdlog::info("job {}: callback acknowledged by uid {}", to_string(d.job), d.uid);
    return Status();
  }
  spdlog::warn("job {}: callback of uid {} failed ({})", to_string(d.job), d.uid,
               hresult_hex(result));
  delivery_failed(d.job, d.episode, d.connection);
  return Status();
}

void Notifier::delivery_failed(const Guid& id, std::uint64_t episode, std::uint64_t connection) {
  auto job = jobs_.find(id);
  if (job == jobs_.end() || job->second->episode != episode) return;
  Tracked& t = *job->second;
  t.outstanding = 0;
  if (t.subscriber != 0 && t.subscriber != connection) {
    // Another connection subscribed meanwhile (last one wins): it gets the event now.
  } else if (cmd_line_runnable(t)) {
    t.callback_failed = true;  // the command line takes over (bits-spec §1.7)
  } else {
    retry_later(id, t);
  }
  evaluate(id, t);
}

bool Notifier::system_uid(uid_t uid) const {
  return uid < options_.first_user_uid ||
         std::find(options_.system_uids.begin(), options_.system_uids.end(), uid) !=
             options_.system_uids.end();
}

bool Notifier::system_account(const Tracked& t) const {
  if (options_.allow_system_uids) return false;
  return system_uid(t.info.owner_uid) || (t.cmd_uid && system_uid(*t.cmd_uid));
}

bool Notifier::cmd_line_runnable(const Tracked& t) const {
  return t.info.notify_cmd_program && t.cmd_uid && !system_account(t);
}

void Notifier::log_not_run(Tracked& t) {
  if (t.not_run_logged) return;  // once per stay in TRANSFERRED or ERROR
  t.not_run_logged = true;
  spdlog::warn(
      "job {}: notification program not run: the job of uid {} (registered by uid {}) "
      "belongs to a system account",
      to_string(t.info.id), t.info.owner_uid, t.cmd_uid.value_or(0));
}

void Notifier::run_program(const Guid& id, Tracked& t) {
  uid_t uid = *t.cmd_uid;
  Credentials who = credentials_for(uid, t.cmd_gid);
  Account account = account_of(uid);
  LaunchRequest request;
  request.program = *t.info.notify_cmd_program;
  request.argv = notify_argv(request.program, t.info.notify_cmd_parameters);
  request.uid = uid;
  request.gid = who.gid;
  request.groups = who.groups;
  request.cwd = account.home;
  request.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + account.home,
                 "USER=" + account.name, "LOGNAME=" + account.name,
                 "OPENBITS_SOCKET=" + options_.socket_path};
  std::uint64_t episode = t.episode;
  auto pid_holder = std::make_shared<pid_t>(0);
  auto launched =
      launcher_.launch(request, [this, alive = alive_, id, episode, uid, pid_holder](int status) {
        if (*alive) program_exited(id, episode, uid, *pid_holder, status);
      });
  if (!launched.ok()) {
    spdlog::error("job {}: cannot start notification program {} as uid {}: {}", to_string(id),
                  request.program, uid, launched.status().message());
    release_slot(uid);
    retry_later(id, t);
    return;
  }
  *pid_holder = *launched;
  t.program_running = true;
  spdlog::info("job {}: notification program {} started as uid {} (pid {}, {} argument(s))",
               to_string(id), request.program, uid, *launched, request.argv.size());
  limit_program(id, *launched, uid);
}

void Notifier::limit_program(const Guid& id, pid_t pid, uid_t uid) {
  auto timer = std::make_unique<asio::steady_timer>(
      io_, std::chrono::milliseconds(options_.program_timeout_ms));
  timer->async_wait([this, alive = alive_, id, pid, uid](boost::system::error_code ec) {
    if (ec || !*alive || program_timers_.count(pid) == 0) return;
    spdlog::warn("job {}: notification program (uid {}, pid {}) still running after {} ms: killed",
                 to_string(id), uid, pid, options_.program_timeout_ms);
    launcher_.terminate(pid);  // its exit frees the user's slot and counts as a failure
  });
  program_timers_[pid] = std::move(timer);
}

void Notifier::program_exited(const Guid& id, std::uint64_t episode, uid_t uid, pid_t pid,
                              int wait_status) {
  bool success = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  spdlog::info("job {}: notification program (uid {}, pid {}) finished: {}", to_string(id), uid,
               pid, describe_wait_status(wait_status));
  if (auto timer = program_timers_.find(pid); timer != program_timers_.end()) {
    timer->second->cancel();
    program_timers_.erase(timer);
  }
  release_slot(uid);
  auto job = jobs_.find(id);
  if (job == jobs_.end()) return;
  Tracked& t = *job->second;
  t.program_running = false;
  if (t.episode != episode) return;  // the job moved on meanwhile
  if (success) {
    t.done = true;
    return;
  }
  retry_later(id, t);
  evaluate(id, t);
}

void Notifier::retry_later(const Guid& id, Tracked& t) {
  t.retry_at_ms = clock_.monotonic_ms() + std::int64_t{t.info.minimum_retry_delay} * 1000;
  spdlog::info("job {}: notification retried in {} s", to_string(id), t.info.minimum_retry_delay);
  arm_timer(id, t, t.retry_at_ms, false);
}

void Notifier::arm_timer(const Guid& id, Tracked& t, std::int64_t at_ms, bool throttle) {
  auto& timer = throttle ? t.throttle_timer : t.retry_timer;
  if (!throttle) {
    // One timer serves the job's and the files' retries: keep the earlier wake-up.
    if (t.retry_timer_due_ms != 0 && t.retry_timer_due_ms <= at_ms) return;
    t.retry_timer_due_ms = at_ms;
  }
  if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
  std::int64_t wait = std::max<std::int64_t>(0, at_ms - clock_.monotonic_ms());
  timer->expires_after(std::chrono::milliseconds(wait));
  timer->async_wait([this, alive = alive_, id, throttle](boost::system::error_code ec) {
    if (ec || !*alive) return;
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    Tracked& tracked = *it->second;
    if (!throttle) {
      tracked.retry_timer_due_ms = 0;
      evaluate(id, tracked);
    } else if (tracked.throttle.fire(clock_.monotonic_ms())) {
      send_modification(id, tracked);
    } else if (auto due = tracked.throttle.due()) {
      arm_timer(id, tracked, *due, true);
    }
  });
}

void Notifier::modification(const Guid& id, Tracked& t) {
  std::uint32_t flags = t.info.notify_flags;
  if (t.subscriber == 0 || (flags & kNotifyDisable) != 0 ||
      (flags & (kNotifyJobModification | kNotifyFileRangesTransferred)) == 0) {
    return;
  }
  if (t.throttle.change(clock_.monotonic_ms(), t.info.minimum_notification_interval_ms)) {
    send_modification(id, t);
  } else if (auto due = t.throttle.due()) {
    arm_timer(id, t, *due, true);
  }
}

void Notifier::send_modification(const Guid& id, Tracked& t) {
  std::uint32_t flags = t.info.notify_flags;
  if (t.subscriber == 0 || (flags & kNotifyDisable) != 0) return;
  if ((flags & kNotifyJobModification) != 0) {
    send(t.subscriber, "job.modification", {{"job_id", id}, {"job", event_view(t.info)}});
  }
  if ((flags & kNotifyFileRangesTransferred) == 0) return;
  for (const FileInfo& file : t.info.files) {
    if (file.ranges.empty()) continue;
    std::size_t done = completed_ranges(file);
    std::size_t& reported = t.ranges_reported[file.index];
    if (done <= reported) continue;
    std::vector<FileRange> ranges(file.ranges.begin() + static_cast<std::ptrdiff_t>(reported),
                                  file.ranges.begin() + static_cast<std::ptrdiff_t>(done));
    reported = done;
    send(t.subscriber, "file.ranges_transferred",
         {{"job_id", id}, {"file_index", file.index}, {"ranges", ranges}});
  }
}

bool Notifier::send(std::uint64_t connection, const char* method, json params) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return false;
  json message = {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
  return it->second(message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

void Notifier::connection_opened(std::uint64_t connection, Sender sender) {
  connections_[connection] = std::move(sender);
}

void Notifier::connection_closed(std::uint64_t connection) {
  connections_.erase(connection);
  std::vector<std::uint64_t> lost;
  for (const auto& [delivery, d] : deliveries_) {
    if (d.connection == connection) lost.push_back(delivery);
  }
  for (auto& [id, t] : jobs_) {
    if (t->subscriber == connection) {
      t->subscriber = 0;
      t->throttle.drop();
    }
  }
  for (std::uint64_t delivery : lost) {
    spdlog::info("job {}: the subscriber went away before answering",
                 to_string(deliveries_.at(delivery).job));
    (void)acknowledge(connection, delivery, hr::E_FAIL);
  }
  evaluate_all();  // events that waited for this subscriber may use the command line now
}

void Notifier::subscribe(std::uint64_t connection, uid_t uid, const Guid& job, bool admin) {
  auto& slot = jobs_[job];
  if (!slot) slot = std::make_unique<Tracked>();
  Tracked& t = *slot;
  t.subscriber = connection;
  t.subscriber_uid = uid;
  t.subscriber_admin = admin;
  t.callback_failed = false;
  t.file_callbacks_failed = false;
  t.retry_at_ms = 0;  // a new subscriber hears about a pending event at once
  t.file_retry_at_ms = 0;
  spdlog::info("job {}: callbacks registered by uid {}", to_string(job), uid);
  evaluate(job, t);
}

void Notifier::unsubscribe(std::uint64_t connection, const Guid& job) {
  auto it = jobs_.find(job);
  if (it == jobs_.end() || it->second->subscriber != connection) return;
  it->second->subscriber = 0;
  it->second->throttle.drop();
  evaluate(job, *it->second);
}

bool Notifier::subscribed(const Guid& job) const {
  auto it = jobs_.find(job);
  return it != jobs_.end() && it->second->subscriber != 0;
}

}  // namespace openbits::daemon
