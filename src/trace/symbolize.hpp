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
//   symbolizer     one trace's modules (runtime segments and load bias):
//                  maps an address to (module, address in the ELF file)
//   symbol_cache   one entry per ELF file (path + build id): a Dwfl holding
//                  that file at bias 0, and its frames per file address. It
//                  may be shared by the symbolizers of several traces (a
//                  process and its forked children load the same libraries,
//                  at other addresses), so each file is read and each of its
//                  addresses looked up once.
//
// Finding a module's ELF: its recorded path when that file's build id
// matches the recorded one (or either is unknown); else
// <debug root>/.build-id/xx/rest.debug. Separate debug info is found by
// libdw's standard search (build id, .gnu_debuglink). Without DWARF the ELF
// symbol table names the function; without a usable file the frame is
// "module+0xoffset", and an address outside every module "0xaddress".
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
    std::string module;     // the module's file name (no directories)
    bool inlined = false;   // inlined into the next (outer) frame of the same address
    bool resolved = false;  // a function name was found
};

// ELF files opened with libdw and their addresses looked up, shared by symbolizers.
class symbol_cache {
public:
    explicit symbol_cache(std::string debug_root = "/usr/lib/debug");
    ~symbol_cache();
    symbol_cache(const symbol_cache&) = delete;
    symbol_cache& operator=(const symbol_cache&) = delete;

    // The frames at `file_pc` (an address in the ELF file's own terms) of the
    // module, innermost first. `label_offset` names an unresolved frame.
    const std::vector<frame>& frames(const module_info& m, std::uint64_t file_pc, std::uint64_t label_offset);

private:
    struct elf_file;
    elf_file& file_of(const module_info& m);
    std::string debug_root_;
    std::unordered_map<std::string, std::unique_ptr<elf_file>> files_;  // path + build id -> file
};

class symbolizer {
public:
    // `cache`: shared with other symbolizers, or nullptr for one of its own.
    explicit symbolizer(std::vector<module_info> modules, std::shared_ptr<symbol_cache> cache = nullptr);
    ~symbolizer();
    symbolizer(const symbolizer&) = delete;
    symbolizer& operator=(const symbolizer&) = delete;

    // The frames of one address, innermost first (inline frames, then the
    // function they were inlined into). `return_address`: ip is where a call
    // returns to, so the call's own line is looked up at ip - 1.
    const std::vector<frame>& frames(std::uint64_t ip, bool return_address = true);

private:
    const module_info* module_for(std::uint64_t pc) const;

    std::vector<module_info> modules_;
    std::shared_ptr<symbol_cache> cache_;
    std::unordered_map<std::uint64_t, std::vector<frame>> unknown_;  // addresses outside every module
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
