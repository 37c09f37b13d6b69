// Fixture of the upload client tests (upload_*_test.cc): a real bitsd (1 MiB fragments), the
// independent Python reference server (tests/upload/reference_server.py, written from the
// spec, with fault injection) or bits-upload-server, and helpers that read the packets the
// reference server logged.
#pragma once

#include <signal.h>
#include <strings.h>
#include <sys/wait.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/fault_fixture.h"
#include "tests/integration/itest.h"

namespace openbits::itest {

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What bitsadmin prints before its output (without /RAWRETURN).
inline constexpr const char* kBitsadminBanner =
    "\nBITSADMIN version 3.0 [openbits 0.1.0]\nBITS administration utility.\n"
    "(C) openbits contributors.\n\n";

// Uploaded files are compared with files_equal: a failed EXPECT_EQ of two multi-MiB strings
// makes GoogleTest diff them line by line, which took 24 GB and the OOM killer in CI.

// A server process that prints "listening on ADDR:PORT" when ready.
class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& argv, const std::string& log) {
    pid_ = spawn_process(argv, log);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string text = read_bytes(log);
      std::size_t at = text.find("listening on ");
      std::size_t colon = at == std::string::npos ? at : text.find(':', at + 13);
      if (colon != std::string::npos && text.find('\n', colon) != std::string::npos) {
        port_ = std::stoi(text.substr(colon + 1));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(SIGKILL);
    throw std::runtime_error("server did not start: " + read_bytes(log));
  }
  ~ServerProcess() { kill(SIGKILL); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  void kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Polls `done` every 50 ms until it holds or `timeout` passes; returns its last value.
template <typename Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

class UploadClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(root);
    std::filesystem::create_directories(state);
    std::filesystem::create_directories(local);
    std::filesystem::permissions(local, std::filesystem::perms::all);
    std::ofstream(dir.path() + "/bitsd.json") << R"({"upload_fragment_bytes": 1048576})";
    bitsd.start({"--config", dir.path() + "/bitsd.json"});
    manager.emplace(bitsd.connect());
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- bitsd log ---\n" << bitsd.log();
      std::cerr << "--- reference server packets ---\n" << read_bytes(server_log);
    }
  }
  // The reference server; `faults` as its --faults JSON.
  void start_reference(bool reply, const std::string& faults = "{}", int port = 0) {
    std::vector<std::string> argv = {"python3",  OPENBITS_UPLOAD_REFERENCE_SERVER_PATH,
                                     "--root",   root,
                                     "--state",  state,
                                     "--log",    server_log,
                                     "--faults", faults,
                                     "--port",   std::to_string(port)};
    if (reply) argv.emplace_back("--reply");
    server.emplace(argv, dir.path() + "/server.out");
  }
  // Merges `faults` (JSON) into the running reference server's faults.
  void control(const std::string& faults) {
    CommandResult r = run_command({"/usr/bin/curl", "--noproxy", "*", "-sS", "-f", "-X", "POST",
                                   "--data-binary", faults, url("/control")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string url(const std::string& path) const { return server->url(path); }
  Job upload(JobType type, const std::string& name, std::uint64_t size,
             JobPriority priority = JobPriority::kNormal) {
    make_file(local + "/" + name, size, 21);
    auto job = manager->create_job(name, type);
    EXPECT_TRUE(job.ok());
    EXPECT_TRUE(job->set_minimum_retry_delay(5).ok());
    EXPECT_TRUE(job->set_priority(priority).ok());
    EXPECT_TRUE(job->add_file(url("/up/" + name), local + "/" + name).ok());
    EXPECT_TRUE(job->resume().ok());
    return *job;
  }
  CommandResult bitsadmin(std::vector<std::string> args, std::optional<uid_t> uid = {}) {
    args.insert(args.begin(), OPENBITS_BITSADMIN_PATH);
    return run_command(args, {"OPENBITS_SOCKET=" + bitsd.socket()}, uid);
  }
  // The packets the reference server logged, in order.
  std::vector<nlohmann::json> packets() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(server_log);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object()) out.push_back(j);
    }
    return out;
  }
  static bool is(const nlohmann::json& packet, const char* type) {
    return strcasecmp(packet.value("packet", "").c_str(), type) == 0;
  }
  // Packets of a type (the server logs the names as sent; compared case-insensitively).
  int count(const std::string& packet) const {
    int n = 0;
    for (const auto& p : packets()) n += is(p, packet.c_str());
    return n;
  }
  // Logged Fragments that carry `flag` (e.g. "gap", "dropped", "stalled").
  std::vector<nlohmann::json> fragments_with(const char* flag) const {
    std::vector<nlohmann::json> out;
    for (const auto& p : packets()) {
      if (is(p, "Fragment") && p.contains(flag)) out.push_back(p);
    }
    return out;
  }
  std::string last_packet() const {
    auto all = packets();
    std::string name = all.empty() ? "" : all.back().value("packet", "");
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name;
  }
  // Sessions the reference server still keeps (one JSON file each).
  std::size_t server_sessions() const {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(state)) {
      n += entry.path().extension() == ".json";
    }
    return n;
  }

  TempDir dir;
  std::string root = dir.path() + "/root";
  std::string state = dir.path() + "/state";
  std::string local = dir.path() + "/local";
  std::string server_log = dir.path() + "/packets.log";
  Bitsd bitsd{dir.path()};
  std::optional<Manager> manager;
  std::optional<ServerProcess> server;
};

}  // namespace openbits::itest
