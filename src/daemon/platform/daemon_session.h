// bitsd never has a controlling terminal. A process acquires one when it leads a session
// without a terminal and opens a terminal without O_NOCTTY, and systemd and setsid(1)
// both start bitsd as such a session leader. Every open of a user-named path adds
// O_NOCTTY (security/user_open.h), but libraries open files too (Kerberos its ticket
// cache), so bitsd also stops being able to acquire one at all: a session leader forks
// once, and the child, which is not a session leader, is the daemon. The parent stays as
// a supervisor with the pid that systemd, setup.sh's pid file and scripts know: it
// forwards SIGTERM and SIGINT to the daemon, reports readiness to systemd for it
// (NotifyAccess=main still holds), and exits with the daemon's status; the daemon dies
// with it (PR_SET_PDEATHSIG SIGKILL), so `kill -9 <pid>` still stops bitsd. The parent
// opens nothing after the fork. Started as a plain child (not a session leader, as the
// tests start it), bitsd does not fork. Hang-up and terminal job-control signals are
// ignored as a second line. Call these from main() before any thread starts.
#pragma once

namespace openbits::daemon {

// SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU ignored (bitsd uses none of them).
void ignore_terminal_signals();

// Returns in the daemon process: at once when bitsd is not a session leader; otherwise in
// the forked child, while the parent supervises it and never returns.
void leave_session_leadership();

// READY=1 / STOPPING=1 for systemd, through the supervisor when there is one.
void notify_ready();
void notify_stopping();

}  // namespace openbits::daemon
