// Loopback TCP ports for test servers (nginx, fault and proxy servers, bitsd's peers).
// Thread-safe.
#pragma once

namespace openbits::test {

// A port in 20000-32767 that nothing listened on when asked, never the same one twice in a
// process. Below the kernel's ephemeral range (ip_local_port_range, 32768-60999) on purpose:
// a port from bind(0) is free only until some process's outgoing connection takes it as its
// source port, which with two tests running at once happened between picking and listening
// (nginx "exited at start"). Throws std::runtime_error when no free port is found.
int free_port();

// Whether something accepts TCP connections on ip:port.
bool accepts_connections(int port, const char* ip = "127.0.0.1");

}  // namespace openbits::test
