// symbolize: libdw lookups for symbolize.hpp. Each module gets its own
// Dwfl holding that one ELF reported at its recorded load bias; an address is
// first mapped to its module by the recorded segments, then looked up there:
// DWARF scopes for the function and its inline chain, the line table for the
// innermost line, the ELF symbol table when there is no DWARF.
#include "trace/symbolize.hpp"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <unistd.h>

namespace heapkit::trace {
namespace {

std::string demangle(const char* name) {
    if (name == nullptr) return {};
    if (name[0] == '_' && name[1] == 'Z') {
        int status = 0;
        char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
        if (status == 0 && out != nullptr) {
            std::string s(out);
            std::free(out);
            return s;
        }
        std::free(out);
    }
    return name;
}

std::string base_name(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

// The name of a subprogram or inlined subroutine DIE, demangled; follows
// DW_AT_abstract_origin and DW_AT_specification.
std::string die_name(Dwarf_Die* die) {
    Dwarf_Attribute attr;
    for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
        if (dwarf_attr_integrate(die, at, &attr) != nullptr) {
            if (const char* s = dwarf_formstring(&attr); s != nullptr) return demangle(s);
        }
    }
    if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) {
        if (const char* s = dwarf_formstring(&attr); s != nullptr) return s;
    }
    return {};
}

bool is_function(Dwarf_Die* die) {
    const int tag = dwarf_tag(die);
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

}  // namespace

struct symbolizer::module_state {
    module_info info;
    std::string name;  // base name of the path
    bool opened = false;
    Dwfl* dwfl = nullptr;
    Dwfl_Module* mod = nullptr;
    char* debuginfo_path = nullptr;  // libdw keeps a pointer to it
    Dwfl_Callbacks callbacks{};

    ~module_state() {
        if (dwfl != nullptr) dwfl_end(dwfl);
        std::free(debuginfo_path);
    }

    bool contains(std::uint64_t ip) const {
        for (const module_segment& s : info.segments)
            if (ip >= s.start && ip - s.start < s.size) return true;
        return false;
    }

    // Reports `file` at the module's bias; false if it cannot be used.
    bool report(const std::string& file, bool check_build_id) {
        if (dwfl != nullptr) dwfl_end(dwfl);
        dwfl = dwfl_begin(&callbacks);
        mod = nullptr;
        if (dwfl == nullptr) return false;
        dwfl_report_begin(dwfl);
        mod = dwfl_report_elf(dwfl, name.c_str(), file.c_str(), -1, info.base, true);
        dwfl_report_end(dwfl, nullptr, nullptr);
        if (mod == nullptr) return false;
        if (check_build_id && !info.build_id.empty()) {
            const unsigned char* bits = nullptr;
            GElf_Addr vaddr = 0;
            const int n = dwfl_module_build_id(mod, &bits, &vaddr);
            if (n > 0 && (static_cast<std::size_t>(n) != info.build_id.size() ||
                          std::memcmp(bits, info.build_id.data(), info.build_id.size()) != 0))
                return false;  // a different build at that path
        }
        return true;
    }

    void open(const std::string& debug_root) {
        opened = true;
        debuginfo_path = strdup(("-:.debug:" + debug_root).c_str());
        callbacks.find_elf = dwfl_build_id_find_elf;
        callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
        callbacks.section_address = dwfl_offline_section_address;
        callbacks.debuginfo_path = &debuginfo_path;
        if (!info.path.empty() && ::access(info.path.c_str(), R_OK) == 0 && report(info.path, true)) return;
        if (!info.build_id.empty()) {
            std::string p = debug_root + "/.build-id/";
            static const char digits[] = "0123456789abcdef";
            for (std::size_t i = 0; i < info.build_id.size(); ++i) {
                p += digits[info.build_id[i] >> 4];
                p += digits[info.build_id[i] & 15];
                if (i == 0) p += '/';
            }
            p += ".debug";
            if (::access(p.c_str(), R_OK) == 0 && report(p, false)) return;
        }
        if (dwfl != nullptr) dwfl_end(dwfl);
        dwfl = nullptr;
        mod = nullptr;
    }
};

symbolizer::symbolizer(std::vector<module_info> modules) {
    for (module_info& m : modules) {
        auto s = std::make_unique<module_state>();
        s->name = base_name(m.path);
        s->info = std::move(m);
        modules_.push_back(std::move(s));
    }
}

symbolizer::~symbolizer() = default;

void symbolizer::set_debug_root(std::string dir) { debug_root_ = std::move(dir); }

symbolizer::module_state* symbolizer::module_for(std::uint64_t ip) {
    // the latest-loaded module that holds ip (a reused range after dlclose: the newer one)
    for (auto it = modules_.rbegin(); it != modules_.rend(); ++it)
        if ((*it)->contains(ip)) return it->get();
    return nullptr;
}

const std::vector<frame>& symbolizer::frames(std::uint64_t ip, bool return_address) {
    const std::uint64_t key = ip * 2 + (return_address ? 1 : 0);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    const std::uint64_t pc = return_address && ip > 0 ? ip - 1 : ip;
    return cache_.emplace(key, lookup(ip, pc)).first->second;
}

std::vector<frame> symbolizer::lookup(std::uint64_t ip, std::uint64_t pc) {
    std::vector<frame> out;
    module_state* m = module_for(pc);
    if (m == nullptr) {
        frame f;
        f.function = hex(ip);
        out.push_back(std::move(f));
        return out;
    }
    if (!m->opened) m->open(debug_root_);
    auto unknown = [&] {
        frame f;
        f.function = m->name + "+" + hex(ip - m->info.base);
        f.module = m->name;
        return f;
    };
    if (m->mod == nullptr) {
        out.push_back(unknown());
        return out;
    }

    // the innermost line from the line table
    std::string file;
    int line = 0;
    if (Dwfl_Line* l = dwfl_module_getsrc(m->mod, pc); l != nullptr) {
        if (const char* src = dwfl_lineinfo(l, nullptr, &line, nullptr, nullptr, nullptr); src != nullptr) file = src;
    }

    // the DWARF scopes at pc: inline chain, innermost first
    Dwarf_Addr bias = 0;
    if (Dwarf_Die* cu = dwfl_module_addrdie(m->mod, pc, &bias); cu != nullptr) {
        // dwarf_getscopes continues an inlined subroutine with its abstract
        // origin's scopes; the callers are the inline copy's parents in the
        // concrete tree, which dwarf_getscopes_die gives from the innermost one.
        Dwarf_Die* scopes = nullptr;
        int n = dwarf_getscopes(cu, pc - bias, &scopes);
        int first = 0;
        while (first < n && !is_function(&scopes[first])) ++first;
        if (first < n) {
            Dwarf_Die innermost = scopes[first];
            std::free(scopes);
            scopes = nullptr;
            n = dwarf_getscopes_die(&innermost, &scopes);
        }
        Dwarf_Files* files = nullptr;
        std::size_t nfiles = 0;
        const bool have_files = dwarf_getsrcfiles(cu, &files, &nfiles) == 0;
        std::string cur_file = file;
        int cur_line = line;
        for (int i = 0; i < n; ++i) {
            Dwarf_Die* d = &scopes[i];
            if (!is_function(d)) continue;
            frame f;
            f.function = die_name(d);
            f.resolved = !f.function.empty();
            if (f.function.empty()) f.function = m->name + "+" + hex(ip - m->info.base);
            f.file = cur_file;
            f.line = cur_line > 0 ? static_cast<std::uint32_t>(cur_line) : 0;
            f.module = m->name;
            f.inlined = dwarf_tag(d) == DW_TAG_inlined_subroutine;
            out.push_back(std::move(f));
            if (!out.back().inlined) break;
            // the caller's location: where this inline copy was called
            Dwarf_Attribute attr;
            Dwarf_Word idx = 0, cl = 0;
            cur_file.clear();
            cur_line = 0;
            if (have_files && dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &attr), &idx) == 0 && idx < nfiles) {
                if (const char* s = dwarf_filesrc(files, idx, nullptr, nullptr); s != nullptr) cur_file = s;
            }
            if (dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &attr), &cl) == 0) cur_line = static_cast<int>(cl);
        }
        std::free(scopes);
    }
    if (!out.empty()) return out;

    // no DWARF function: the ELF symbol table
    GElf_Off offset = 0;
    GElf_Sym sym;
    if (const char* name = dwfl_module_addrinfo(m->mod, pc, &offset, &sym, nullptr, nullptr, nullptr);
        name != nullptr) {
        frame f;
        f.function = demangle(name);
        f.resolved = true;
        f.file = file;
        f.line = line > 0 ? static_cast<std::uint32_t>(line) : 0;
        f.module = m->name;
        out.push_back(std::move(f));
        return out;
    }
    out.push_back(unknown());
    return out;
}

}  // namespace heapkit::trace
