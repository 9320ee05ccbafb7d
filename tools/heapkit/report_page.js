// report_page.js: draws the heapkit report from the JSON document embedded in the page
// (<script type="application/json" id="heapkit-data">, written by html_report.cpp).
//
// The document (made by `heapkit report`):
//   command, pid, duration_ns, exit; summary {calls {fn: n}, allocations, frees, failed,
//   allocated_bytes, peak_heap_bytes, peak_time_ns, peak_rss_bytes, leaked_bytes, leaked_blocks,
//   temporary, before_main_bytes, before_main_calls}; timeline [[t_ns, heap, rss|null]] in time
//   order; histogram [{lo, hi, count, bytes}]; frames [{name, file, line, module, inlined}];
//   nodes [[parent, frame]] (node 0 the root, parents before children, one node per call path);
//   metrics {allocated|calls|peak|leaked: [[node, self value]]}; snapshots [{t, live: [[node, bytes]]}];
//   top {bytes|calls|peak|temporary|leaks: [{node, value, calls}]}.
//
// The flame graph draws a "view tree": arrays indexed by view node (parent, frame, total, and the
// children in CSR form: kids[first[v] .. first[v + 1]) sorted by total, largest first). Invariant:
// a parent's index is below its children's, and total[v] = self[v] + the sum of its children's
// totals. In normal mode the view tree is the call tree itself with the chosen metric summed
// upwards; in inverted mode it is built from the call paths read from the allocating node up to
// main, merged by frame, so its first level holds the allocating functions. Drawing walks only the
// frames at least MIN_WIDTH pixels wide, so a tree of any size costs what is visible.
//
// For tests and curious users, window.heapkit_report exposes the state and the drawn layout.
'use strict';
(function () {
    const ROW = 18;            // flame graph row height, CSS pixels
    const MIN_WIDTH = 0.4;     // frames narrower than this are not drawn (their parent shows them)
    const LABEL_MIN = 28;      // frames narrower than this get no label

    const $ = (id) => document.getElementById(id);
    const tooltip = $('tooltip');

    function fail(message) {
        const box = $('error');
        box.textContent = 'heapkit: this report cannot be shown: ' + message;
        box.hidden = false;
        console.error('heapkit report: ' + message);
    }

    let data;
    try {
        data = JSON.parse($('heapkit-data').textContent);
    } catch (e) {
        fail('the embedded data is not valid JSON (' + e.message + '). Write the report again with heapkit report --html.');
        return;
    }
    const summary = data.summary || {};
    const frames = Array.isArray(data.frames) ? data.frames : [];
    const raw_nodes = Array.isArray(data.nodes) && data.nodes.length ? data.nodes : [[-1, -1]];
    const timeline = Array.isArray(data.timeline) ? data.timeline : [];
    const snapshots = Array.isArray(data.snapshots) ? data.snapshots : [];
    const metrics = data.metrics || {};

    // ---- formatting ----
    const nf = new Intl.NumberFormat('en-US');
    function fmt_count(n) { return n == null ? '–' : nf.format(Math.round(n)); }
    // "1 block", "2 blocks"
    function count_of(n, noun) { return fmt_count(n) + ' ' + (n === 1 ? noun : noun + 's'); }
    function fmt_bytes(n) {
        if (n == null) return '–';
        const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
        let u = 0, v = Math.abs(n);
        while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        const digits = u === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
        return (n < 0 ? '-' : '') + v.toFixed(digits) + ' ' + units[u];
    }
    function fmt_time(ns) {
        if (ns == null) return '–';
        const a = Math.abs(ns);
        if (a >= 60e9) { const m = Math.floor(ns / 60e9); return m + ' min ' + ((ns - m * 60e9) / 1e9).toFixed(1) + ' s'; }
        if (a >= 1e9) return (ns / 1e9).toFixed(a >= 10e9 ? 1 : 2) + ' s';
        if (a >= 1e6) return (ns / 1e6).toFixed(a >= 10e6 ? 0 : 1) + ' ms';
        if (a >= 1e3) return (ns / 1e3).toFixed(a >= 10e3 ? 0 : 1) + ' µs';
        return Math.round(ns) + ' ns';
    }
    function fmt_share(part, whole) {
        if (!whole) return '–';
        const p = (100 * part) / whole;
        return (p >= 10 || p === 0 ? p.toFixed(1) : p >= 0.1 ? p.toFixed(2) : p.toFixed(3)) + '%';
    }
    function el(tag, props, ...children) {
        const e = document.createElement(tag);
        if (props) for (const k in props) {
            if (k === 'class') e.className = props[k];
            else if (k === 'text') e.textContent = props[k];
            else if (k.startsWith('on')) e.addEventListener(k.slice(2), props[k]);
            else e.setAttribute(k, props[k]);
        }
        for (const c of children) if (c != null) e.append(c);
        return e;
    }
    function frame_info(f) { return frames[f] || { name: '?', file: '', line: 0, module: '' }; }
    function location(fr) {
        if (!fr.file) return fr.module ? '(' + fr.module + ')' : '';
        return fr.file + (fr.line ? ':' + fr.line : '') + (fr.module ? '  (' + fr.module + ')' : '');
    }

    // ---- the call tree ----
    const node_count = raw_nodes.length;
    const call_parent = new Int32Array(node_count);
    const call_frame = new Int32Array(node_count);
    for (let i = 0; i < node_count; i++) {
        const n = raw_nodes[i];
        call_parent[i] = i === 0 ? -1 : n[0];
        call_frame[i] = i === 0 ? -1 : n[1];
        if (i > 0 && !(n[0] >= 0 && n[0] < i)) {
            fail('node ' + i + ' has parent ' + n[0] + ', which does not come before it.');
            return;
        }
    }
    // CSR children of a tree given by its parent array
    function children_of(parent, n) {
        const first = new Int32Array(n + 1);
        for (let i = 1; i < n; i++) first[parent[i] + 1]++;
        for (let i = 0; i < n; i++) first[i + 1] += first[i];
        const fill = first.slice(0, n);
        const kids = new Int32Array(Math.max(0, n - 1));
        for (let i = 1; i < n; i++) kids[fill[parent[i]]++] = i;
        return { first, kids };
    }
    function self_values(pairs) {
        const self = new Float64Array(node_count);
        if (Array.isArray(pairs)) for (const p of pairs) {
            if (p[0] >= 0 && p[0] < node_count) self[p[0]] += p[1];
        }
        return self;
    }
    function sort_kids(tree) {
        const { first, kids, total } = tree;
        for (let v = 0; v < tree.n; v++) {
            const a = first[v], b = first[v + 1];
            if (b - a > 1) {
                const part = Array.from(kids.subarray(a, b)).sort((x, y) => total[y] - total[x]);
                kids.set(part, a);
            }
        }
    }
    const call_children = children_of(call_parent, node_count);
    const call_depth = new Int32Array(node_count);
    for (let i = 1; i < node_count; i++) call_depth[i] = call_depth[call_parent[i]] + 1;
    function normal_tree(self) {
        const total = Float64Array.from(self);
        for (let i = node_count - 1; i > 0; i--) total[call_parent[i]] += total[i];
        const tree = { n: node_count, parent: call_parent, frame: call_frame, first: call_children.first,
                       kids: call_children.kids.slice(), total, self, inverted: false };
        sort_kids(tree);
        return tree;
    }
    function inverted_tree(self) {
        // At most one new node per step up a path: size the arrays and an open-addressing hash
        // table of edges ((inverted node, frame) -> child) for that many.
        let steps = 1;
        for (let v = 1; v < node_count; v++) if (self[v] > 0) steps += call_depth[v];
        const parent = new Int32Array(steps), frame = new Int32Array(steps), tot = new Float64Array(steps);
        parent[0] = -1; frame[0] = -1;
        let cap = 16;
        while (cap < 2 * steps) cap *= 2;
        const mask = cap - 1, slot = new Int32Array(cap).fill(-1);
        let n = 1;
        for (let v = 1; v < node_count; v++) {
            const s = self[v];
            if (!(s > 0)) continue;
            tot[0] += s;
            let at = 0;
            for (let u = v; u > 0; u = call_parent[u]) {
                const f = call_frame[u];
                let h = (Math.imul(at, 0x9e3779b1) ^ Math.imul(f + 1, 0x85ebca77)) & mask;
                let c;
                for (;;) {
                    c = slot[h];
                    if (c < 0) {
                        c = n++;
                        parent[c] = at; frame[c] = f;
                        slot[h] = c;
                        break;
                    }
                    if (parent[c] === at && frame[c] === f) break;
                    h = (h + 1) & mask;
                }
                tot[c] += s;
                at = c;
            }
        }
        const p = parent.subarray(0, n);
        const { first, kids } = children_of(p, n);
        const total = tot.subarray(0, n);
        const own = new Float64Array(n);  // self in the inverted tree: where the path reached main's caller
        for (let v = 0; v < n; v++) {
            let s = total[v];
            for (let k = first[v]; k < first[v + 1]; k++) s -= total[kids[k]];
            own[v] = Math.max(0, s);
        }
        const tree = { n, parent: p, frame: frame.subarray(0, n), first, kids, total, self: own, inverted: true };
        sort_kids(tree);
        return tree;
    }

    // ---- metrics ----
    const METRICS = {
        allocated: { unit: 'bytes', label: 'allocated', pairs: () => metrics.allocated },
        calls: { unit: 'calls', label: 'allocation calls', pairs: () => metrics.calls },
        peak: { unit: 'bytes', label: 'live at the peak', pairs: () => metrics.peak },
        moment: { unit: 'bytes', label: 'live at', pairs: () => (snapshots[state.snapshot] || {}).live },
        leaked: { unit: 'bytes', label: 'leaked', pairs: () => metrics.leaked },
    };
    function fmt_value(metric, v) { return METRICS[metric].unit === 'bytes' ? fmt_bytes(v) : fmt_count(v) + ' calls'; }

    const peak_time = summary.peak_time_ns != null ? summary.peak_time_ns
        : timeline.reduce((best, p) => (p[1] > best[1] ? p : best), [0, -1])[0];
    function nearest_snapshot(t) {
        let best = -1, dist = Infinity;
        for (let i = 0; i < snapshots.length; i++) {
            const d = Math.abs(snapshots[i].t - t);
            if (d < dist) { dist = d; best = i; }
        }
        return best;
    }

    const state = {
        metric: 'allocated', inverted: false, focus: 0, search: '',
        snapshot: nearest_snapshot(peak_time), hover: -1,
    };
    let view = null;          // the view tree drawn now
    let view_key = '';
    let rows = [];            // drawn frames by row: [[x, w, view node], ...]
    let focus_path = [];      // view nodes from the root to the focus
    let frame_match = null;   // Uint8Array over frames, or null when the search box is empty
    let match_info = { count: 0, value: 0 };

    function current_tree() {
        const key = state.metric + '/' + (state.metric === 'moment' ? state.snapshot : '') + '/' + state.inverted;
        if (key !== view_key) {
            const self = self_values(METRICS[state.metric].pairs());
            view = state.inverted ? inverted_tree(self) : normal_tree(self);
            view_key = key;
        }
        return view;
    }

    // ---- search ----
    let applied_search = '';  // the search the drawing shows (it is applied at the next animation frame)
    function update_search() {
        applied_search = state.search;
        const q = state.search.trim().toLowerCase();
        frame_match = null;
        if (q) {
            frame_match = new Uint8Array(frames.length);
            for (let f = 0; f < frames.length; f++) {
                if (String(frames[f].name).toLowerCase().includes(q)) frame_match[f] = 1;
            }
        }
    }
    // The share of the total in frames that match, counting each path once (the topmost match).
    function measure_matches(tree) {
        match_info = { count: 0, value: 0 };
        if (!frame_match) return;
        const covered = new Uint8Array(tree.n);
        for (let v = 1; v < tree.n; v++) {
            if (!(tree.total[v] > 0)) continue;
            const m = frame_match[tree.frame[v]] === 1;
            if (m) match_info.count++;
            if (covered[tree.parent[v]]) covered[v] = 1;
            else if (m) { covered[v] = 1; match_info.value += tree.total[v]; }
        }
    }

    // ---- colours ----
    function hash(s) {
        let h = 2166136261;
        for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
        return h >>> 0;
    }
    // The program's own module in warm colours, libraries in cool ones, one family per module.
    const main_module = (() => {
        const m = frames.find((f) => f.name === 'main' && f.module);
        if (m) return m.module;
        const seen = new Map();  // else the module most frames come from
        for (const f of frames) if (f.module) seen.set(f.module, (seen.get(f.module) || 0) + 1);
        let best = '', most = 0;
        for (const [module, n] of seen) if (n > most) { best = module; most = n; }
        return best;
    })();
    const FAMILIES = [[196, 222], [152, 178], [256, 282], [88, 118]];
    const colour_cache = new Map();
    function frame_colour(f) {
        let c = colour_cache.get(f);
        if (c) return c;
        const fr = frame_info(f);
        const h = hash(String(fr.name));
        let hue, sat, light;
        if (!fr.module || fr.module === main_module) {
            hue = 8 + (h % 42); sat = 78 + ((h >>> 8) % 14); light = 56 + ((h >>> 16) % 12);
        } else {
            const fam = FAMILIES[hash(String(fr.module)) % FAMILIES.length];
            hue = fam[0] + (h % (fam[1] - fam[0])); sat = 46 + ((h >>> 8) % 18); light = 62 + ((h >>> 16) % 12);
        }
        c = { normal: 'hsl(' + hue + ',' + sat + '%,' + light + '%)', faded: 'hsl(' + hue + ',12%,86%)' };
        colour_cache.set(f, c);
        return c;
    }

    // ---- canvases ----
    function fit_canvas(canvas, css_height) {
        const dpr = window.devicePixelRatio || 1;
        const w = Math.max(100, canvas.parentElement.clientWidth);
        if (css_height != null) canvas.style.height = css_height + 'px';
        const h = css_height != null ? css_height : canvas.clientHeight;
        if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
            canvas.width = Math.round(w * dpr);
            canvas.height = Math.round(h * dpr);
        }
        const ctx = canvas.getContext('2d');
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        ctx.clearRect(0, 0, w, h);
        return { ctx, w, h };
    }
    function show_tooltip(event, parts) {
        tooltip.replaceChildren(...parts);
        tooltip.hidden = false;
        const pad = 14, tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
        let x = event.clientX + pad, y = event.clientY + pad;
        if (x + tw > window.innerWidth - 4) x = Math.max(4, event.clientX - tw - pad);
        if (y + th > window.innerHeight - 4) y = Math.max(4, event.clientY - th - pad);
        tooltip.style.left = x + 'px';
        tooltip.style.top = y + 'px';
    }
    function hide_tooltip() { tooltip.hidden = true; }

    // A "nice" step for about `count` grid lines over [0, max].
    function nice_step(max, count) {
        const raw = max / count;
        const mag = Math.pow(10, Math.floor(Math.log10(raw)));
        for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
        return 10 * mag;
    }
    function byte_axis(max) {
        const units = [[1, 'B'], [1024, 'KiB'], [1048576, 'MiB'], [1073741824, 'GiB'], [1099511627776, 'TiB']];
        let u = 0;
        while (u < units.length - 1 && max >= units[u + 1][0]) u++;
        const [scale, name] = units[u];
        const step = nice_step(Math.max(max / scale, 1e-9), 4) * scale;
        return { step, label: (v) => (v === 0 ? '0' : +(v / scale).toFixed(2) + ' ' + name) };
    }
    function time_axis(max_ns) {
        const units = [[1, 'ns'], [1e3, 'µs'], [1e6, 'ms'], [1e9, 's']];
        let u = 0;
        while (u < units.length - 1 && max_ns >= 2 * units[u + 1][0]) u++;
        const [scale, name] = units[u];
        const step = nice_step(Math.max(max_ns / scale, 1e-9), 7) * scale;
        return { step, label: (v) => +(v / scale).toFixed(3) + ' ' + name };
    }

    // ---- the timeline ----
    const tl = { left: 64, right: 14, top: 14, bottom: 24, t0: 0, t1: 1, max: 1, w: 0, h: 0, hover: -1 };
    function draw_timeline() {
        const canvas = $('timeline');
        const { ctx, w, h } = fit_canvas(canvas);
        tl.w = w; tl.h = h;
        const pw = w - tl.left - tl.right, ph = h - tl.top - tl.bottom;
        ctx.font = '11px ' + getComputedStyle(document.body).fontFamily;
        if (!timeline.length) {
            ctx.fillStyle = '#687184';
            ctx.fillText('No timeline in this report.', tl.left, tl.top + 20);
            return;
        }
        tl.t0 = timeline[0][0];
        tl.t1 = Math.max(timeline[timeline.length - 1][0], data.duration_ns || 0, tl.t0 + 1);
        let max = 1;
        for (const p of timeline) max = Math.max(max, p[1] || 0, p[2] || 0);
        const yaxis = byte_axis(max * 1.05);
        tl.max = Math.ceil((max * 1.05) / yaxis.step) * yaxis.step;
        const X = (t) => tl.left + ((t - tl.t0) / (tl.t1 - tl.t0)) * pw;
        const Y = (v) => tl.top + ph - (v / tl.max) * ph;
        // grid and axes
        ctx.strokeStyle = '#eceef2'; ctx.lineWidth = 1; ctx.fillStyle = '#687184';
        ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
        for (let v = 0; v <= tl.max + 1e-6; v += yaxis.step) {
            const y = Math.round(Y(v)) + 0.5;
            ctx.beginPath(); ctx.moveTo(tl.left, y); ctx.lineTo(w - tl.right, y); ctx.stroke();
            ctx.fillText(yaxis.label(v), tl.left - 6, y);
        }
        const xaxis = time_axis(tl.t1 - tl.t0);
        ctx.textAlign = 'center'; ctx.textBaseline = 'top';
        for (let t = 0; t <= tl.t1 - tl.t0 + 1e-6; t += xaxis.step) {
            const x = Math.round(X(tl.t0 + t)) + 0.5;
            ctx.strokeStyle = '#f2f3f6';
            ctx.beginPath(); ctx.moveTo(x, tl.top); ctx.lineTo(x, tl.top + ph); ctx.stroke();
            const label = xaxis.label(t);
            const half = ctx.measureText(label).width / 2;
            ctx.fillText(label, Math.min(x, w - 2 - half), tl.top + ph + 6);  // the last label stays inside
        }
        // snapshot ticks
        ctx.strokeStyle = '#b9a5d9';
        for (const s of snapshots) {
            const x = Math.round(X(s.t)) + 0.5;
            ctx.beginPath(); ctx.moveTo(x, tl.top + ph); ctx.lineTo(x, tl.top + ph + 3); ctx.stroke();
        }
        // heap: a filled area under a line
        ctx.beginPath();
        ctx.moveTo(X(timeline[0][0]), Y(0));
        for (const p of timeline) ctx.lineTo(X(p[0]), Y(p[1] || 0));
        ctx.lineTo(X(timeline[timeline.length - 1][0]), Y(0));
        ctx.closePath();
        const grad = ctx.createLinearGradient(0, tl.top, 0, tl.top + ph);
        grad.addColorStop(0, 'rgba(37,99,235,0.32)'); grad.addColorStop(1, 'rgba(37,99,235,0.06)');
        ctx.fillStyle = grad; ctx.fill();
        ctx.beginPath();
        timeline.forEach((p, i) => (i ? ctx.lineTo(X(p[0]), Y(p[1] || 0)) : ctx.moveTo(X(p[0]), Y(p[1] || 0))));
        ctx.strokeStyle = '#2563eb'; ctx.lineWidth = 1.5; ctx.stroke();
        // RSS: a line with gaps where it is unknown
        ctx.beginPath();
        let pen = false;
        for (const p of timeline) {
            if (p[2] == null) { pen = false; continue; }
            if (pen) ctx.lineTo(X(p[0]), Y(p[2])); else ctx.moveTo(X(p[0]), Y(p[2]));
            pen = true;
        }
        ctx.strokeStyle = '#e08a00'; ctx.lineWidth = 1.5; ctx.stroke();
        // few points: mark each, so that a lone sample shows too
        if (timeline.length <= 60) {
            for (const p of timeline) {
                ctx.fillStyle = '#2563eb';
                ctx.beginPath(); ctx.arc(X(p[0]), Y(p[1] || 0), 2.5, 0, 2 * Math.PI); ctx.fill();
                if (p[2] != null) { ctx.fillStyle = '#e08a00'; ctx.beginPath(); ctx.arc(X(p[0]), Y(p[2]), 2.5, 0, 2 * Math.PI); ctx.fill(); }
            }
        }
        // the peak
        const peak_bytes = summary.peak_heap_bytes != null ? summary.peak_heap_bytes : max;
        const px = X(peak_time), py = Y(peak_bytes);
        ctx.fillStyle = '#dc2626';
        ctx.beginPath(); ctx.arc(px, py, 4, 0, 2 * Math.PI); ctx.fill();
        ctx.strokeStyle = '#fff'; ctx.lineWidth = 1.5; ctx.stroke();
        const peak_label = 'peak ' + fmt_bytes(peak_bytes) + ' at ' + fmt_time(peak_time - tl.t0);
        ctx.font = '600 11px ' + getComputedStyle(document.body).fontFamily;
        const lw = ctx.measureText(peak_label).width;
        ctx.textBaseline = 'bottom';
        ctx.textAlign = px + 10 + lw > w - tl.right ? 'right' : 'left';
        const lx = ctx.textAlign === 'right' ? px - 10 : px + 10, ly = Math.max(tl.top + 12, py - 4);
        ctx.lineWidth = 3; ctx.strokeStyle = 'rgba(255,255,255,0.9)'; ctx.lineJoin = 'round';
        ctx.strokeText(peak_label, lx, ly);
        ctx.fillStyle = '#dc2626';
        ctx.fillText(peak_label, lx, ly);
        // the chosen moment
        const snap = snapshots[state.snapshot];
        if (snap) {
            const x = Math.round(X(snap.t)) + 0.5;
            ctx.strokeStyle = '#9333ea'; ctx.lineWidth = state.metric === 'moment' ? 2 : 1;
            ctx.setLineDash(state.metric === 'moment' ? [] : [4, 3]);
            ctx.beginPath(); ctx.moveTo(x, tl.top); ctx.lineTo(x, tl.top + ph); ctx.stroke();
            ctx.setLineDash([]);
            ctx.fillStyle = '#9333ea';
            ctx.beginPath(); ctx.moveTo(x - 5, tl.top - 1); ctx.lineTo(x + 5, tl.top - 1); ctx.lineTo(x, tl.top + 6); ctx.fill();
            if (state.metric === 'moment') {
                const live = (snap.live || []).reduce((a, p) => a + p[1], 0);
                const label = fmt_bytes(live) + ' live at ' + fmt_time(snap.t - tl.t0);
                ctx.font = '600 11px ' + getComputedStyle(document.body).fontFamily;
                const lw = ctx.measureText(label).width;
                ctx.textBaseline = 'top';
                ctx.textAlign = x + 8 + lw > w - tl.right ? 'right' : 'left';
                const lx = ctx.textAlign === 'right' ? x - 8 : x + 8;
                ctx.lineWidth = 3; ctx.strokeStyle = 'rgba(255,255,255,0.9)'; ctx.lineJoin = 'round';
                ctx.strokeText(label, lx, tl.top + 2);
                ctx.fillText(label, lx, tl.top + 2);
            }
        }
        // hover crosshair
        if (tl.hover >= 0 && timeline[tl.hover]) {
            const p = timeline[tl.hover];
            const x = Math.round(X(p[0])) + 0.5;
            ctx.strokeStyle = '#9aa3b2'; ctx.lineWidth = 1; ctx.setLineDash([2, 3]);
            ctx.beginPath(); ctx.moveTo(x, tl.top); ctx.lineTo(x, tl.top + ph); ctx.stroke();
            ctx.setLineDash([]);
            ctx.fillStyle = '#2563eb'; ctx.beginPath(); ctx.arc(x, Y(p[1] || 0), 3, 0, 2 * Math.PI); ctx.fill();
            if (p[2] != null) { ctx.fillStyle = '#e08a00'; ctx.beginPath(); ctx.arc(x, Y(p[2]), 3, 0, 2 * Math.PI); ctx.fill(); }
        }
    }
    function timeline_time(event) {
        const r = $('timeline').getBoundingClientRect();
        const pw = tl.w - tl.left - tl.right;
        const f = Math.min(1, Math.max(0, (event.clientX - r.left - tl.left) / pw));
        return tl.t0 + f * (tl.t1 - tl.t0);
    }
    function nearest_point(t) {
        let lo = 0, hi = timeline.length - 1;
        while (lo < hi) { const mid = (lo + hi) >> 1; if (timeline[mid][0] < t) lo = mid + 1; else hi = mid; }
        if (lo > 0 && t - timeline[lo - 1][0] < timeline[lo][0] - t) lo--;
        return lo;
    }
    function choose_moment(event) {
        if (!snapshots.length) return;
        const s = nearest_snapshot(timeline_time(event));
        if (s !== state.snapshot || state.metric !== 'moment') {
            state.snapshot = s;
            set_metric('moment', true);
        }
    }
    function setup_timeline() {
        const canvas = $('timeline');
        let dragging = false;
        canvas.addEventListener('mousedown', (e) => { dragging = true; choose_moment(e); e.preventDefault(); });
        window.addEventListener('mouseup', () => { dragging = false; });
        canvas.addEventListener('mousemove', (e) => {
            if (!timeline.length) return;
            if (dragging) choose_moment(e);
            const i = nearest_point(timeline_time(e));
            const p = timeline[i];
            tl.hover = i;
            draw_timeline();
            const parts = [el('div', { class: 't-name', text: fmt_time(p[0] - tl.t0) }),
                           el('div', { class: 't-val' }, 'live heap ', el('b', { text: fmt_bytes(p[1]) })),
                           el('div', { class: 't-val' }, 'resident ', el('b', { text: p[2] == null ? 'unknown' : fmt_bytes(p[2]) }))];
            const s = nearest_snapshot(p[0]);
            if (s >= 0) parts.push(el('div', { class: 't-loc', text: 'click: live frames at ' + fmt_time(snapshots[s].t - tl.t0) }));
            show_tooltip(e, parts);
        });
        canvas.addEventListener('mouseleave', () => { tl.hover = -1; hide_tooltip(); draw_timeline(); });
    }

    // ---- the histogram ----
    let histogram_mode = 'count';
    const hist = { bars: [], left: 56, hover: -1 };
    function fmt_size(n) {
        if (n >= 1073741824) return +(n / 1073741824).toFixed(1) + 'G';
        if (n >= 1048576) return +(n / 1048576).toFixed(1) + 'M';
        if (n >= 1024) return +(n / 1024).toFixed(1) + 'K';
        return String(n);
    }
    function fmt_short_count(n) {
        if (n >= 1e9) return +(n / 1e9).toFixed(2) + 'G';
        if (n >= 1e6) return +(n / 1e6).toFixed(2) + 'M';
        if (n >= 1e3) return +(n / 1e3).toFixed(1) + 'k';
        return String(n);
    }
    function draw_histogram() {
        const canvas = $('histogram');
        const { ctx, w, h } = fit_canvas(canvas);
        const buckets = Array.isArray(data.histogram) ? data.histogram : [];
        const font = getComputedStyle(document.body).fontFamily;
        ctx.font = '11px ' + font;
        hist.bars = [];
        if (!buckets.length) { ctx.fillStyle = '#687184'; ctx.fillText('No allocations.', 10, 24); return; }
        const key = histogram_mode;
        const max = Math.max(1, ...buckets.map((b) => b[key] || 0));
        const axis = key === 'bytes' ? byte_axis(max * 1.05) : { step: nice_step(max * 1.05, 4), label: fmt_short_count };
        const top = Math.ceil((max * 1.05) / axis.step) * axis.step;
        const left = hist.left, right = 6, ttop = 14, bottom = 24;
        const pw = w - left - right, ph = h - ttop - bottom;
        ctx.strokeStyle = '#eceef2'; ctx.fillStyle = '#687184'; ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
        for (let v = 0; v <= top + 1e-6; v += axis.step) {
            const y = Math.round(ttop + ph - (v / top) * ph) + 0.5;
            ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(w - right, y); ctx.stroke();
            ctx.fillText(axis.label(v), left - 6, y);
        }
        const slot = pw / buckets.length;
        const label_every = Math.max(1, Math.ceil(28 / slot));
        ctx.textAlign = 'center'; ctx.textBaseline = 'top';
        buckets.forEach((b, i) => {
            const v = b[key] || 0;
            const bh = (v / top) * ph;
            const x = left + i * slot + Math.max(1, slot * 0.12);
            const bw = Math.max(1, slot * 0.76);
            ctx.fillStyle = key === 'bytes' ? '#0d9488' : '#2563eb';
            ctx.globalAlpha = hist.hover === i ? 1 : 0.8;
            ctx.fillRect(x, ttop + ph - bh, bw, bh);
            ctx.globalAlpha = 1;
            hist.bars.push([left + i * slot, slot, i]);
            if (i % label_every === 0) { ctx.fillStyle = '#687184'; ctx.fillText(fmt_size(b.lo), x + bw / 2, ttop + ph + 6); }
        });
    }
    function setup_histogram() {
        const canvas = $('histogram');
        canvas.addEventListener('mousemove', (e) => {
            const r = canvas.getBoundingClientRect();
            const x = e.clientX - r.left;
            const bar = hist.bars.find(([bx, bw]) => x >= bx && x < bx + bw);
            const i = bar ? bar[2] : -1;
            if (i !== hist.hover) { hist.hover = i; draw_histogram(); }
            if (i < 0) { hide_tooltip(); return; }
            const b = data.histogram[i];
            const calls = data.histogram.reduce((a, x) => a + (x.count || 0), 0);
            const bytes = data.histogram.reduce((a, x) => a + (x.bytes || 0), 0);
            show_tooltip(e, [el('div', { class: 't-name', text: fmt_bytes(b.lo) + ' – ' + fmt_bytes(b.hi) }),
                             el('div', { class: 't-val' }, el('b', { text: fmt_count(b.count) }), ' calls (' + fmt_share(b.count, calls) + ')'),
                             el('div', { class: 't-val' }, el('b', { text: fmt_bytes(b.bytes) }), ' (' + fmt_share(b.bytes, bytes) + ')')]);
        });
        canvas.addEventListener('mouseleave', () => { hist.hover = -1; hide_tooltip(); draw_histogram(); });
        for (const b of $('histogram-mode').querySelectorAll('button')) {
            b.addEventListener('click', () => {
                histogram_mode = b.dataset.mode;
                for (const o of $('histogram-mode').querySelectorAll('button')) o.classList.toggle('on', o === b);
                draw_histogram();
            });
        }
    }

    // ---- the flame graph ----
    let flame_width = 0;
    const mono = '11px ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace';
    let char_width = 6.6;
    function frame_name(tree, v) {
        if (v === 0) return 'all';
        return String(frame_info(tree.frame[v]).name);
    }
    function path_to(tree, v) {
        const path = [];
        for (let u = v; u >= 0; u = tree.parent[u]) path.push(u);
        return path.reverse();
    }
    // Lays out the frames to draw: the focus's ancestors over the whole width, then the focus's
    // subtree scaled so that the focus fills the width. Returns rows of [x, w, node].
    function layout(tree, width) {
        const out = [];
        focus_path = path_to(tree, state.focus);
        focus_path.forEach((v, depth) => { out[depth] = [[0, width, v]]; });
        const base = focus_path.length - 1;
        const ftotal = tree.total[state.focus];
        if (!(ftotal > 0)) return out;
        const scale = width / ftotal;
        const stack = [[state.focus, 0, base]];
        while (stack.length) {
            const [v, x, depth] = stack.pop();
            let cx = x;
            for (let k = tree.first[v]; k < tree.first[v + 1]; k++) {
                const c = tree.kids[k];
                const cw = tree.total[c] * scale;
                if (cw < MIN_WIDTH) break;  // children are sorted: the rest are narrower still
                (out[depth + 1] || (out[depth + 1] = [])).push([cx, cw, c]);
                stack.push([c, cx, depth + 1]);
                cx += cw;
            }
        }
        return out;
    }
    function draw_flame() {
        const tree = current_tree();
        if (!(state.focus < tree.n) || !(tree.total[state.focus] > 0)) state.focus = 0;
        const canvas = $('flame');
        const width = Math.max(100, canvas.parentElement.clientWidth);
        rows = layout(tree, width);
        const height = Math.max(8, rows.length) * ROW + 4;
        const { ctx } = fit_canvas(canvas, height);
        flame_width = width;
        ctx.font = mono;
        char_width = ctx.measureText('abcdefghijklmnopqrstuvwxyz').width / 26;
        ctx.textBaseline = 'middle';
        const searching = frame_match != null;
        const base = focus_path.length - 1;
        if (!(tree.total[0] > 0)) {
            ctx.fillStyle = '#687184';
            ctx.font = '13px ' + getComputedStyle(document.body).fontFamily;
            ctx.fillText(empty_message(), 12, 40);
            return;
        }
        for (let depth = 0; depth < rows.length; depth++) {
            const y = depth * ROW;
            for (const [x, w, v] of rows[depth] || []) {
                const f = tree.frame[v];
                let fill;
                if (v === 0) fill = searching ? '#e5e7eb' : '#d3d8e0';
                else {
                    const c = frame_colour(f);
                    fill = searching ? (frame_match[f] ? '#d946ef' : c.faded) : c.normal;
                }
                if (depth < base) fill = searching && v !== 0 && frame_match[f] ? '#e9a5f5' : '#e4e7ec';
                ctx.fillStyle = fill;
                const rx = x + 0.5, rw = Math.max(w - 1, 0.5);
                ctx.fillRect(rx, y + 0.5, rw, ROW - 1);
                if (v === state.hover) {
                    ctx.strokeStyle = '#1b2130'; ctx.lineWidth = 1.5;
                    ctx.strokeRect(rx + 0.75, y + 1.25, Math.max(rw - 1.5, 0.5), ROW - 2.5);
                }
                if (w >= LABEL_MIN) {
                    let label = frame_name(tree, v);
                    if (v === 0) label = 'all: ' + fmt_value(state.metric, tree.total[0]);
                    const fits = Math.floor((w - 8) / char_width);
                    if (label.length > fits) label = fits > 2 ? label.slice(0, fits - 1) + '…' : '';
                    if (label) {
                        ctx.fillStyle = searching && v !== 0 && frame_match[f] ? '#fff' : '#1b1f29';
                        ctx.fillText(label, rx + 4, y + ROW / 2 + 0.5);
                    }
                }
            }
        }
    }
    function empty_message() {
        if (!summary.allocations && !(metrics.allocated || []).length) return 'No allocations were recorded.';
        if (state.metric === 'leaked') return 'Nothing leaked: every block was freed.';
        if (state.metric === 'moment' && !snapshots.length) return 'This report has no snapshots of the live heap.';
        return 'No data for this view.';
    }
    function flame_hit(event) {
        const r = $('flame').getBoundingClientRect();
        const x = event.clientX - r.left, y = event.clientY - r.top;
        const row = rows[Math.floor(y / ROW)];
        if (!row) return -1;
        for (const [fx, fw, v] of row) if (x >= fx && x < fx + fw) return v;
        return -1;
    }
    function update_status() {
        const tree = current_tree();
        // breadcrumb: the path from the root to the focus
        const crumbs = [];
        focus_path.forEach((v, i) => {
            if (i) crumbs.push(el('span', { class: 'sep', text: '›' }));
            const current = i === focus_path.length - 1;
            crumbs.push(el('a', { class: current ? 'current' : '', title: frame_name(tree, v),
                                  text: frame_name(tree, v), onclick: () => zoom(v) }));
        });
        $('breadcrumb').replaceChildren(...crumbs);
        $('reset').disabled = state.focus === 0;
        // total of the metric shown
        const total = tree.total[0];
        let text = fmt_value(state.metric, total) + ' ' + METRICS[state.metric].label;
        if (state.metric === 'calls') text = fmt_count(total) + ' allocation calls';
        if (state.metric === 'moment') {
            const s = snapshots[state.snapshot];
            text = fmt_bytes(total) + ' live at ' + (s ? fmt_time(s.t - (timeline.length ? timeline[0][0] : 0)) : '–');
        }
        if (state.metric === 'peak') text += ' (' + fmt_time(peak_time - (timeline.length ? timeline[0][0] : 0)) + ')';
        if (state.focus !== 0) text += ' · zoomed: ' + fmt_share(tree.total[state.focus], total);
        const t = $('total');
        t.textContent = 'Total: ' + text;
        t.dataset.value = String(total);
        // the search's share
        const m = $('match');
        if (frame_match) {
            m.textContent = match_info.count ? 'Matched: ' + fmt_share(match_info.value, total) + ' (' +
                fmt_value(state.metric, match_info.value) + ', ' + fmt_count(match_info.count) + ' frames)' : 'No frame matches';
            m.dataset.value = String(match_info.value);
            $('search').classList.toggle('found', match_info.count > 0);
        } else {
            m.textContent = '';
            delete m.dataset.value;
            $('search').classList.remove('found');
        }
    }
    function refresh_flame() {
        const tree = current_tree();
        measure_matches(tree);
        draw_flame();
        update_status();
    }
    function zoom(v) {
        state.focus = v;
        state.hover = -1;
        refresh_flame();
    }
    function set_metric(metric, keep_focus) {
        const old_tree = view;
        const old_focus = state.focus;
        state.metric = metric;
        for (const b of $('metric').querySelectorAll('button')) b.classList.toggle('on', b.dataset.metric === metric);
        // In normal mode the tree's nodes are the call paths under every metric: stay zoomed.
        const tree = current_tree();
        state.focus = keep_focus !== false && !state.inverted && old_tree && !old_tree.inverted &&
            tree.total[old_focus] > 0 ? old_focus : 0;
        refresh_flame();
        draw_timeline();
    }
    function setup_flame() {
        const canvas = $('flame');
        canvas.addEventListener('mousemove', (e) => {
            const v = flame_hit(e);
            if (v !== state.hover) { state.hover = v; draw_flame(); }
            if (v < 0) { hide_tooltip(); return; }
            const tree = current_tree();
            const fr = v === 0 ? { name: 'all', file: '', module: '' } : frame_info(tree.frame[v]);
            const parts = [el('div', { class: 't-name', text: String(fr.name) })];
            const loc = fr.file ? fr.file + (fr.line ? ':' + fr.line : '') : v === 0 ? '' : 'no source line';
            if (loc) parts.push(el('div', { class: 't-loc', text: loc }));
            if (fr.module) parts.push(el('div', { class: 't-loc', text: 'module ' + fr.module + (fr.inlined ? ' · inlined' : '') }));
            parts.push(el('div', { class: 't-val' }, el('b', { text: fmt_value(state.metric, tree.total[v]) }),
                          ' · ' + fmt_share(tree.total[v], tree.total[0]) + ' of all'));
            if (state.focus !== 0 && v !== 0) {
                parts.push(el('div', { class: 't-val', text: fmt_share(tree.total[v], tree.total[state.focus]) + ' of the zoomed frame' }));
            }
            if (!tree.inverted && tree.self[v] > 0 && v !== 0) {
                parts.push(el('div', { class: 't-val', text: 'allocated here (self): ' + fmt_value(state.metric, tree.self[v]) }));
            }
            if (v !== state.focus) parts.push(el('div', { class: 't-hint', text: 'click to zoom in' }));
            else if (v !== 0) parts.push(el('div', { class: 't-hint', text: 'click a frame above it or Reset zoom to zoom out' }));
            show_tooltip(e, parts);
        });
        canvas.addEventListener('mouseleave', () => { state.hover = -1; hide_tooltip(); draw_flame(); });
        canvas.addEventListener('click', (e) => {
            const v = flame_hit(e);
            if (v >= 0) zoom(v);
        });
        $('reset').addEventListener('click', () => zoom(0));
        document.addEventListener('keydown', (e) => {
            if (e.key === 'Escape' && document.activeElement !== $('search')) zoom(0);
        });
        for (const b of $('metric').querySelectorAll('button')) {
            b.addEventListener('click', () => set_metric(b.dataset.metric));
            if (b.dataset.metric === 'moment' && !snapshots.length) b.disabled = true;
        }
        $('inverted').addEventListener('change', (e) => {
            state.inverted = e.target.checked;
            state.focus = 0;
            refresh_flame();
        });
        let pending = 0;
        $('search').addEventListener('input', (e) => {
            state.search = e.target.value;
            cancelAnimationFrame(pending);
            pending = requestAnimationFrame(() => { update_search(); refresh_flame(); });
        });
        $('search').addEventListener('keydown', (e) => {
            if (e.key === 'Escape') { e.target.value = ''; state.search = ''; update_search(); refresh_flame(); }
        });
    }

    // ---- the tables ----
    function fill_flame_hint() {
        const libraries = new Set(frames.map((f) => f.module).filter((m) => m && m !== main_module));
        let text = $('flame-hint').textContent;
        if (main_module) text += ' Warm colours: ' + main_module + (libraries.size ? '; cool colours: libraries (' + libraries.size + ' modules).' : '.');
        $('flame-hint').textContent = text;
    }
    // A damaged trace, or events the recorder lost: the report is partial, say so above everything.
    function fill_warnings() {
        const notes = [];
        const err = data.error;
        if (err) {
            notes.push('The trace is damaged' + (err.offset != null ? ' at byte ' + fmt_count(err.offset) : '') + ': ' +
                       (err.message || err.reason || 'unknown reason') + '. This report covers the events before the damage.');
        }
        if (summary.lost_events > 0) notes.push('The recorder lost ' + fmt_count(summary.lost_events) + ' events: the totals are lower bounds.');
        if (summary.complete === false && !err) notes.push('The trace ends before the process did: the report covers what was written.');
        if (notes.length) {
            const box = $('warning');
            box.textContent = notes.join(' ');
            box.hidden = false;
        }
    }
    function fill_header() {
        $('command').textContent = data.command || '(unknown command)';
        $('command').title = data.command || '';
        const exit = String(data.exit || '');
        const meta = [el('span', null, 'pid ', el('b', { text: data.pid != null ? String(data.pid) : '–' })),
                      el('span', null, 'ran ', el('b', { text: fmt_time(data.duration_ns) })),
                      el('span', { class: /^exit 0$/.test(exit) ? '' : 'bad' }, el('b', { text: exit || 'exit unknown' }))];
        $('meta').replaceChildren(...meta);
        if (data.command) document.title = 'heapkit report: ' + data.command;
    }
    function fill_cards() {
        const s = summary;
        const card = (label, value, sub, alert) =>
            el('div', { class: 'card' + (alert ? ' alert' : '') }, el('div', { class: 'label', text: label }),
               el('div', { class: 'value', text: value }), el('div', { class: 'sub', text: sub }));
        const t0 = timeline.length ? timeline[0][0] : 0;
        $('cards').replaceChildren(
            card('Allocated', fmt_bytes(s.allocated_bytes), count_of(s.allocations, 'allocation')),
            card('Peak heap', fmt_bytes(s.peak_heap_bytes), 'at ' + fmt_time(peak_time - t0)),
            card('Peak RSS', fmt_bytes(s.peak_rss_bytes), 'resident memory'),
            card('Leaked', fmt_bytes(s.leaked_bytes), count_of(s.leaked_blocks, 'block') + ' never freed', s.leaked_bytes > 0),
            card('Temporary', fmt_count(s.temporary), fmt_share(s.temporary || 0, s.allocations) + ' of allocations'),
            card('Before main', fmt_bytes(s.before_main_bytes), count_of(s.before_main_calls, 'call')));
    }
    function fill_summary() {
        const s = summary;
        const t0 = timeline.length ? timeline[0][0] : 0;
        const rows_ = [
            ['Command', data.command || '–', 'mono'],
            ['Process', 'pid ' + (data.pid != null ? data.pid : '–') + ', ran ' + fmt_time(data.duration_ns) + ', ' + (data.exit || 'exit unknown')],
            ['Allocations', count_of(s.allocations, 'call') + ', ' + count_of(s.frees, 'free') + (s.failed ? ', ' + fmt_count(s.failed) + ' failed' : ', none failed')],
            ['Bytes allocated', fmt_bytes(s.allocated_bytes) + ' (' + fmt_count(s.allocated_bytes) + ' bytes)'],
            ['Peak heap', fmt_bytes(s.peak_heap_bytes) + ' at ' + fmt_time(peak_time - t0)],
            ['Peak RSS', fmt_bytes(s.peak_rss_bytes)],
            ['Before main', fmt_bytes(s.before_main_bytes) + ' in ' + count_of(s.before_main_calls, 'call')],
            ['Leaked', fmt_bytes(s.leaked_bytes) + ' in ' + count_of(s.leaked_blocks, 'block')],
            ['Temporary allocations', fmt_count(s.temporary) + ' (' + fmt_share(s.temporary || 0, s.allocations) + ' of allocations: freed with no allocation in between)'],
        ];
        $('summary-table').replaceChildren(...rows_.map(([k, v, cls]) =>
            el('tr', null, el('td', { text: k }), el('td', { class: cls || '', text: v }))));
    }
    function fill_calls() {
        const calls = Object.entries(summary.calls || {}).sort((a, b) => b[1] - a[1]);
        const max = Math.max(1, ...calls.map((c) => c[1]));
        const body = calls.map(([fn, n]) => el('tr', null, el('td', { class: 'mono', text: fn }),
            el('td', { class: 'num', text: fmt_count(n) }),
            el('td', { style: 'width:40%' }, el('div', { class: 'bar' }, el('span', { style: 'width:' + ((100 * n) / max).toFixed(1) + '%' })))));
        $('calls-table').replaceChildren(
            el('tr', null, el('th', { text: 'function' }), el('th', { class: 'num', text: 'calls' }), el('th')),
            ...(body.length ? body : [el('tr', null, el('td', { class: 'empty', colspan: '3', text: 'No calls recorded.' }))]));
    }
    const TOP = {
        bytes: { head: 'allocated', fmt: fmt_bytes, whole: () => summary.allocated_bytes },
        calls: { head: 'calls', fmt: fmt_count, whole: () => summary.allocations },
        peak: { head: 'live at peak', fmt: fmt_bytes, whole: () => summary.peak_heap_bytes },
        temporary: { head: 'temporary', fmt: fmt_count, whole: () => summary.temporary },
        leaks: { head: 'leaked', fmt: fmt_bytes, whole: () => summary.leaked_bytes },
    };
    function stack_list(node) {
        const items = [];
        for (let u = node; u > 0 && u < node_count; u = call_parent[u]) {
            const fr = frame_info(call_frame[u]);
            const li = el('li', null, String(fr.name), el('span', { class: 'loc', text: location(fr) }));
            if (fr.inlined) li.append(el('span', { class: 'tag', text: 'inlined' }));
            items.push(li);
        }
        return el('ol', null, ...items);
    }
    function fill_top(kind) {
        const spec = TOP[kind];
        const list = ((data.top || {})[kind] || []).slice(0, 50);
        const whole = spec.whole() || list.reduce((a, s) => a + s.value, 0);
        const max = Math.max(1, ...list.map((s) => s.value));
        const blocks = kind === 'leaks' && list.some((site) => site.blocks != null);
        const out = [el('tr', null, el('th', { text: '#' }), el('th', { text: 'site' }), el('th', { class: 'num', text: spec.head }),
                        el('th', { class: 'num', text: blocks ? 'blocks' : 'calls' }), el('th', { class: 'num', text: 'share' }), el('th'), el('th'))];
        list.forEach((site, i) => {
            const node = site.node >= 0 && site.node < node_count ? site.node : 0;
            const fr = node ? frame_info(call_frame[node]) : { name: 'all', file: '', module: '' };
            const toggle = el('span', { class: 'toggle', text: '▸' });
            const row = el('tr', { class: 'site' },
                el('td', { class: 'num', text: String(i + 1) }),
                el('td', null, el('div', { class: 'name', title: String(fr.name) }, toggle, String(fr.name)),
                   el('div', { class: 'where', text: location(fr) })),
                el('td', { class: 'num', text: spec.fmt(site.value) }),
                el('td', { class: 'num', text: fmt_count(blocks ? site.blocks : site.calls) }),
                el('td', { class: 'num', text: fmt_share(site.value, whole) }),
                el('td', { style: 'width:14%' }, el('div', { class: 'bar' }, el('span', { style: 'width:' + ((100 * site.value) / max).toFixed(1) + '%' }))),
                el('td', { class: 'num' }, node ? el('button', { type: 'button', class: 'button small', title: 'zoom the flame graph to this site',
                                                                 text: 'show', onclick: (e) => { e.stopPropagation(); show_site(kind, node); } }) : null));
            const stack = el('tr', { class: 'stack', hidden: '' }, el('td', { colspan: '7' }, stack_list(node)));
            row.addEventListener('click', () => {
                stack.hidden = !stack.hidden;
                row.classList.toggle('open', !stack.hidden);
                toggle.textContent = stack.hidden ? '▸' : '▾';
            });
            out.push(row, stack);
        });
        if (!list.length) out.push(el('tr', null, el('td', { class: 'empty', colspan: '7', text: 'No sites.' })));
        $('top-table').replaceChildren(...out);
    }
    // Zooms the flame graph (normal mode, the site's metric) to a site and scrolls to it.
    const TOP_METRIC = { bytes: 'allocated', calls: 'calls', peak: 'peak', temporary: 'calls', leaks: 'leaked' };
    function show_site(kind, node) {
        if (state.inverted) { state.inverted = false; $('inverted').checked = false; }
        set_metric(TOP_METRIC[kind], false);
        if (view.total[node] > 0) zoom(node);
        $('flame-panel').scrollIntoView({ block: 'start' });
    }
    function setup_top() {
        for (const b of $('top-mode').querySelectorAll('button')) {
            b.addEventListener('click', () => {
                for (const o of $('top-mode').querySelectorAll('button')) o.classList.toggle('on', o === b);
                fill_top(b.dataset.top);
            });
        }
    }

    // ---- start ----
    function draw_all() { draw_timeline(); draw_histogram(); refresh_flame(); }
    fill_header();
    fill_warnings();
    fill_flame_hint();
    fill_cards();
    fill_summary();
    fill_calls();
    fill_top('bytes');
    setup_timeline();
    setup_histogram();
    setup_flame();
    setup_top();
    $('search').value = '';
    $('inverted').checked = false;
    draw_all();
    let resize_pending = 0;
    window.addEventListener('resize', () => {
        cancelAnimationFrame(resize_pending);
        resize_pending = requestAnimationFrame(draw_all);
    });

    window.heapkit_report = {
        state: () => {
            const tree = current_tree();
            return { metric: state.metric, inverted: state.inverted, focus: state.focus,
                     focus_name: frame_name(tree, state.focus), total: tree.total[0],
                     focus_total: tree.total[state.focus], snapshot: state.snapshot,
                     snapshot_t: snapshots[state.snapshot] ? snapshots[state.snapshot].t : null,
                     search: applied_search, match_value: match_info.value, match_count: match_info.count,
                     view_nodes: tree.n };
        },
        // the drawn frames: {row, x, w, node, name} in CSS pixels of the flame canvas
        layout: () => {
            const tree = current_tree();
            const out = [];
            rows.forEach((row, depth) => (row || []).forEach(([x, w, v]) =>
                out.push({ row: depth, x, w, node: v, name: frame_name(tree, v) })));
            return { width: flame_width, row_height: ROW, frames: out };
        },
        // where the plot of the timeline is in its canvas, and the times at its edges
        timeline_geometry: () => ({ left: tl.left, right: tl.w - tl.right, t0: tl.t0, t1: tl.t1 }),
        ready: true,
    };
})();
