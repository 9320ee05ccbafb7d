// shell(command): runs a command through /bin/sh and returns its standard
// output and wait status, for tests that check what a program prints.
#pragma once

#include <cstdio>
#include <string>

namespace heapkit::testing {

struct shell_output {
    std::string out;  // standard output (standard error too when the command redirects it)
    int status = -1;  // as from waitpid; -1 when the command could not be started
};

inline shell_output shell(const std::string& command) {
    shell_output r;
    FILE* f = ::popen(command.c_str(), "r");
    if (f == nullptr) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
    r.status = ::pclose(f);
    return r;
}

}  // namespace heapkit::testing
