// symbolize: instruction addresses of a recorded process -> source frames
// (function, file, line, module), inline frames expanded, using elfutils
// libdw. It works from the module map the trace recorded (path, load bias,
// build id, segments), never from the running process, so a trace is
// symbolised after the program is gone.
//
//   symbolizer sym(r.modules());
//   for (const frame& f : sym.frames(ip, true)) ...   // innermost first
//
// Data structures:
//   modules   the trace's modules, each with a lazily opened Dwfl (one per
//             module: modules of one trace may reuse addresses after dlclose)
//   cache     ip -> frames, so each distinct address is looked up once
//
// Finding a module's ELF: its recorded path when that file's build id
// matches the recorded one (or either is unknown); else
// /usr/lib/debug/.build-id/xx/rest.debug. Separate debug info is found by
// libdw's standard search (build id, .gnu_debuglink). Without DWARF the ELF
// symbol table names the function; without a usable file, or for an address
// outside every module, the frame is "module+0xoffset" ("0xaddress").
#pragma once

#include "trace/reader.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace heapkit::trace {

struct frame {
    std::string function;  // demangled; "module+0x1234" when unknown
    std::string file;      // empty when unknown
    std::uint32_t line = 0;
    std::string module;    // the module's file name (no directories)
    bool inlined = false;  // inlined into the next (outer) frame of the same address
    bool resolved = false; // a function name was found
};

class symbolizer {
public:
    explicit symbolizer(std::vector<module_info> modules);
    ~symbolizer();
    symbolizer(const symbolizer&) = delete;
    symbolizer& operator=(const symbolizer&) = delete;

    // The frames of one address, innermost first (inline frames, then the
    // function they were inlined into). `return_address`: ip is where a call
    // returns to, so the call's own line is looked up at ip - 1.
    const std::vector<frame>& frames(std::uint64_t ip, bool return_address = true);

    // Extra directories to search for debug info (besides libdw's defaults).
    void set_debug_root(std::string dir);

private:
    struct module_state;
    module_state* module_for(std::uint64_t ip);
    std::vector<frame> lookup(std::uint64_t ip, std::uint64_t pc);

    std::vector<std::unique_ptr<module_state>> modules_;
    std::unordered_map<std::uint64_t, std::vector<frame>> cache_;
    std::string debug_root_ = "/usr/lib/debug";
};

// The frames of a stack id (reader or analysis metadata), outermost last:
// [innermost frames of the leaf ip ..., ..., frames of the outermost ip].
// `stack_of` maps an id to its node (nullptr for unknown ids).
template <class StackOf>
std::vector<std::uint64_t> stack_ips(std::uint64_t id, StackOf&& stack_of) {
    std::vector<std::uint64_t> ips;
    for (std::size_t guard = 0; id != 0 && guard < 4096; ++guard) {
        const stack_node* n = stack_of(id);
        if (n == nullptr) break;
        ips.push_back(n->ip);
        id = n->parent;
    }
    return ips;
}

}  // namespace heapkit::trace
