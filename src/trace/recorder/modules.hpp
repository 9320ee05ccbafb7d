// modules: the loaded ELF objects, announced in the trace so that the report
// can symbolise return addresses (by build id and load bias) long after the
// process is gone.
//
// A scan (dl_iterate_phdr) compares what is loaded with what was announced:
// a new object gets an id and a module_load record (load bias, path: the real
// path of the main program through /proc/self/exe; GNU build id from PT_NOTE;
// its PT_LOAD segments with their flags), an object that is gone gets a
// module_unload record. Scans run at the process's first event, after every
// dlopen and dlclose, and in a fork child (whose trace starts empty).
//
// The table (objects known: id, load bias, address of their program
// headers) is static, under a spinlock; records go to the scanning thread's
// slot. Returns whether an object went away (stacks then forget their nodes).
#pragma once

#include "trace/recorder/threads.hpp"

namespace heapkit::trace::recorder {

// Announces what changed since the last scan (everything when `all`).
bool modules_scan(slot& s, bool all) noexcept;

void modules_lock() noexcept;
void modules_unlock() noexcept;
void modules_after_fork() noexcept;  // the child: unlocked; the next scan announces everything

}  // namespace heapkit::trace::recorder
