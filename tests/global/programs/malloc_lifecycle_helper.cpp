// malloc_lifecycle_helper: the process-lifetime scenarios of heapkit malloc
// that need a process of their own. tests/global/malloc_lifecycle_test.cpp
// runs it with LD_PRELOAD=libheapkit.so (it is built without heapkit, like any
// program) and checks what it prints. Modes:
//
//   exit-paths      allocation in atexit handlers, static destructors and
//                   thread_local destructors, each line checked
//   early           a linked library's constructor allocated before main
//   dlopen LIB      tests/global/programs/dlopen_scenario.hpp
//   alloc-threads   allocates in 4 threads (the program a forked child execs)
//   purge           mapped bytes after using and freeing 24 MiB (HEAPKIT_PURGE_DELAY)
//   close-stderr    closes fd 2 and exits (HEAPKIT_STATS must still print)
//   owned           whether heapkit serves malloc here
//
// Each mode prints "<mode> ok" at the end when everything held, plus
// "heapkit" or "glibc" for who served the blocks it checked.
#include "dlopen_scenario.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

extern "C" void* hk_test_early_block();
extern "C" bool hk_test_early_intact();

namespace {

void say(const char* s) {
    // write(2) and no buffering: lines from exit paths must not be lost or reordered
    (void)!::write(1, s, std::strlen(s));
    (void)!::write(1, "\n", 1);
}

bool heapkit_owns(const void* p) {
    using owns_fn = bool (*)(const void*);
    auto owns = reinterpret_cast<owns_fn>(::dlsym(RTLD_DEFAULT, "hk_owns"));
    return owns != nullptr && owns(p);
}

// Allocates a few sizes and checks them; true when all is well and heapkit served them.
bool churn(const char* where) {
    std::vector<std::unique_ptr<std::string>> v;
    bool ok = true;
    for (int i = 0; i < 200; ++i) v.push_back(std::make_unique<std::string>(static_cast<std::size_t>(i * 37), 'a'));
    void* big = std::malloc(3 << 20);
    std::memset(big, 3, 3 << 20);
    ok = ok && heapkit_owns(big) && heapkit_owns(v.back()->data());
    std::free(big);
    for (int i = 0; i < 200; ++i)
        ok = ok && *v[static_cast<std::size_t>(i)] == std::string(static_cast<std::size_t>(i * 37), 'a');
    say((std::string(where) + (ok ? " ok" : " FAILED")).c_str());
    return ok;
}

bool g_exit_paths = false;  // only the exit-paths mode reports the static destructor

struct static_object {
    std::string* text = new std::string(500, 's');
    ~static_object() {
        const bool ok = *text == std::string(500, 's');
        delete text;
        if (g_exit_paths) churn(ok ? "static destructor" : "static destructor (object corrupted)");
    }
};
static_object g_static;

struct tls_object {
    std::vector<int> v = std::vector<int>(1000, 7);
    ~tls_object() { churn(v[999] == 7 ? "thread_local destructor" : "thread_local destructor (corrupted)"); }
};

int exit_paths() {
    g_exit_paths = true;
    std::atexit([] { churn("atexit handler"); });
    std::at_quick_exit([] { churn("never"); });
    std::thread t([] {
        static thread_local tls_object obj;
        obj.v[0] = 1;
    });
    t.join();
    churn("main");
    return 0;  // then: atexit handler, static destructor (reverse order of registration)
}

int early() {
    auto* b = static_cast<unsigned char*>(hk_test_early_block());
    bool ok = b != nullptr && heapkit_owns(b);
    for (int i = 0; ok && i < 1000; ++i) ok = b[i] == 0x5e;
    std::free(b);
    ok = hk_test_early_intact() && ok;
    say(ok ? "early ok" : "early FAILED");
    return ok ? 0 : 1;
}

int dlopen_mode(const char* lib) {
    const std::string r = hk_test::dlopen_scenario(lib, 5);
    void* p = std::malloc(10);
    const bool owned = heapkit_owns(p);
    std::free(p);
    say(r.empty() ? (owned ? "dlopen ok heapkit" : "dlopen ok glibc") : ("dlopen FAILED: " + r).c_str());
    return r.empty() ? 0 : 1;
}

int alloc_threads() {
    std::vector<std::thread> ts;
    bool ok[4] = {};
    for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&ok, t] {
            std::vector<std::string> v;
            for (int i = 0; i < 2000; ++i)
                v.emplace_back(static_cast<std::size_t>(i % 300), static_cast<char>('a' + t));
            ok[t] = v[1999] == std::string(1999 % 300, static_cast<char>('a' + t)) && heapkit_owns(v[299].data());
        });
    }
    for (auto& th : ts) th.join();
    const bool all = ok[0] && ok[1] && ok[2] && ok[3];
    say(all ? "alloc-threads ok heapkit" : "alloc-threads FAILED");
    return all ? 0 : 1;
}

int purge() {
    std::vector<void*> blocks;
    for (int i = 0; i < 24 * 1024; ++i) {  // 24 MiB of 1 KiB blocks: 6 small segments
        void* p = std::malloc(1000);
        std::memset(p, 1, 1000);
        blocks.push_back(p);
    }
    const std::size_t used = mallinfo2().arena;
    for (void* p : blocks) std::free(p);
    // slow paths, where purging happens: a medium block (above the 16 KiB carved at a
    // time) freed and allocated again goes through the slow path every time
    for (int i = 0; i < 50; ++i) std::free(std::malloc(20000));
    const std::size_t after = mallinfo2().arena;
    std::printf("mapped in use: %zu\nmapped after free: %zu\n", used, after);
    std::printf("purge ok\n");
    return 0;
}

int owned() {
    void* p = std::malloc(100);
    say(heapkit_owns(p) ? "heapkit active" : "heapkit absent");
    std::free(p);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "exit-paths") return exit_paths();
    if (mode == "early") return early();
    if (mode == "dlopen" && argc > 2) return dlopen_mode(argv[2]);
    if (mode == "alloc-threads") return alloc_threads();
    if (mode == "purge") return purge();
    if (mode == "close-stderr") {
        ::close(2);
        return 0;
    }
    if (mode == "owned") return owned();
    std::fprintf(stderr, "usage: %s exit-paths|early|dlopen LIB|alloc-threads|purge|close-stderr|owned\n", argv[0]);
    return 2;
}
