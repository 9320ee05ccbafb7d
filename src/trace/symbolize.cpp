// symbolize: libdw lookups for symbolize.hpp. Each ELF file gets its own
// Dwfl holding that one file at bias 0; an address is first mapped to its
// module by the recorded segments and made relative to the load bias, then
// looked up in the file: DWARF scopes for the function and its inline chain,
// the line table for the innermost line, the ELF symbol table when there is
// no DWARF.
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

struct symbol_cache::elf_file {
    std::string name;  // base name of the module's path
    Dwfl* dwfl = nullptr;
    Dwfl_Module* mod = nullptr;      // nullptr: no usable file; frames are "name+0xoffset"
    char* debuginfo_path = nullptr;  // libdw keeps a pointer to it
    Dwfl_Callbacks callbacks{};
    std::unordered_map<std::uint64_t, std::vector<frame>> frames;  // file pc -> frames

    ~elf_file() {
        if (dwfl != nullptr) dwfl_end(dwfl);
        std::free(debuginfo_path);
    }

    // Reports `file` at bias 0; false if it cannot be used (or is another build).
    bool report(const std::string& file, const std::vector<std::uint8_t>& build_id) {
        if (dwfl != nullptr) dwfl_end(dwfl);
        dwfl = dwfl_begin(&callbacks);
        mod = nullptr;
        if (dwfl == nullptr) return false;
        dwfl_report_begin(dwfl);
        mod = dwfl_report_elf(dwfl, name.c_str(), file.c_str(), -1, 0, true);
        dwfl_report_end(dwfl, nullptr, nullptr);
        if (mod == nullptr) return false;
        if (!build_id.empty()) {
            const unsigned char* bits = nullptr;
            GElf_Addr vaddr = 0;
            const int n = dwfl_module_build_id(mod, &bits, &vaddr);
            if (n > 0 && (static_cast<std::size_t>(n) != build_id.size() ||
                          std::memcmp(bits, build_id.data(), build_id.size()) != 0)) {
                mod = nullptr;  // a different build at that path
                return false;
            }
        }
        return true;
    }

    void open(const module_info& m, const std::string& debug_root) {
        debuginfo_path = strdup(("-:.debug:" + debug_root).c_str());
        callbacks.find_elf = dwfl_build_id_find_elf;
        callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
        callbacks.section_address = dwfl_offline_section_address;
        callbacks.debuginfo_path = &debuginfo_path;
        if (!m.path.empty() && ::access(m.path.c_str(), R_OK) == 0 && report(m.path, m.build_id)) return;
        if (!m.build_id.empty()) {
            std::string p = debug_root + "/.build-id/";
            static const char digits[] = "0123456789abcdef";
            for (std::size_t i = 0; i < m.build_id.size(); ++i) {
                p += digits[m.build_id[i] >> 4];
                p += digits[m.build_id[i] & 15];
                if (i == 0) p += '/';
            }
            p += ".debug";
            if (::access(p.c_str(), R_OK) == 0 && report(p, m.build_id)) return;
        }
        if (dwfl != nullptr) dwfl_end(dwfl);
        dwfl = nullptr;
        mod = nullptr;
    }

    frame unknown(std::uint64_t offset) const {
        frame f;
        f.function = name + "+" + hex(offset);
        f.module = name;
        return f;
    }

    std::vector<frame> lookup(std::uint64_t pc, std::uint64_t label_offset) const;
};

std::vector<frame> symbol_cache::elf_file::lookup(std::uint64_t pc, std::uint64_t label_offset) const {
    std::vector<frame> out;
    if (mod == nullptr) {
        out.push_back(unknown(label_offset));
        return out;
    }

    // the innermost line from the line table
    std::string file;
    int line = 0;
    if (Dwfl_Line* l = dwfl_module_getsrc(mod, pc); l != nullptr) {
        if (const char* src = dwfl_lineinfo(l, nullptr, &line, nullptr, nullptr, nullptr); src != nullptr) file = src;
    }

    // the DWARF scopes at pc: inline chain, innermost first
    Dwarf_Addr bias = 0;
    if (Dwarf_Die* cu = dwfl_module_addrdie(mod, pc, &bias); cu != nullptr) {
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
            if (f.function.empty()) f.function = name + "+" + hex(label_offset);
            f.file = cur_file;
            f.line = cur_line > 0 ? static_cast<std::uint32_t>(cur_line) : 0;
            f.module = name;
            f.inlined = dwarf_tag(d) == DW_TAG_inlined_subroutine;
            out.push_back(std::move(f));
            if (!out.back().inlined) break;
            // the caller's location: where this inline copy was called
            Dwarf_Attribute attr;
            Dwarf_Word idx = 0, cl = 0;
            cur_file.clear();
            cur_line = 0;
            if (have_files && dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &attr), &idx) == 0 && idx < nfiles) {
                if (const char* src = dwarf_filesrc(files, idx, nullptr, nullptr); src != nullptr) cur_file = src;
            }
            if (dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &attr), &cl) == 0) cur_line = static_cast<int>(cl);
        }
        std::free(scopes);
    }
    if (!out.empty()) return out;

    // no DWARF function: the ELF symbol table
    GElf_Off offset = 0;
    GElf_Sym sym;
    if (const char* sname = dwfl_module_addrinfo(mod, pc, &offset, &sym, nullptr, nullptr, nullptr); sname != nullptr) {
        frame f;
        f.function = demangle(sname);
        f.resolved = true;
        f.file = file;
        f.line = line > 0 ? static_cast<std::uint32_t>(line) : 0;
        f.module = name;
        out.push_back(std::move(f));
        return out;
    }
    out.push_back(unknown(label_offset));
    return out;
}

symbol_cache::symbol_cache(std::string debug_root) : debug_root_(std::move(debug_root)) {}
symbol_cache::~symbol_cache() = default;

symbol_cache::elf_file& symbol_cache::file_of(const module_info& m) {
    std::string key = m.path;
    key += '\0';
    key.append(m.build_id.begin(), m.build_id.end());
    auto it = files_.find(key);
    if (it != files_.end()) return *it->second;
    auto f = std::make_unique<elf_file>();
    f->name = base_name(m.path);
    f->open(m, debug_root_);
    return *files_.emplace(std::move(key), std::move(f)).first->second;
}

const std::vector<frame>& symbol_cache::frames(const module_info& m, std::uint64_t file_pc,
                                               std::uint64_t label_offset) {
    elf_file& f = file_of(m);
    // the label is part of an unresolved frame: key on both (they differ by the return-address adjustment)
    const std::uint64_t key = file_pc * 2 + (label_offset != file_pc ? 1 : 0);
    if (auto it = f.frames.find(key); it != f.frames.end()) return it->second;
    return f.frames.emplace(key, f.lookup(file_pc, label_offset)).first->second;
}

symbolizer::symbolizer(std::vector<module_info> modules, std::shared_ptr<symbol_cache> cache)
    : modules_(std::move(modules)), cache_(cache ? std::move(cache) : std::make_shared<symbol_cache>()) {}

symbolizer::~symbolizer() = default;

const module_info* symbolizer::module_for(std::uint64_t pc) const {
    // the latest-loaded module that holds pc (a reused range after dlclose: the newer one)
    for (auto it = modules_.rbegin(); it != modules_.rend(); ++it)
        for (const module_segment& s : it->segments)
            if (pc >= s.start && pc - s.start < s.size) return &*it;
    return nullptr;
}

const std::vector<frame>& symbolizer::frames(std::uint64_t ip, bool return_address) {
    const std::uint64_t pc = return_address && ip > 0 ? ip - 1 : ip;
    if (const module_info* m = module_for(pc); m != nullptr) return cache_->frames(*m, pc - m->base, ip - m->base);
    auto [it, inserted] = unknown_.try_emplace(ip);
    if (inserted) {
        frame f;
        f.function = hex(ip);
        it->second.push_back(std::move(f));
    }
    return it->second;
}

}  // namespace heapkit::trace
