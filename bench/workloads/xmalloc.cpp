// xmalloc: producers and consumers, after xmalloc-test (Lever and Boreham) as
// the mimalloc-bench suite describes it — every block is freed by a thread
// other than the one that allocated it.
//
// Each of `threads` threads produces batches of `batch` blocks (16..512
// bytes, stamped) into the queue of the next thread and consumes the batches
// of its own queue (checks and frees them). A queue holds at most `depth`
// batches, so the live memory stays bounded. The batch records are malloc'ed
// by the producer and freed by the consumer too.
#include "workload.hpp"

#include <mutex>
#include <thread>
#include <vector>

namespace {

using namespace heapkit::workload;
constexpr const char* name = "xmalloc";
constexpr int batch_blocks = 64;
constexpr int depth = 16;

struct batch {
    batch* next;
    void* blocks[batch_blocks];
    std::uint32_t sizes[batch_blocks];
};

struct queue {
    std::mutex m;
    batch* head = nullptr;  // oldest first
    batch* tail = nullptr;
    int count = 0;  // batches in the queue, <= depth

    batch* try_pop() {
        std::lock_guard lock(m);
        if (head == nullptr) return nullptr;
        batch* b = head;
        head = b->next;
        if (head == nullptr) tail = nullptr;
        --count;
        return b;
    }
};

void consume(batch* b) {
    for (int i = 0; i < batch_blocks; ++i) {
        if (!stamped(b->blocks[i], b->sizes[i]))
            fail(name, "block %p of %u bytes corrupted", b->blocks[i], b->sizes[i]);
        std::free(b->blocks[i]);
    }
    std::free(b);
}

void worker(std::vector<queue>& queues, int self, long long batches) {
    rng r(7 + self);
    queue& out = queues[(self + 1) % queues.size()];
    queue& in = queues[self];
    long long produced = 0, consumed = 0;
    while (produced < batches || consumed < batches) {
        if (produced < batches) {
            auto* b = static_cast<batch*>(checked_malloc(name, sizeof(batch)));
            for (int i = 0; i < batch_blocks; ++i) {
                const std::size_t n = r.range(16, 512);
                b->blocks[i] = checked_malloc(name, n);
                b->sizes[i] = static_cast<std::uint32_t>(n);
                stamp(b->blocks[i], n);
            }
            // Never block on a full queue while our own queue could be full too: drain first.
            while (true) {
                {
                    std::unique_lock lock(out.m);
                    if (out.count < depth) {
                        b->next = nullptr;
                        (out.tail ? out.tail->next : out.head) = b;
                        out.tail = b;
                        ++out.count;
                        break;
                    }
                }
                if (batch* c = in.try_pop()) {
                    consume(c);
                    ++consumed;
                } else {
                    std::this_thread::yield();
                }
            }
            ++produced;
        }
        while (batch* c = in.try_pop()) {
            consume(c);
            ++consumed;
        }
        if (produced >= batches && consumed < batches) std::this_thread::yield();
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const int n = o.threads < 2 ? 2 : o.threads;
    const long long batches = o.count(40000, 10);
    std::vector<queue> queues(n);
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) threads.emplace_back(worker, std::ref(queues), t, batches);
    for (auto& th : threads) th.join();
    for (auto& q : queues)
        if (q.head != nullptr) fail(name, "a queue is not empty at the end");
    result("blocks", batches * n * batch_blocks);
    return 0;
}
