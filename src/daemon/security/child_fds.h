// Descriptors of a forked child before it runs another program: nothing of bitsd (its
// RPC sockets, the store, libcurl's sockets) may reach a program run as a user. Boost.Asio
// and libcurl do not open everything close-on-exec, so the child closes every descriptor
// above its standard ones itself. Nor do bitsd's ignored signals (daemon_session.h): an
// ignored disposition survives exec, so the child restores the defaults.
#pragma once

namespace openbits::daemon {

// Closes every descriptor >= `lowest`: close_range, or one by one from /proc/self/fd on
// kernels without it. Raw system calls only (async-signal-safe: for the child of fork()).
// False when neither works; the caller must then not exec.
bool close_descriptors_from(int lowest);

// SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN and SIGTTOU back to their default action (the ones
// bitsd ignores). Async-signal-safe.
void restore_default_signals();

}  // namespace openbits::daemon
