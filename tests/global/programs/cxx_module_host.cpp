// A host with no C++ runtime of its own (built with -static-libstdc++ and
// using none of it, so no libstdc++.so is loaded with it) that loads a C++
// module with dlopen(RTLD_LOCAL), as python3 loads an extension: the
// module's libstdc++ stays out of the global scope. Runs the module's
// `run_new_cases` and returns its status. Usage: cxx_module_host MODULE
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODULE\n", argv[0]);
        return 2;
    }
    void* module = dlopen(argv[1], RTLD_LOCAL | RTLD_NOW);
    if (module == nullptr) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    auto run = reinterpret_cast<int (*)()>(dlsym(module, "run_new_cases"));
    if (run == nullptr) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 2;
    }
    return run();
}
