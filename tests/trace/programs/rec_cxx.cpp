// rec_cxx: a C++ program whose allocations the recorder's tests know: every
// operator new/delete form, an allocation before main, threads allocating
// distinctive sizes, and an exception thrown across frames whose destructors
// print (the output must not change under the recorder). Prints
// "<what> <size> <align> <addr>" lines like rec_known.
#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

struct early {
    void* p;
    early() : p(std::malloc(4242)) { std::printf("early 4242 0 %p\n", p); }
} before_main;

struct noisy {
    int id;
    explicit noisy(int i) : id(i) {}
    ~noisy() { std::printf("destructor %d\n", id); }
};

[[gnu::noinline]] void thrower(int depth) {
    noisy n(depth);
    std::vector<int> v(100 + depth);
    if (depth == 0) throw std::runtime_error("deep");
    thrower(depth - 1);
}

struct alignas(64) wide {
    char bytes[192];
};

}  // namespace

int main() {
    int* one = new int(7);
    std::printf("new 4 0 %p\n", static_cast<void*>(one));
    int* many = new int[10];
    std::printf("new[] 40 0 %p\n", static_cast<void*>(many));
    wide* w = new wide;
    std::printf("new_aligned 192 64 %p\n", static_cast<void*>(w));
    wide* ws = new wide[2];
    std::printf("new[]_aligned 384 64 %p\n", static_cast<void*>(ws));
    int* nt = new (std::nothrow) int(3);
    std::printf("new_nothrow 4 0 %p\n", static_cast<void*>(nt));
    delete one;
    delete[] many;
    delete w;
    delete[] ws;
    ::operator delete(nt, sizeof(int));

    try {
        thrower(5);
    } catch (const std::exception& e) {
        std::printf("caught %s\n", e.what());
    }

    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([] {
            for (int i = 0; i < 1000; ++i) std::free(std::malloc(static_cast<std::size_t>(30000 + i)));
        });
    for (std::thread& t : threads) t.join();
    std::printf("threads done\n");
    std::free(before_main.p);
    return 0;
}
