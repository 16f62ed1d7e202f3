// Background work that must never delay a message: the calling thread moves to the
// SCHED_IDLE class, so any other runnable thread of the machine — the network threads, the
// sequencer, the committer — preempts it at once, and it takes only the CPU left over.
// (A nice value is not enough: the scheduler lets a running task finish its slice first,
// which delays each hop of a send by up to a millisecond or two.) Threads it starts
// inherit the class. On a machine whose CPUs are saturated such work crawls: give it a
// metric that shows its lag.
//
// Never hold a lock a foreground thread waits for across long work in such a thread: a
// preempted holder stalls the waiter (priority inversion).
//
// Best effort: a refusal leaves the thread as it was.
#pragma once

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace parley {

inline void BecomeBackgroundThread() {
  sched_param param{};
  (void)::sched_setscheduler(static_cast<pid_t>(::syscall(SYS_gettid)), SCHED_IDLE, &param);
}

}  // namespace parley
