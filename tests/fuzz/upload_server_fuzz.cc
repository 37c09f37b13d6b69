// libFuzzer target: bits-upload-server's packet handling (UploadService over a real root
// directory), fed what a hostile client controls after Beast has framed the request: the
// method, the target, the headers and the body. An input is one or more requests separated
// by a line "--"; in each, line 1 is the method, line 2 the target, then header lines up to
// an empty line, then the body. "{S}" in a header value stands for the session id the last
// Ack returned, so inputs can walk a session through Create-Session, Fragments and Close.
// Nothing may crash; every answer must have a valid status; nothing may appear outside the
// root.
#include <dirent.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "src/upload_server/config.h"
#include "src/upload_server/root_dir.h"
#include "src/upload_server/session_store.h"
#include "src/upload_server/upload_service.h"

namespace {

using namespace openbits::upload;

struct World {
  std::string base;
  std::optional<RootDir> root;
  std::optional<SessionStore> sessions;
  ServerConfig config;
  std::optional<UploadService> service;
};

// A root the harness cannot set up is no finding: say why and stop without a crash report
// (std::abort here made libFuzzer save the empty first input as crash-da39a3ee... whenever
// the working directory was not writable).
[[noreturn]] void setup_failed(const std::string& why) {
  std::fprintf(stderr,
               "upload_server_fuzz: cannot set up its root (%s); run it from a "
               "writable directory\n",
               why.c_str());
  std::_Exit(1);
}

World& world() {
  static World* w = [] {
    auto* made = new World;
    // In the working directory (fuzz-smoke.sh runs in a scratch directory it deletes):
    // libFuzzer ends with _Exit, so nothing of ours runs at exit to clean up.
    char pattern[] = "upload-server-fuzz-XXXXXX";
    if (::mkdtemp(pattern) == nullptr)
      setup_failed(std::string("mkdtemp: ") + std::strerror(errno));
    made->base = std::filesystem::absolute(pattern).string();
    std::filesystem::create_directories(made->base + "/root/up");
    auto root = RootDir::open(made->base + "/root");
    if (!root.ok()) setup_failed(root.status().message());
    made->root = std::move(root).value();
    made->sessions.emplace(*made->root);
    if (openbits::Status opened = made->sessions->open(); !opened.ok()) {
      setup_failed(opened.message());
    }
    made->config.max_upload_size = 1 << 20;  // keeps the disk use of one input small
    made->config.session_limit_enabled = false;
    made->config.allow_overwrites = true;
    made->service.emplace(made->config, *made->root, *made->sessions);
    return made;
  }();
  return *w;
}

// Only "root" may exist next to the root: anything else was written outside it.
void check_nothing_outside(const std::string& base) {
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) std::abort();
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != ".." && name != "root") __builtin_trap();
  }
  ::closedir(dir);
}

std::string next_line(const std::string& text, std::size_t& at) {
  if (at >= text.size()) return std::string();
  std::size_t end = text.find('\n', at);
  if (end == std::string::npos) end = text.size();
  std::string line = text.substr(at, end - at);
  at = end + 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

void run_request(const std::string& request, std::string& session) {
  RequestHead head;
  std::size_t at = 0;
  head.method = next_line(request, at);
  head.target = next_line(request, at);
  head.client = "127.0.0.1";
  head.scheme = "http";
  while (at < request.size()) {
    std::string line = next_line(request, at);
    if (line.empty()) break;
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (std::size_t s = value.find("{S}"); s != std::string::npos) value.replace(s, 3, session);
    head.headers.emplace(line.substr(0, colon), value);
  }
  std::string body = at < request.size() ? request.substr(at) : std::string();
  head.content_length = body.size();
  Dispatch dispatch = world().service->begin(head);
  Response response;
  if (dispatch.sink) {
    // Two chunks, as a network read would deliver them.
    std::size_t half = body.size() / 2;
    dispatch.sink->consume(body.data(), half);
    dispatch.sink->consume(body.data() + half, body.size() - half);
    response = dispatch.sink->finish();
  } else {
    response = std::move(dispatch.response);
  }
  if (response.status < 100 || response.status > 599) __builtin_trap();
  for (const auto& [name, value] : response.headers) {
    if (name.find_first_of("\r\n") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      __builtin_trap();  // header injection into the Ack
    }
    if (name == "BITS-Session-Id") session = value;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string session;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find("\n--\n", start);
    if (end == std::string::npos) end = text.size();
    run_request(text.substr(start, end - start), session);
    start = end + 4;
  }
  check_nothing_outside(w.base);
  return 0;
}
