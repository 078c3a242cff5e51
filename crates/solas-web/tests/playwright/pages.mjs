// Loads pages in Debian's Chromium (through playwright-core, which downloads no browser)
// at the widths asked, and reports what a person would see: whether the page scrolls
// sideways, the elements that stick out, how many elements match each selector, and a
// full-page screenshot per width. Driven by tests/web/browser.rs: a job as JSON on stdin,
// the findings as JSON on stdout.
//
// Job: { chromium, base, cookie?: {name, value}, shots,
//        pages: [{ name, path, widths: [1400, 400], count?: {label: css},
//                  click?: css or [css, …] (in turn), text?: {label: css} }] }
import { chromium } from "playwright-core";

const job = JSON.parse(await new Promise((ok) => {
  let s = "";
  process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => ok(s));
}));

const browser = await chromium.launch({
  executablePath: job.chromium,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
  ],
});
const found = [];
try {
  for (const p of job.pages) {
    for (const width of p.widths) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      if (job.cookie) {
        await context.addCookies([{ ...job.cookie, url: job.base }]);
      }
      // Nothing beyond the server under test: the pages must work offline.
      await context.route((url) => !url.href.startsWith(job.base), (r) => r.abort());
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      const response = await page.goto(job.base + p.path, { waitUntil: "load" });
      for (const selector of [].concat(p.click || [])) {
        await page.click(selector);
      }
      await page.waitForTimeout(150);
      const seen = await page.evaluate(({ count, text }) => {
        const doc = document.documentElement;
        const vw = doc.clientWidth;
        // Elements whose right edge passes the viewport, outermost first, for the message.
        const sticking = [];
        for (const el of document.body.querySelectorAll("*")) {
          const r = el.getBoundingClientRect();
          if (r.right > vw + 1 && sticking.length < 8) {
            let inScroller = false;
            for (let a = el.parentElement; a; a = a.parentElement) {
              const o = getComputedStyle(a).overflowX;
              if (o === "auto" || o === "scroll" || o === "hidden") { inScroller = true; break; }
            }
            if (!inScroller) {
              sticking.push(`${el.tagName.toLowerCase()}${el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\s+/g, ".") : ""} right=${Math.round(r.right)}`);
            }
          }
        }
        const counts = {};
        for (const [label, css] of Object.entries(count || {})) {
          counts[label] = document.querySelectorAll(css).length;
        }
        const texts = {};
        for (const [label, css] of Object.entries(text || {})) {
          texts[label] = [...document.querySelectorAll(css)].map((e) => e.textContent.trim());
        }
        return { scrollWidth: doc.scrollWidth, clientWidth: vw, sticking, counts, texts, title: document.title };
      }, { count: p.count, text: p.text });
      await page.screenshot({ path: `${job.shots}/${p.name}-${width}.png`, fullPage: true });
      found.push({ name: p.name, width, status: response ? response.status() : 0, errors, ...seen });
      await context.close();
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(found));
