// run_child: runs a program as a child process and captures what it wrote and
// how it ended.
//
//   child_result r = run_child("/path/prog", {"--flag"}, std::chrono::seconds(60));
//   r.out, r.err        what it wrote to stdout and stderr (streams::separate)
//   r.merged            both; in write order with streams::merged (one pipe
//                       for both), in the order the chunks were read otherwise
//   r.exited / r.code   exit(code) ...
//   r.signal            ... or the signal that ended it (r.code = -1 then)
//
// stdin is /dev/null. A child that outlives the timeout is killed with
// SIGKILL and reported as such (timed_out is set).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace heapkit::tools {

// Whether the child's stderr gets a pipe of its own (so it can be told
// apart) or shares stdout's (so the order of lines across them is kept).
enum class streams { separate, merged };

struct child_result {
    bool started = false;    // false: the program could not be run (see error)
    std::string error;       // why it could not be run
    std::string out;         // everything written to stdout (and stderr, when merged)
    std::string err;         // everything written to stderr (empty when merged)
    std::string merged;      // stdout and stderr interleaved as read
    bool exited = false;     // ended through exit(); `code` holds the status
    int code = -1;           // exit status when exited
    int signal = 0;          // the signal that ended it, when !exited
    bool timed_out = false;  // killed by run_child after the timeout

    // "exit 0", "exit 3", "signal SIGABRT (Aborted)", "not run: ..."
    std::string describe_ending() const;
};

child_result run_child(const std::string& program, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout, streams how = streams::separate);

}  // namespace heapkit::tools
