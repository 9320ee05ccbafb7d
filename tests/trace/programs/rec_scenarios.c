/* rec_scenarios MODE: process-level situations for the recorder's tests.
 *   fork      a child allocates 5555 bytes and exits 0; the parent waits, exits 0
 *   exec      allocates 6666, then execs itself as "exec2" (which allocates 6667)
 *   signal    a SIGALRM handler allocates 7777 while main loops allocating 100 bytes
 *   longjmp   allocations inside frames left by longjmp (8888)
 *   vfork     vfork + exec of /bin/true, then allocates 9999
 *   thread    a thread that never returns, main exits (status 0)
 *   exit / _exit / abort / kill   end that way after allocating 1234
 *   dlopen PATH   dlopen, call alloc_in_lib (4321), dlclose, allocate 4322
 *   stdout    prints 1000 lines and exits 42
 *   forkthreads  4 threads keep allocating while main forks 20 children
 *             (each allocates 5556 bytes and exits 0); prints "children ok"
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void* volatile sink;

static void on_alarm(int sig) {
    (void)sig;
    void* p = malloc(7777);
    free(p);
    handled++;
}

static jmp_buf env;
__attribute__((noinline, noclone)) static void deep(int n) {
    void* p = malloc(8888);
    sink = p;
    if (n == 0) longjmp(env, 1);
    deep(n - 1);
    __asm__ volatile("" ::: "memory"); /* a real call per level, not a loop */
    free(p);
}

static volatile int stop_churn;
static void* churn(void* arg) {
    (void)arg;
    while (!stop_churn) {  /* busy, but a bounded number of events */
        for (int i = 0; i < 100; ++i) free(malloc(48));
        usleep(200);
    }
    return NULL;
}

static void* forever(void* arg) {
    (void)arg;
    for (;;) {
        free(malloc(64));
        usleep(1000);
    }
    return NULL;
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const char* mode = argv[1];
    if (strcmp(mode, "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            free(malloc(5555));
            exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (strcmp(mode, "exec") == 0) {
        free(malloc(6666));
        execl("/proc/self/exe", argv[0], "exec2", (char*)NULL);
        return 1;
    }
    if (strcmp(mode, "exec2") == 0) {
        free(malloc(6667));
        return 0;
    }
    if (strcmp(mode, "signal") == 0) {
        signal(SIGALRM, on_alarm);
        struct itimerval it = {{0, 200}, {0, 200}};
        setitimer(ITIMER_REAL, &it, NULL);
        long loops = 0;
        while (handled < 200) {
            free(malloc(100));
            loops++;
        }
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        printf("handled %d\n", (int)handled);
        return 0;
    }
    if (strcmp(mode, "longjmp") == 0) {
        for (int i = 0; i < 3; ++i)
            if (setjmp(env) == 0) deep(4);
        printf("jumped\n");
        return 0;
    }
    if (strcmp(mode, "vfork") == 0) {
        pid_t pid = vfork();
        if (pid == 0) {
            execl("/bin/true", "true", (char*)NULL);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        free(malloc(9999));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (strcmp(mode, "thread") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, forever, NULL);
        usleep(20000);
        free(malloc(1234));
        return 0;
    }
    if (strcmp(mode, "exit") == 0 || strcmp(mode, "_exit") == 0 || strcmp(mode, "abort") == 0 ||
        strcmp(mode, "kill") == 0) {
        sink = malloc(1234);
        fflush(stdout);
        if (strcmp(mode, "exit") == 0) exit(5);
        if (strcmp(mode, "_exit") == 0) _exit(6);
        if (strcmp(mode, "abort") == 0) abort();
        /* Wait for the writer to drain the allocation: two rounds that wrote
         * something after it (or 5 s), then die without any chance to finish. */
        const char* trace = getenv("HEAPKIT_PROFILE_OUTPUT");
        struct stat st;
        off_t last = (trace != NULL && stat(trace, &st) == 0) ? st.st_size : 0;
        int grew = 0;
        for (int i = 0; i < 500 && grew < 2; ++i) {
            usleep(10000);
            if (trace != NULL && stat(trace, &st) == 0 && st.st_size != last) {
                last = st.st_size;
                ++grew;
            }
        }
        kill(getpid(), SIGKILL);
    }
    if (strcmp(mode, "dlopen") == 0 && argc > 2) {
        void* h = dlopen(argv[2], RTLD_NOW);
        if (h == NULL) return 3;
        void* (*fn)(void) = (void* (*)(void))dlsym(h, "alloc_in_lib");
        free(fn());
        dlclose(h);
        free(malloc(4322));
        return 0;
    }
    if (strcmp(mode, "forkthreads") == 0) {
        pthread_t t[4];
        for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, churn, NULL);
        int ok = 0;
        for (int i = 0; i < 20; ++i) {
            pid_t pid = fork();
            if (pid == 0) {
                free(malloc(5556));
                exit(0);
            }
            int status;
            waitpid(pid, &status, 0);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++ok;
        }
        stop_churn = 1;
        for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
        printf(ok == 20 ? "children ok\n" : "children failed\n");
        return 0;
    }
    if (strcmp(mode, "stdout") == 0) {
        for (int i = 0; i < 1000; ++i) printf("line %d\n", i);
        return 42;
    }
    return 2;
}
