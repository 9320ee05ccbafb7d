// report_page.mjs: opens a page written by write_html_report in Debian's chromium (headless,
// through playwright-core, with a fresh profile and every background service off) and checks it
// the way a user would use it, with real mouse clicks and typing.
//
//   node report_page.mjs PAGE.html DATA.json MODE OUT_DIR CHROMIUM
//
// MODE full: every check (the fixture of make_fixture.mjs, whose tricky frame names are known);
//      empty: a program that allocated nothing: the page says so, draws its frames and fails nowhere;
//      large: the page loads, draws, zooms, searches and inverts a 50,000-node tree;
//      generic: the checks that hold for any document (a report written by heapkit report).
// Each failed check prints a line; the exit status is 1 if any failed. Screenshots go to OUT_DIR.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [page_path, data_path, mode, out_dir, chromium_path] = process.argv.slice(2);
const data = JSON.parse(readFileSync(data_path, 'utf8'));
const html = readFileSync(page_path, 'utf8');
const name = basename(page_path, '.html');
const failures = [];
let checks = 0;
function check(ok, what, detail = '') {
    checks++;
    if (!ok) {
        failures.push(what);
        console.log(`FAIL ${what}${detail ? ': ' + detail : ''}`);
    } else {
        console.log(`ok   ${what}`);
    }
}
const sum = (pairs) => (pairs || []).reduce((a, p) => a + p[1], 0);
const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

// ---- the file itself ----
check(!html.includes('@heapkit:') && !html.includes('/*@heapkit'), 'every marker of the page template is replaced');
check((html.match(/<\/script/gi) || []).length === 2, 'the data cannot close its script element: two </script> in the file, the page\'s own');
check(!/<(link|img|iframe)\b[^>]*\b(href|src)\s*=\s*["']?(https?:)?\/\//i.test(html) && !/<script[^>]+src=/i.test(html),
      'the file refers to nothing outside itself');

const profile = mkdtempSync(join(tmpdir(), 'heapkit-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromium_path,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', '--disable-default-apps', '--disable-extensions'],
});
const errors = [];
const requests = [];
const failed_requests = [];
const page_url = pathToFileURL(page_path).href;
try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(30000);
    // errors and warnings, except the hint chromium gives about this test's own pixel reads
    page.on('console', (m) => {
        if ((m.type() === 'error' || m.type() === 'warning') && !m.text().includes('willReadFrequently')) {
            errors.push(`console ${m.type()}: ${m.text()}`);
        }
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('request', (r) => { if (r.url() !== page_url) requests.push(r.url()); });
    page.on('requestfailed', (r) => failed_requests.push(`${r.url()} (${r.failure() && r.failure().errorText})`));
    await page.goto(page_url);
    await page.waitForFunction(() => window.heapkit_report && window.heapkit_report.ready === true);
    const state = () => page.evaluate(() => window.heapkit_report.state());
    const layout = () => page.evaluate(() => window.heapkit_report.layout());

    // pixels drawn on a canvas: how many are not blank, how many distinct colours, how many of `rgb`
    async function pixels(id, rgb) {
        return page.evaluate(([id, rgb]) => {
            const c = document.getElementById(id);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let drawn = 0, match = 0;
            const colours = new Set();
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] > 0) { drawn++; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
                if (rgb && Math.abs(d[i] - rgb[0]) < 6 && Math.abs(d[i + 1] - rgb[1]) < 6 && Math.abs(d[i + 2] - rgb[2]) < 6) match++;
            }
            return { drawn, colours: colours.size, match, area: c.width * c.height, css_height: c.clientHeight };
        }, [id, rgb || null]);
    }
    // the viewport point over a drawn frame, after scrolling the flame graph to the top of the window
    async function frame_point(frame) {
        await page.evaluate(() => document.getElementById('flame').scrollIntoView({ block: 'start' }));
        const box = await page.locator('#flame').boundingBox();
        return { x: box.x + frame.x + Math.min(frame.w / 2, 40), y: box.y + frame.row * 18 + 9 };
    }
    async function click_frame(frame) {
        const p = await frame_point(frame);
        await page.mouse.click(p.x, p.y);
    }

    if (mode === 'empty') await check_empty(page);
    else await check_all();

    async function check_all() {
        // ---- it loaded, drew and asked for nothing ----
        for (const id of ['flame', 'timeline', 'histogram']) {
            const p = await pixels(id);
            check(p.drawn > p.area * 0.03 && p.colours > 8, `the ${id} canvas has drawn content`,
                  `${p.drawn} of ${p.area} pixels, ${p.colours} colours`);
        }
        // compared by a hash of its JSON text: sending a large document back through the driver is slow
        const embedded_hash = await page.evaluate(`(${fnv1a.toString()})(JSON.stringify(JSON.parse(document.getElementById('heapkit-data').textContent)))`);
        check(embedded_hash === fnv1a(JSON.stringify(data)), 'the embedded document is the data document, character for character after parsing');
        const s0 = await state();
        check(s0.metric === 'allocated' && close(s0.total, sum(data.metrics.allocated)),
              'the flame graph starts with all allocations and its total is the sum of metrics.allocated', `${s0.total}`);
        const total_text = await page.locator('#total').textContent();
        check(/Total: .*allocated/.test(total_text), 'the total is shown', total_text);
        check(s0.view_nodes === data.nodes.length, 'the normal view has one node per call path', `${s0.view_nodes}`);

        // ---- tables ----
        const cards = await page.locator('#cards .card').count();
        check(cards === 6, 'six summary cards', `${cards}`);
        const summary_text = await page.locator('#summary-table').textContent();
        check(summary_text.includes(data.command), 'the summary names the command');
        for (const label of ['Peak heap', 'Peak RSS', 'Before main', 'Leaked', 'Temporary allocations', 'Bytes allocated']) {
            check(summary_text.includes(label), `the summary has a row "${label}"`);
        }
        const call_rows = await page.locator('#calls-table tr').count();
        check(call_rows === Object.keys(data.summary.calls).length + 1, 'one row per function in calls per function', `${call_rows}`);
        const top_kinds = ['bytes', 'calls', 'peak', 'temporary', 'leaks'];
        for (const kind of top_kinds) {
            await page.locator(`#top-mode button[data-top="${kind}"]`).click();
            const n = await page.locator('#top-table tr.site').count();
            check(n === Math.min(50, (data.top[kind] || []).length), `top sites by ${kind}: one row per site`, `${n}`);
        }
        await page.locator('#top-mode button[data-top="bytes"]').click();
        if (data.top.bytes.length) {
            await page.locator('#top-table tr.site').first().click();
            const stack = page.locator('#top-table tr.stack').first();
            let depth = 0;
            for (let u = data.top.bytes[0].node; u > 0; u = data.nodes[u][0]) depth++;
            const items = await stack.locator('li').count();
            check(await stack.isVisible() && items === depth, 'clicking a top site expands its stack, one line per frame', `${items} of ${depth}`);
            const first_frame = data.frames[data.nodes[data.top.bytes[0].node][1]].name;
            check((await stack.locator('li').first().textContent()).includes(first_frame), 'the stack starts at the allocating frame');
            await page.locator('#top-table tr.site button').first().click();
            const shown = await state();
            check(shown.focus === data.top.bytes[0].node && shown.metric === 'allocated',
                  'a top site\'s "show" button zooms the flame graph to it', `${shown.focus_name}`);
            await page.locator('#reset').click();
        }

        // ---- zoom ----
        let lay = await layout();
        const width = lay.width;
        // the widest frame below the first two rows that leaves room beside it (else, in a real
        // program's tree that is one path at the top, the widest frame there)
        const narrow = (f) => (f.w < width * 0.8 ? 0 : 1);
        const candidates = lay.frames.filter((f) => f.row >= 2 && f.w > 60 && (mode === 'generic' || narrow(f) === 0))
            .sort((a, b) => narrow(a) - narrow(b) || b.w - a.w);
        check(candidates.length > 0, 'the flame graph shows frames to zoom into');
        if (candidates.length) {
            const target = candidates[0];
            await page.mouse.move(0, 0);
            const hover = await frame_point(target);
            await page.mouse.move(hover.x, hover.y);
            const tip = await page.locator('#tooltip').textContent();
            check(await page.locator('#tooltip').isVisible() && tip.includes(target.name) && tip.includes('% of all'),
                  'hovering a frame shows its name, value and share in a tooltip', tip.slice(0, 120));
            await click_frame(target);
            const s = await state();
            lay = await layout();
            const zoomed = lay.frames.find((f) => f.node === target.node);
            check(s.focus === target.node, 'clicking a frame zooms into it', `${s.focus_name}`);
            check(zoomed && zoomed.x === 0 && Math.abs(zoomed.w - width) < 0.5, 'the zoomed frame fills the width');
            const crumb = await page.locator('#breadcrumb a.current').textContent();
            check(crumb === target.name, 'the breadcrumb ends at the zoomed frame', crumb);
            const below = lay.frames.filter((f) => f.row === target.row + 1);
            check((below.length > 0 || mode === 'generic') && below.every((f) => f.x >= 0 && f.x + f.w <= width + 0.5),
                  'the zoomed frame\'s children are laid out under it');
            await page.locator('#breadcrumb a').first().click();
            check((await state()).focus === 0, 'clicking the root in the breadcrumb zooms out');
            await click_frame(target);
            check(await page.locator('#reset').isEnabled(), 'the reset button is enabled while zoomed');
            await page.locator('#reset').click();
            check((await state()).focus === 0 && await page.locator('#reset').isDisabled(), 'the reset button zooms out');
        }

        // ---- search ----
        const term = mode === 'generic' ? String(data.frames[data.nodes[data.top.bytes[0].node][1]].name).slice(0, 6) : 'vector';
        await page.locator('#search').fill(term);
        await page.waitForFunction((t) => window.heapkit_report.state().search === t && window.heapkit_report.state().match_count > 0, term);
        const ss = await state();
        const expected_share = expected_match(data, term, 'allocated');
        check(close(ss.match_value, expected_share), 'the search measures the share of matching frames (each path once)',
              `${ss.match_value} vs ${expected_share}`);
        const match_text = await page.locator('#match').textContent();
        check(/Matched: [0-9.]+%/.test(match_text), 'the matched share is shown', match_text);
        const magenta = await pixels('flame', [0xd9, 0x46, 0xef]);
        check(magenta.match > 100, 'matching frames are highlighted', `${magenta.match} highlighted pixels`);
        await page.locator('#search').fill('');
        // the page applies the search at the next animation frame
        const cleared = await page.waitForFunction(() => document.getElementById('match').textContent === '' &&
                                                         window.heapkit_report.state().search === '', null, { timeout: 10000 })
            .then(() => true, () => false);
        const plain = await pixels('flame', [0xd9, 0x46, 0xef]);
        check(cleared && plain.match === 0, 'clearing the search clears the highlight', `${plain.match} highlighted pixels`);

        // ---- metrics ----
        const expected_totals = { calls: sum(data.metrics.calls), peak: sum(data.metrics.peak), leaked: sum(data.metrics.leaked),
                                  allocated: sum(data.metrics.allocated) };
        for (const metric of ['calls', 'peak', 'leaked', 'allocated']) {
            const before = await page.locator('#total').textContent();
            await page.locator(`#metric button[data-metric="${metric}"]`).click();
            const s = await state();
            const after = await page.locator('#total').textContent();
            check(s.metric === metric && close(s.total, expected_totals[metric]), `metric ${metric}: the total is the sum of its values`,
                  `${s.total} vs ${expected_totals[metric]}`);
            check(after !== before, `metric ${metric}: the total shown changes`, after);
        }

        // ---- the timeline picks a snapshot ----
        if (data.snapshots && data.snapshots.length) {
            const g = await page.evaluate(() => window.heapkit_report.timeline_geometry());
            await page.evaluate(() => window.scrollTo(0, 0));
            const tbox = await page.locator('#timeline').boundingBox();
            const at = (f) => ({ x: tbox.x + g.left + f * (g.right - g.left), y: tbox.y + tbox.height / 2 });
            const nearest = (f) => {
                const t = g.t0 + f * (g.t1 - g.t0);
                let best = 0;
                data.snapshots.forEach((s, i) => { if (Math.abs(s.t - t) < Math.abs(data.snapshots[best].t - t)) best = i; });
                return best;
            };
            const p = at(0.3);
            await page.mouse.click(p.x, p.y);
            let s = await state();
            const want = nearest(0.3);
            check(s.metric === 'moment' && s.snapshot === want, 'clicking the timeline selects the nearest snapshot', `${s.snapshot} vs ${want}`);
            check(close(s.total, sum(data.snapshots[want].live)), 'the flame graph then shows what was live at that moment',
                  `${s.total} vs ${sum(data.snapshots[want].live)}`);
            check((await page.locator('#total').textContent()).includes('live at'), 'the total names the moment');
            const q = at(0.75);
            await page.mouse.move(p.x, p.y);
            await page.mouse.down();
            await page.mouse.move((p.x + q.x) / 2, q.y, { steps: 4 });
            await page.mouse.move(q.x, q.y, { steps: 4 });
            await page.mouse.up();
            s = await state();
            check(s.snapshot === nearest(0.75), 'dragging on the timeline moves the moment', `${s.snapshot} vs ${nearest(0.75)}`);
            await page.locator('#search').fill('json');
            await page.waitForFunction(() => window.heapkit_report.state().search === 'json');
            await page.screenshot({ path: join(out_dir, `${name}_moment.png`) });
            await page.locator('#search').fill('');
            await page.waitForFunction(() => window.heapkit_report.state().search === '');
            const moment_pixels = await pixels('timeline', [0x93, 0x33, 0xea]);
            check(moment_pixels.match > 50, 'the timeline marks the chosen moment', `${moment_pixels.match}`);
            const peak_pixels = await pixels('timeline', [0xdc, 0x26, 0x26]);
            check(peak_pixels.match > 10, 'the timeline marks the peak', `${peak_pixels.match}`);
            await page.locator('#metric button[data-metric="allocated"]').click();
        }

        // ---- inverted ----
        await page.locator('#inverted').check();
        let si = await state();
        lay = await layout();
        const self = new Map();
        for (const [n, v] of data.metrics.allocated) if (v > 0) self.set(n, v);
        const allocating = new Set([...self.keys()].map((n) => data.frames[data.nodes[n][1]].name));
        const first_row = lay.frames.filter((f) => f.row === 1);
        check(si.inverted && close(si.total, sum(data.metrics.allocated)), 'inverted: the same total');
        check(first_row.length > 0 && first_row.every((f) => allocating.has(f.name)),
              'inverted: the first row holds the allocating functions', first_row.slice(0, 3).map((f) => f.name).join(', '));
        const inv_target = lay.frames.filter((f) => f.row === 2 && f.w > 40 && f.w < width * 0.9).sort((a, b) => b.w - a.w)[0];
        if (inv_target) {
            await click_frame(inv_target);
            si = await state();
            check(si.focus === inv_target.node && si.focus_name === inv_target.name, 'inverted: clicking a caller zooms into it');
        }
        const inv_pixels = await pixels('flame');
        check(inv_pixels.drawn > inv_pixels.area * 0.01, 'inverted: the flame graph has drawn content');

        await page.screenshot({ path: join(out_dir, `${name}_inverted.png`) });
        await page.locator('#inverted').uncheck();
        check((await state()).focus === 0, 'leaving inverted mode shows the whole graph');
        await page.mouse.move(0, 0);

        if (mode === 'full') {
            const names = await page.evaluate(() => JSON.parse(document.getElementById('heapkit-data').textContent).frames.map((f) => f.name));
            check(names.includes('templ<a</script><!-- b>::tricky') && names.includes('util::naïve_λ_grow'),
                  'frame names with </script>, <!-- and non-ASCII text arrive intact');
        }
        if (mode === 'large') {
            lay = await layout();
            check(lay.frames.length < data.nodes.length, 'the large tree is culled when drawn', `${lay.frames.length} frames drawn of ${data.nodes.length}`);
        }

        // ---- screenshots: the first screen, as a user opens it, and the whole page ----
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: join(out_dir, `${name}.png`) });
        await page.screenshot({ path: join(out_dir, `${name}_full.png`), fullPage: true });
    }
} catch (e) {
    failures.push(String(e));
    console.log(`FAIL ${e.stack || e}`);
} finally {
    check(errors.length === 0, 'no console errors or page errors', errors.join(' | '));
    check(requests.length === 0, 'no requests besides the page itself', requests.join(' '));
    check(failed_requests.length === 0, 'no failed requests', failed_requests.join(' '));
    await context.close();
    rmSync(profile, { recursive: true, force: true });
}
console.log(`${name}: ${checks - failures.length} of ${checks} checks passed`);
process.exit(failures.length ? 1 : 0);

// FNV-1a over the UTF-16 code units of a string; also run in the page (passed as its source text).
function fnv1a(text) {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
    return h;
}

// A document with no allocations: every part of the page says there is nothing, and the controls
// work without failing.
async function check_empty(page) {
    const s = await page.evaluate(() => window.heapkit_report.state());
    check(s.total === 0 && s.view_nodes === 1, 'empty: the flame graph has nothing but its root');
    check(await page.locator('#error').isHidden(), 'empty: the page does not report an error');
    for (const metric of ['calls', 'peak', 'leaked', 'allocated']) await page.locator(`#metric button[data-metric="${metric}"]`).click();
    check(await page.locator('#metric button[data-metric="moment"]').isDisabled(), 'empty: without snapshots, "live at moment" is disabled');
    await page.locator('#inverted').check();
    await page.locator('#search').fill('main');
    await page.locator('#flame').click();
    await page.locator('#timeline').click();
    await page.locator('#histogram').hover();
    check((await page.locator('#top-table').textContent()).includes('No sites'), 'empty: the top sites say there are none');
    await page.screenshot({ path: join(out_dir, `${name}_full.png`), fullPage: true });
}

// The expected matched value: the metric summed over the topmost call-tree nodes whose frame name
// contains `term` (case-insensitive), computed here independently of the page.
function expected_match(data, term, metric) {
    const n = data.nodes.length;
    const total = new Float64Array(n);
    for (const [v, x] of data.metrics[metric]) total[v] += x;
    for (let i = n - 1; i > 0; i--) total[data.nodes[i][0]] += total[i];
    const t = term.toLowerCase();
    const covered = new Uint8Array(n);
    let value = 0;
    for (let v = 1; v < n; v++) {
        const m = String(data.frames[data.nodes[v][1]].name).toLowerCase().includes(t);
        if (covered[data.nodes[v][0]]) covered[v] = 1;
        else if (m && total[v] > 0) { covered[v] = 1; value += total[v]; }
    }
    return value;
}
