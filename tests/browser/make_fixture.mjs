// make_fixture: writes a made-up but realistic data document of `heapkit report` (the JSON the
// HTML page embeds), for developing and testing the page before real reports exist.
//
//   node make_fixture.mjs OUT.json [--nodes N] [--frames F] [--seed S]
//
// The program it pretends to have profiled is a small server: main reads a config, builds an
// index, serves requests (parsing JSON, growing vectors and strings) and leaks a little. The call
// tree grows at random (seeded: the same arguments give the same file) from a few hundred frames;
// every number in the summary is derived from the tree and the timeline, so that the totals the
// page shows can be checked against sums over the metrics:
//   summary.allocated_bytes == sum(metrics.allocated), summary.peak_heap_bytes == max timeline
//   heap == sum(metrics.peak), summary.leaked_bytes == sum(metrics.leaked), and each snapshot's
//   live values sum to the timeline's heap at its time.
// Two frame names carry text a page must escape ("</script><!--") and non-ASCII characters.
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length < 1) {
    console.error('usage: node make_fixture.mjs OUT.json [--nodes N] [--frames F] [--seed S]');
    process.exit(2);
}
const out = args[0];
const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
};
const node_target = option('--nodes', 3000);
const frame_target = option('--frames', 320);
let seed = option('--seed', 7) >>> 0;

// mulberry32: a small seeded generator, so the fixture is the same on every machine.
function random() {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const int_between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

// ---- frames ----
const frames = [];
const frame_index = new Map();
function frame(name, file, line, module, inlined = false) {
    if (frame_index.has(name)) return frame_index.get(name);
    frame_index.set(name, frames.length);
    frames.push({ name, file, line, module, inlined });
    return frames.length - 1;
}
const start = frame('_start', '', 0, 'server');
const libc_main = frame('__libc_start_main', '../csu/libc-start.c', 392, 'libc.so.6');
const main_frame = frame('main', 'src/main.cpp', 41, 'server');
const dl_init = frame('_dl_init', 'elf/dl-init.c', 121, 'ld-linux-x86-64.so.2');
const static_init = frame('__static_initialization_and_destruction_0', 'src/registry.cpp', 18, 'server');

const namespaces = ['app', 'app::http', 'app::index', 'app::store', 'json', 'net', 'util', 'cache'];
const classes = ['Server', 'Request', 'Response', 'Parser', 'Index', 'Table', 'Buffer', 'Session', 'Router',
                 'Value', 'Document', 'Pool', 'Shard', 'Writer', 'Reader', 'Tokenizer'];
const verbs = ['parse', 'build', 'insert', 'append', 'load', 'handle', 'encode', 'decode', 'flush', 'grow',
               'split', 'merge', 'emplace', 'visit', 'compact', 'resolve', 'serialize', 'dispatch'];
const nouns = ['header', 'body', 'token', 'entry', 'segment', 'row', 'field', 'chunk', 'page', 'key', 'record',
               'batch', 'message', 'path', 'node'];
const app_frames = [];
while (app_frames.length < frame_target - 40) {
    const ns = pick(namespaces);
    const cls = pick(classes);
    const name = `${ns}::${cls}::${pick(verbs)}_${pick(nouns)}`;
    if (frame_index.has(name)) continue;
    const file = `src/${ns.replace(/::/g, '/').replace(/^app\/?/, '') || 'core'}/${cls.toLowerCase()}.cpp`;
    app_frames.push(frame(name, file.replace('//', '/'), int_between(12, 900), 'server', random() < 0.15));
}
// library frames: where allocations end up
const library_frames = [
    frame('std::vector<app::Entry, std::allocator<app::Entry> >::_M_realloc_insert<app::Entry const&>',
          '/usr/include/c++/12/bits/vector.tcc', 445, 'server', true),
    frame('std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::_M_mutate',
          '', 0, 'libstdc++.so.6'),
    frame('std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::reserve',
          '', 0, 'libstdc++.so.6'),
    frame('std::_Hashtable<std::string, std::pair<std::string const, json::Value> >::_M_rehash',
          '/usr/include/c++/12/bits/hashtable.h', 2564, 'server', true),
    frame('std::unique_ptr<app::Buffer> std::make_unique<app::Buffer, unsigned long&>(unsigned long&)',
          '/usr/include/c++/12/bits/unique_ptr.h', 1065, 'server', true),
    frame('std::deque<net::Message>::_M_push_back_aux', '/usr/include/c++/12/bits/deque.tcc', 487, 'server', true),
    frame('zstd::ZSTD_createCCtx', '', 0, 'libzstd.so.1'),
    frame('sqlite3MemMalloc', 'sqlite3.c', 25919, 'libsqlite3.so.0'),
    frame('g_slice_alloc', '', 0, 'libglib-2.0.so.0'),
    frame('strdup', 'string/strdup.c', 40, 'libc.so.6'),
    frame('templ<a</script><!-- b>::tricky', 'src/odd.cpp', 7, 'server'),
    frame('util::naïve_λ_grow', 'src/util/naïve.cpp', 33, 'server'),
];
while (frames.length < frame_target) {
    app_frames.push(frame(`app::detail::helper_${frames.length}`, 'src/detail.cpp', int_between(1, 400), 'server'));
}

// ---- call tree: node 0 is the root; parents come before children ----
const nodes = [[-1, -1]];
const depth = [0];
const child_by_frame = [new Map()];
function node(parent, f) {
    const known = child_by_frame[parent].get(f);
    if (known !== undefined) return known;
    const id = nodes.length;
    nodes.push([parent, f]);
    depth.push(depth[parent] + 1);
    child_by_frame.push(new Map());
    child_by_frame[parent].set(f, id);
    return id;
}
const n_start = node(0, start);
const n_libc = node(n_start, libc_main);
const n_main = node(n_libc, main_frame);
const n_init = node(node(n_start, dl_init), static_init);
// Grow: extend a random existing application node (deeper ones are likelier), mostly with
// application frames, sometimes with a library frame that allocates.
const growable = [n_main];
for (let k = 0; k < 6; k++) node(n_init, pick(library_frames));  // start-up: a few static constructors
while (nodes.length < node_target) {
    const parent = growable[Math.floor(Math.pow(random(), 0.6) * growable.length)];
    const library = random() < 0.25;
    const f = library ? pick(library_frames) : pick(app_frames);
    const before = nodes.length;
    const id = node(parent, f);
    if (nodes.length > before && !library && depth[id] < 40) growable.push(id);
}

// ---- metrics: self values at the leaves (and at a few inner nodes that allocate themselves) ----
const has_children = new Uint8Array(nodes.length);
for (let i = 1; i < nodes.length; i++) has_children[nodes[i][0]] = 1;
const sites = [];
for (let i = 1; i < nodes.length; i++) {
    if (!has_children[i] || random() < 0.08) sites.push(i);
}
const allocated = [], calls = [], peak = [], leaked = [], temporary_calls = [];
const site_size = new Map();  // typical block size of a site
const site_live_weight = new Map();  // how much of what the site allocated stays live for a while
for (const s of sites) {
    const size = Math.round(Math.exp(2 + random() * 9));  // 7 B .. 60 KiB
    const n = Math.max(1, Math.round(Math.exp(random() * 8)));  // 1 .. 3000 calls
    site_size.set(s, size);
    allocated.push([s, size * n]);
    calls.push([s, n]);
    if (random() < 0.12) site_live_weight.set(s, random() * size * Math.min(n, 40));
    if (random() < 0.04) leaked.push([s, size * int_between(1, 3)]);
    if (random() < 0.2) temporary_calls.push([s, Math.max(1, Math.floor(n * random()))]);
}

// ---- timeline: start-up, load, a peak while the index is rebuilt, steady serving, shutdown ----
const duration_ns = 4_213_500_000;
const points = 2000;
const weights_total = [...site_live_weight.values()].reduce((a, b) => a + b, 0);
function heap_shape(x) {  // x in [0, 1] -> bytes
    const base = 6e6 * Math.min(1, x / 0.1);
    const load = 38e6 * Math.min(1, Math.max(0, (x - 0.1) / 0.35));
    const rebuild = 64e6 * Math.exp(-Math.pow((x - 0.62) / 0.05, 2));
    const shutdown = x > 0.94 ? (x - 0.94) / 0.06 : 0;
    return (base + load + rebuild) * (1 - 0.97 * shutdown);
}
const timeline = [];
let rss = 0;
for (let i = 0; i < points; i++) {
    const x = i / (points - 1);
    const t = Math.round(x * duration_ns);
    const heap = Math.max(0, Math.round(heap_shape(x) * (1 + 0.03 * Math.sin(i / 3) * random())));
    // RSS: pages touched, released lazily; unknown for the first samples
    rss = Math.max(heap + 3.1e6, rss * 0.9995 + heap * 0.0005);
    timeline.push([t, heap, i < 4 ? null : Math.ceil(rss / 4096) * 4096]);
}
let peak_index = 0;
for (let i = 1; i < points; i++) if (timeline[i][1] > timeline[peak_index][1]) peak_index = i;
const peak_heap = timeline[peak_index][1];

// live bytes spread over the sites in proportion to their weights, summing exactly to `bytes`
function spread(bytes, jitter) {
    const live = [];
    let left = bytes;
    const entries = [...site_live_weight.entries()];
    for (let k = 0; k < entries.length; k++) {
        const [s, w] = entries[k];
        const share = k === entries.length - 1 ? left : Math.min(left, Math.round(bytes * (w / weights_total) * (1 + jitter * (random() - 0.5))));
        if (share > 0) live.push([s, share]);
        left -= share;
    }
    return live;
}
for (const pair of spread(peak_heap, 0.2)) peak.push(pair);
const snapshots = [];
for (let k = 0; k < 100; k++) {
    const i = Math.round((k * (points - 1)) / 99);
    snapshots.push({ t: timeline[i][0], live: spread(timeline[i][1], 0.6) });
}

// ---- histogram: power-of-two size classes ----
const histogram = [];
const buckets = new Map();
for (const [s, n] of calls) {
    const size = site_size.get(s);
    const lo = size < 16 ? 0 : 2 ** Math.floor(Math.log2(size));
    const b = buckets.get(lo) || { count: 0, bytes: 0 };
    b.count += n;
    b.bytes += size * n;
    buckets.set(lo, b);
}
for (const lo of [...buckets.keys()].sort((a, b) => a - b)) {
    histogram.push({ lo, hi: lo === 0 ? 16 : lo * 2, ...buckets.get(lo) });
}

// ---- summary and the top sites ----
const sum = (pairs) => pairs.reduce((a, [, v]) => a + v, 0);
const total_calls = sum(calls);
const calls_of = new Map(calls);
function top(pairs) {
    return [...pairs].sort((a, b) => b[1] - a[1]).slice(0, 25)
        .map(([n, value]) => ({ node: n, value, calls: calls_of.get(n) || 0 }));
}
const before_main = allocated.filter(([s]) => {
    for (let n = s; n > 0; n = nodes[n][0]) if (n === n_init) return true;
    return false;
});
const malloc_calls = Math.round(total_calls * 0.41);
const new_calls = Math.round(total_calls * 0.46);
const realloc_calls = Math.round(total_calls * 0.08);
const calloc_calls = total_calls - malloc_calls - new_calls - realloc_calls;
const document = {
    command: './server --config etc/server.toml --requests 20000',
    pid: 48213,
    duration_ns,
    exit: 'exit 0',
    summary: {
        calls: { malloc: malloc_calls, 'operator new': new_calls, realloc: realloc_calls, calloc: calloc_calls,
                 posix_memalign: 12, free: Math.round(total_calls * 0.55), 'operator delete': Math.round(total_calls * 0.44) },
        allocations: total_calls,
        frees: Math.round(total_calls * 0.99),
        failed: 0,
        allocated_bytes: sum(allocated),
        peak_heap_bytes: peak_heap,
        peak_time_ns: timeline[peak_index][0],
        peak_rss_bytes: Math.max(...timeline.map((p) => p[2] || 0)),
        leaked_bytes: sum(leaked),
        leaked_blocks: leaked.length + 3,
        temporary: sum(temporary_calls),
        before_main_bytes: sum(before_main),
        before_main_calls: before_main.reduce((a, [s]) => a + calls_of.get(s), 0),
    },
    timeline,
    histogram,
    frames,
    nodes,
    metrics: { allocated, calls, peak, leaked },
    snapshots,
    top: { bytes: top(allocated), calls: top(calls), peak: top(peak), temporary: top(temporary_calls), leaks: top(leaked) },
};
writeFileSync(out, JSON.stringify(document) + '\n');
console.log(`make_fixture: ${out}: ${frames.length} frames, ${nodes.length} nodes, ${sites.length} sites, ` +
            `${timeline.length} timeline points, ${snapshots.length} snapshots`);
