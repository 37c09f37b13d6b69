// TransferEngine against a real nginx on a free loopback port (started by the suite as a
// child process, killed at the end) and real files: byte-identical downloads, Range
// resumes checked in nginx's access log, HTTP and transport errors with their HRESULT,
// context and class, changed remote files, file:// copies, owner credentials, stop().
#include "src/daemon/transfer/transfer_engine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "src/daemon/transfer/sha256.h"
#include "tests/support/files.h"
#include "tests/support/ports.h"
#include "tests/support/temp_dir.h"

namespace openbits::daemon {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

using test::accepts_connections;
using test::free_port;
using test::read_text;

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 gen(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(gen() & 0xFF);
  return bytes;
}

// One nginx for the whole suite; the access log line of each request is
// "METHOD URI STATUS BODY_BYTES RANGE".
class Nginx {
 public:
  explicit Nginx(const std::string& dir) : dir_(dir), port_(free_port()) {
    fs::create_directories(www());
    std::ofstream(dir_ + "/nginx.conf")
        << "daemon off; master_process off; worker_processes 1;\n"
        << "pid " << dir_ << "/nginx.pid; error_log " << dir_ << "/error.log;\n"
        << "events { worker_connections 64; }\nhttp {\n"
        << "  log_format bytes '$request_method $request_uri $status $body_bytes_sent "
           "$http_range';\n"
        << "  access_log " << dir_ << "/access.log bytes;\n"
        << "  client_body_temp_path " << dir_ << "; proxy_temp_path " << dir_ << ";\n"
        << "  fastcgi_temp_path " << dir_ << "; uwsgi_temp_path " << dir_ << "; scgi_temp_path "
        << dir_ << ";\n"
        << "  server { listen 127.0.0.1:" << port_ << "; root " << www() << ";\n"
        << "    location /slow/ { alias " << www() << "/; limit_rate 64k; }\n"
        << "    location /norange/ { alias " << www() << "/; max_ranges 0; }\n"
        << "    location = /redirect { return 302 /redirect-target.bin; }\n"
        << "  }\n}\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string conf = dir_ + "/nginx.conf";
      ::execl("/usr/sbin/nginx", "nginx", "-c", conf.c_str(), "-p", dir_.c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 250 && !accepts_connections(port_); ++i)
      std::this_thread::sleep_for(milliseconds(20));
  }
  ~Nginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool running() const { return accepts_connections(port_); }
  std::string www() const { return dir_ + "/www"; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Access-log lines whose URI is `uri`, oldest first.
  std::vector<std::string> log_for(const std::string& uri) const {
    std::vector<std::string> lines;
    std::istringstream log(read_text(dir_ + "/access.log"));
    for (std::string line; std::getline(log, line);) {
      std::istringstream fields(line);
      std::string method, path;
      fields >> method >> path;
      if (path == uri) lines.push_back(line);
    }
    return lines;
  }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

struct Event {
  enum Kind { kConnected, kValidators, kProgress, kComplete, kError };
  static Event make(Kind kind, std::uint64_t token) {
    Event e;
    e.kind = kind;
    e.token = token;
    return e;
  }
  Kind kind = kConnected;
  std::uint64_t token = 0;
  std::uint64_t bytes = 0;  // progress, complete
  std::int64_t last_modified_ms = 0;
  RemoteValidators validators;
  bool restarted = false;
  std::map<std::string, std::uint64_t> temp_sizes;  // watched temp files at on_validators
  HRESULT code = 0;
  ErrorContext context = ErrorContext::kNone;
  bool transient = false;
  std::uint32_t retry_after_s = 0;
};

// Records every callback; waits are bounded.
class Recorder : public TransferObserver {
 public:
  void on_connected(std::uint64_t token) override { add(Event::make(Event::kConnected, token)); }
  void on_validators(std::uint64_t token, const RemoteValidators& v, bool restarted) override {
    Event e = Event::make(Event::kValidators, token);
    e.validators = v;
    e.restarted = restarted;
    std::lock_guard lock(mutex_);
    for (const std::string& temp : watched_) {
      struct stat st {};
      if (::stat(temp.c_str(), &st) == 0) {
        e.temp_sizes[temp] = static_cast<std::uint64_t>(st.st_size);
      }
    }
    events_.push_back(e);
    cv_.notify_all();
  }
  void on_progress(std::uint64_t token, std::uint64_t bytes) override {
    Event e = Event::make(Event::kProgress, token);
    e.bytes = bytes;
    add(e);
  }
  void on_complete(std::uint64_t token, std::uint64_t total, std::int64_t modified) override {
    Event e = Event::make(Event::kComplete, token);
    e.bytes = total;
    e.last_modified_ms = modified;
    add(e);
  }
  void on_error(std::uint64_t token, HRESULT code, ErrorContext context, bool transient,
                std::uint32_t retry_after_s, const std::string&) override {
    Event e = Event::make(Event::kError, token);
    e.retry_after_s = retry_after_s;
    e.code = code;
    e.context = context;
    e.transient = transient;
    add(e);
  }
  void on_peer_bytes(std::uint64_t, std::uint64_t bytes) override { peer_bytes += bytes; }
  void on_body_sha256(std::uint64_t, const std::string& sha) override {
    std::lock_guard lock(mutex_);
    body_sha256 = sha;
  }
  std::atomic<std::uint64_t> peer_bytes{0};
  std::string body_sha256;  // under mutex_ while transfers run
  // Records the size of `temp` at every on_validators (call before start()).
  void watch_temp(const std::string& temp) {
    std::lock_guard lock(mutex_);
    watched_.push_back(temp);
  }
  // The complete or error event of `token`; fails the test after 20 s.
  Event wait_final(std::uint64_t token) {
    std::unique_lock lock(mutex_);
    Event found;
    bool ok = cv_.wait_for(lock, seconds(20), [&] {
      for (const Event& e : events_) {
        if (e.token == token && (e.kind == Event::kComplete || e.kind == Event::kError)) {
          found = e;
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(ok) << "no final event for token " << token;
    return found;
  }
  bool wait_kind(std::uint64_t token, Event::Kind kind) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, seconds(20), [&] { return !of_locked(token, kind).empty(); });
  }
  std::vector<Event> of(std::uint64_t token, Event::Kind kind) {
    std::lock_guard lock(mutex_);
    return of_locked(token, kind);
  }
  std::size_t count(std::uint64_t token) {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(events_.begin(), events_.end(), [&](auto& e) { return e.token == token; }));
  }

 private:
  void add(const Event& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
    cv_.notify_all();
  }
  std::vector<Event> of_locked(std::uint64_t token, Event::Kind kind) const {
    std::vector<Event> out;
    for (const Event& e : events_) {
      if (e.token == token && e.kind == kind) out.push_back(e);
    }
    return out;
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::vector<std::string> watched_;
};

class TransferEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = std::make_unique<test::TempDir>("transfer-test");
    nginx_ = std::make_unique<Nginx>(suite_dir_->path() + "/nginx");
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    suite_dir_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(nginx_->running());
    out_ = suite_dir_->path() + "/out-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(out_);
    fs::permissions(out_, fs::perms::all);
  }
  // Serves `bytes` as /<name>; returns its URL path.
  std::string serve(const std::string& name, const std::string& bytes) {
    write_file(nginx_->www() + "/" + name, bytes);
    return "/" + name;
  }
  DownloadRequest request(const std::string& remote, const std::string& temp_leaf = "t.tmp") {
    DownloadRequest r;
    r.remote_name = remote;
    r.temp_name = out_ + "/.BIT" + temp_leaf;
    return r;
  }
  std::uint64_t start(DownloadRequest r) {
    recorder_.watch_temp(r.temp_name);
    return engine_.start(std::move(r));
  }

  static inline std::unique_ptr<test::TempDir> suite_dir_;
  static inline std::unique_ptr<Nginx> nginx_;
  std::string out_;
  Recorder recorder_;
  TransferEngine engine_{recorder_};
};

TEST_F(TransferEngineTest, WholeFileIsByteIdenticalAndProgressIsDurable) {
  std::string bytes = random_bytes(3 * 1024 * 1024 + 123, 1);
  auto r = request(nginx_->url(serve("whole.bin", bytes)));
  r.checkpoint_bytes = 1 << 20;
  r.checkpoint_interval = std::chrono::hours(1);  // checkpoints by size only
  std::string temp = r.temp_name;
  std::uint64_t token = start(std::move(r));
  Event done = recorder_.wait_final(token);
  ASSERT_EQ(done.kind, Event::kComplete);
  EXPECT_EQ(done.bytes, bytes.size());
  EXPECT_GT(done.last_modified_ms, 0);
  EXPECT_EQ(read_text(temp), bytes);
  ASSERT_EQ(recorder_.of(token, Event::kConnected).size(), 1u);
  auto validators = recorder_.of(token, Event::kValidators);
  ASSERT_EQ(validators.size(), 1u);
  EXPECT_EQ(validators[0].validators.size, bytes.size());
  EXPECT_FALSE(validators[0].validators.etag.empty());
  EXPECT_FALSE(validators[0].validators.last_modified.empty());
  EXPECT_FALSE(validators[0].restarted);
  auto progress = recorder_.of(token, Event::kProgress);
  ASSERT_GE(progress.size(), 2u);  // a checkpoint once a MiB is pending
  EXPECT_GE(progress[0].bytes, 1u << 20);
  for (std::size_t i = 1; i < progress.size(); ++i) {
    EXPECT_GE(progress[i].bytes, progress[i - 1].bytes + (1u << 20));
  }
  EXPECT_LE(progress.back().bytes, bytes.size());
  auto log = nginx_->log_for("/whole.bin");
  // A fresh file: the GET (its headers give size and validators), then a HEAD that checks
  // the file did not change while it was served. No HEAD before: one round trip less.
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "GET /whole.bin 200 " + std::to_string(bytes.size()) + " -");
  EXPECT_EQ(log[1].rfind("HEAD /whole.bin 200", 0), 0u) << log[1];
}

TEST_F(TransferEngineTest, ResumeTruncatesToDurableOffsetAndSendsRange) {
  std::string bytes = random_bytes(2 * 1024 * 1024, 2);
  const std::uint64_t durable = 1024 * 1024 + 7;
  auto r = request(nginx_->url(serve("resume.bin", bytes)));
  // Durable prefix, then 3 MiB of garbage a crash left after it: must be cut off.
  write_file(r.temp_name, bytes.substr(0, durable) + random_bytes(3 * 1024 * 1024, 99));
  r.durable_offset = durable;
  r.validators.size = bytes.size();
  std::string temp = r.temp_name;
  std::uint64_t token = start(std::move(r));
  Event done = recorder_.wait_final(token);
  ASSERT_EQ(done.kind, Event::kComplete);
  EXPECT_EQ(done.bytes, bytes.size());
  EXPECT_EQ(read_text(temp), bytes);
  auto validators = recorder_.of(token, Event::kValidators);
  ASSERT_EQ(validators.size(), 1u);
  EXPECT_FALSE(validators[0].restarted);
  EXPECT_EQ(validators[0].temp_sizes[temp], durable);
  auto log = nginx_->log_for("/resume.bin");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1], "GET /resume.bin 206 " + std::to_string(bytes.size() - durable) +
                        " bytes=" + std::to_string(durable) + "-");
}

TEST_F(TransferEngineTest, NotFoundIsFatalWithTheHttpCode) {
  std::uint64_t token = start(request(nginx_->url("/missing.bin")));
  Event done = recorder_.wait_final(token);
  ASSERT_EQ(done.kind, Event::kError);
  EXPECT_EQ(done.code, 0x80190194u);
  EXPECT_EQ(done.context, ErrorContext::kRemoteFile);
  EXPECT_FALSE(done.transient);
  EXPECT_TRUE(recorder_.of(token, Event::kConnected).empty());
}

TEST_F(TransferEngineTest, ConnectionRefusedIsTransient) {
  int port = free_port();  // nothing listens there
  std::uint64_t token = start(request("http://127.0.0.1:" + std::to_string(port) + "/f"));
  Event done = recorder_.wait_final(token);
  ASSERT_EQ(done.kind, Event::kError);
  EXPECT_EQ(done.code, hr::WINHTTP_CANNOT_CONNECT);
  EXPECT_EQ(done.context, ErrorContext::kGeneralTransport);
  EXPECT_TRUE(done.transient);
}

TEST_F(TransferEngineTest, ChangedRemoteFileRestartsFromZero) {
  std::string bytes = random_bytes(1500 * 1024, 3);
  auto r = request(nginx_->url(serve("changed.bin", bytes)));
  write_file(r.temp_name, random_bytes(600 * 1024, 4));  // the old version's bytes
  r.durable_offset = 600 * 1024;
  r.validators.size = 1000 * 1024;  // what the file used to be
  std::string temp = r.temp_name;
  std::uint64_t token = start(std::move(r));
  Event done = recorder_.wait_final(token);
  ASSERT_EQ(done.kind, Event::kComplete);
  EXPECT_EQ(read_text(temp), bytes);
  auto validators = recorder_.of(token, Event::kValidators);
  ASSERT_EQ(validators.size(), 1u);
  EXPECT_TRUE(validators[0].restarted);
  // Write ordering: the restart is reported (and committed by the daemon) while the temp
  // file still holds the old bytes; only then is it cut.
  EXPECT_EQ(validators[0].temp_sizes[temp], 600u * 1024);
  EXPECT_EQ(validators[0].validators.size, bytes.size());
  auto log = nginx_->log_for("/changed.bin");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1], "GET /changed.bin 200 " + std::to_string(bytes.size()) + " -");
}

TEST_F(TransferEngineTest, ChangedEtagRestartsFromZero) {
  std::string bytes = random_bytes(100 * 1024, 5);
  auto r = request(nginx_->url(serve("etag.bin", bytes)));
  write_file(r.temp_name, bytes.substr(0, 50 * 1024));
  r.durable_offset = 50 * 1024;
  r.validators.size = bytes.size();
  r.validators.etag = "\"not-the-current-etag\"";
  std::string temp = r.temp_name;
  std::uint64_t token = start(std::move(r));
  ASSERT_EQ(recorder_.wait_final(token).kind, Event::kComplete);
  EXPECT_EQ(read_text(temp), bytes);
  EXPECT_TRUE(recorder_.of(token, Event::kValidators).at(0).restarted);
}

TEST_F(TransferEngineTest, ZeroLengthFileCompletes) {
  auto r = request(nginx_->url(serve("empty.bin", "")));
  std::string temp = r.temp_name;
  std::uint64_t token = start(std::move(r));
  Event done = recorder_.wait_final(token);
  ASSERT_EQ(done.kind, Event::kComplete);
  EXPECT_EQ(done.bytes, 0u);
  ASSERT_TRUE(fs::exists(temp));
  EXPECT_EQ(fs::file_size(temp), 0u);
}

TEST_F(TransferEngineTest, ServerIgnoringRangeIsFatalOnResume) {
  std::string bytes = random_bytes(64 * 1024, 6);
  serve("norange.bin", bytes);
  auto r = request(nginx_->url("/norange/norange.bin"));
  write_file(r.temp_name, bytes.substr(0, 1000));
  r.durable_offset = 1000;
  std::uint64_t token = start(std::move(r));
  Event done = recorder_.wait_final(token);
  ASSERT_EQ(done.kind, Event::kError);
  EXPECT_EQ(done.code, hr::BG_E_INSUFFICIENT_RANGE_SUPPORT);
  EXPECT_FALSE(done.transient);
}

TEST_F(TransferEngineTest, DynamicContentSkipsHeadAndRestartsFromZero) {
  std::string bytes = random_bytes(200 * 1024, 7);
  auto r = request(nginx_->url(serve("dynamic.bin", bytes)));
  write_file(r.temp_name, std::string(1000, 'x'));
  r.durable_offset = 1000;
  r.dynamic_content = true;
  std::string temp = r.temp_name;
  std::uint64_t token = start(std::move(r));
  ASSERT_EQ(recorder_.wait_final(token).kind, Event::kComplete);
  EXPECT_EQ(read_text(temp), bytes);
  EXPECT_TRUE(recorder_.of(token, Event::kValidators).at(0).restarted);
  auto log = nginx_->log_for("/dynamic.bin");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0], "GET /dynamic.bin 200 " + std::to_string(bytes.size()) + " -");
}

TEST_F(TransferEngineTest, FileRangesAreWrittenBackToBack) {
  std::string bytes = random_bytes(100 * 1024, 8);
  auto r = request(nginx_->url(serve("ranges.bin", bytes)));
  r.ranges = {{10, 100}, {90 * 1024, kLengthToEof}};
  std::string temp = r.temp_name;
  std::uint64_t token = start(std::move(r));
  Event done = recorder_.wait_final(token);
  ASSERT_EQ(done.kind, Event::kComplete);
  EXPECT_EQ(read_text(temp), bytes.substr(10, 100) + bytes.substr(90 * 1024));
}

TEST_F(TransferEngineTest, RedirectsAreFollowedUnlessDisallowed) {
  std::string bytes = random_bytes(10 * 1024, 9);
  serve("redirect-target.bin", bytes);
  auto follow = request(nginx_->url("/redirect"), "a.tmp");
  std::string temp = follow.temp_name;
  std::uint64_t followed = start(std::move(follow));
  ASSERT_EQ(recorder_.wait_final(followed).kind, Event::kComplete);
  EXPECT_EQ(read_text(temp), bytes);
  auto refuse = request(nginx_->url("/redirect"), "b.tmp");
  refuse.security_flags = 0x200;  // BG_HTTP_REDIRECT_POLICY_DISALLOW
  Event done = recorder_.wait_final(start(std::move(refuse)));
  ASSERT_EQ(done.kind, Event::kError);
  EXPECT_EQ(done.code, 0x8007012Eu);  // HRESULT_FROM_WIN32(302)
  EXPECT_FALSE(done.transient);
}

TEST_F(TransferEngineTest, FileUrlAndPlainPathCopiesAreIdentical) {
  std::string bytes = random_bytes(5 * 1024 * 1024 + 17, 10);
  std::string source = out_ + "/source file.bin";
  write_file(source, bytes);
  auto by_url = request("file://" + out_ + "/source%20file.bin", "url.tmp");
  by_url.checkpoint_bytes = 1 << 20;
  auto by_path = request(source, "path.tmp");
  std::string url_temp = by_url.temp_name;
  std::string path_temp = by_path.temp_name;
  std::uint64_t a = start(std::move(by_url));
  std::uint64_t b = start(std::move(by_path));
  Event done_a = recorder_.wait_final(a);
  Event done_b = recorder_.wait_final(b);
  ASSERT_EQ(done_a.kind, Event::kComplete);
  ASSERT_EQ(done_b.kind, Event::kComplete);
  EXPECT_EQ(read_text(url_temp), bytes);
  EXPECT_EQ(read_text(path_temp), bytes);
  EXPECT_EQ(recorder_.of(a, Event::kValidators).at(0).validators.size, bytes.size());
  EXPECT_GE(recorder_.of(a, Event::kProgress).size(), 4u);
  struct stat st {};
  ASSERT_EQ(::stat(source.c_str(), &st), 0);
  EXPECT_EQ(done_a.last_modified_ms,
            std::int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000);
}

TEST_F(TransferEngineTest, MissingFileSourceIsFatal) {
  Event done = recorder_.wait_final(start(request("file://" + out_ + "/nothing-here")));
  ASSERT_EQ(done.kind, Event::kError);
  EXPECT_EQ(done.code, hr::FILE_NOT_FOUND);
  EXPECT_EQ(done.context, ErrorContext::kRemoteFile);
  EXPECT_FALSE(done.transient);
}

TEST_F(TransferEngineTest, OwnerCredentialsApplyToSourceAndTempFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const Credentials nobody{65534, 65534, {}};
  std::string secret = out_ + "/secret.bin";
  write_file(secret, "root only");
  ::chmod(secret.c_str(), 0600);
  auto denied = request(secret, "denied.tmp");
  denied.owner = nobody;
  Event refused = recorder_.wait_final(start(std::move(denied)));
  ASSERT_EQ(refused.kind, Event::kError);
  EXPECT_EQ(refused.code, hr::E_ACCESSDENIED);
  EXPECT_EQ(refused.context, ErrorContext::kRemoteFile);
  EXPECT_FALSE(refused.transient);

  std::string bytes = random_bytes(4096, 11);
  auto mine = request(nginx_->url(serve("owned.bin", bytes)), "owned.tmp");
  mine.owner = nobody;
  std::string temp = mine.temp_name;
  ASSERT_EQ(recorder_.wait_final(start(std::move(mine))).kind, Event::kComplete);
  struct stat st {};
  ASSERT_EQ(::stat(temp.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(read_text(temp), bytes);

  std::string locked = out_ + "/locked";
  fs::create_directories(locked);
  fs::permissions(locked, fs::perms::owner_all);  // 0700 root
  auto no_write = request(nginx_->url("/owned.bin"));
  no_write.temp_name = locked + "/.BITx.tmp";
  no_write.owner = nobody;
  Event cannot = recorder_.wait_final(start(std::move(no_write)));
  ASSERT_EQ(cannot.kind, Event::kError);
  EXPECT_EQ(cannot.code, hr::E_ACCESSDENIED);
  EXPECT_EQ(cannot.context, ErrorContext::kLocalFile);
}

TEST_F(TransferEngineTest, StoppedTransferMakesNoMoreCallbacks) {
  std::string bytes = random_bytes(2 * 1024 * 1024, 12);
  serve("stopme.bin", bytes);
  auto slow = request(nginx_->url("/slow/stopme.bin"), "slow.tmp");
  slow.checkpoint_interval = milliseconds(100);
  std::uint64_t token = start(std::move(slow));
  ASSERT_TRUE(recorder_.wait_kind(token, Event::kProgress));
  engine_.stop(token);
  // Commands run in order: once this later transfer finished, the stop was processed.
  Event after = recorder_.wait_final(start(request(nginx_->url("/stopme.bin"), "fast.tmp")));
  ASSERT_EQ(after.kind, Event::kComplete);
  std::size_t seen = recorder_.count(token);
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(recorder_.count(token), seen);
  EXPECT_TRUE(recorder_.of(token, Event::kComplete).empty());
  EXPECT_TRUE(recorder_.of(token, Event::kError).empty());
}

std::string sha256_hex(const std::string& bytes) {
  Sha256 hash;
  hash.update(bytes);
  return hash.hex();
}

// Two peers hold `content`: "bad" answers its first range and then fails, "good" answers
// everything; with short_body, each sends every range one byte short. Ranges asked are
// recorded.
class FakePeers : public PeerSource {
 public:
  explicit FakePeers(std::string content, bool short_body = false)
      : content_(std::move(content)), short_(short_body) {}
  Holders holders(const std::string&, const RemoteValidators& v) override {
    EXPECT_EQ(v.size, content_.size());
    return {"key", {"bad", "good"}};
  }
  std::optional<std::string> get_range(const std::string& peer, const std::string&,
                                       std::uint64_t first, std::uint64_t length) override {
    std::lock_guard lock(mutex_);
    asked.push_back(peer + "@" + std::to_string(first));
    if (short_) return content_.substr(first, length - 1);
    if (peer == "bad" && first > 0) return std::string();
    return content_.substr(first, length);
  }
  std::mutex mutex_;
  std::vector<std::string> asked;

 private:
  std::string content_;
  bool short_;
};

TEST_F(TransferEngineTest, PeersGiveTheBytesAndAFailedRangeGoesToTheNextPeer) {
  std::string bytes = random_bytes(3 * 1024 * 1024 + 5, 31);
  FakePeers peers(bytes);
  engine_.set_peer_source(&peers);
  auto r = request(nginx_->url(serve("peers.bin", bytes)));
  r.from_peers = true;
  r.hash_body = true;
  std::string temp = r.temp_name;
  Event done = recorder_.wait_final(start(std::move(r)));
  ASSERT_EQ(done.kind, Event::kComplete);
  EXPECT_EQ(read_text(temp), bytes);
  EXPECT_EQ(recorder_.peer_bytes.load(), bytes.size());
  EXPECT_EQ(recorder_.body_sha256, sha256_hex(bytes));
  std::vector<std::string> asked{"bad@0", "bad@1048576", "good@1048576", "good@2097152",
                                 "good@3145728"};
  EXPECT_EQ(peers.asked, asked);
  for (const std::string& line : nginx_->log_for("/peers.bin")) {
    EXPECT_EQ(line.rfind("HEAD ", 0), 0u) << line;  // the origin sent no body
  }
}

TEST_F(TransferEngineTest, ABodyOfTheWrongLengthFromEveryPeerLeavesTheFileToTheOrigin) {
  std::string bytes = random_bytes(1024 * 1024 + 5, 32);
  FakePeers peers(bytes, true);
  engine_.set_peer_source(&peers);
  auto r = request(nginx_->url(serve("shortpeers.bin", bytes)));
  r.from_peers = true;
  std::string temp = r.temp_name;
  Event done = recorder_.wait_final(start(std::move(r)));
  ASSERT_EQ(done.kind, Event::kComplete);
  EXPECT_EQ(read_text(temp), bytes);
  EXPECT_EQ(recorder_.peer_bytes.load(), 0u);
  auto log = nginx_->log_for("/shortpeers.bin");
  ASSERT_EQ(log.size(), 3u);  // HEAD, the whole GET, the last HEAD
  EXPECT_EQ(log[1], "GET /shortpeers.bin 200 " + std::to_string(bytes.size()) + " -");
}

}  // namespace
}  // namespace openbits::daemon
