// Times the web app's networks on a FLAIR + T1 pair in headless Chromium, through the
// same file pickers a user clicks, and prints the app's own stage timings: the CPU path
// (WebAssembly, no WebGPU) by default, the WebGPU path (on SwiftShader here) with
// --webgpu. A benchmark, not a test; build the app first (scripts/build-web.sh).
//
// Usage: node scripts/bench-web.mjs [--webgpu] FLAIR T1 [REPEATS] [SYMMETRIES]
// (SYMMETRIES: 1, 2 or 8, the app's "symmetries" choice; default 1)
import path from "node:path";
import { CPU_PATH, WEBGPU_PATH, launchChromium, serveDist } from "../tests/e2e/serve.mjs";

const args = process.argv.slice(2);
const webgpu = args[0] === "--webgpu";
const [flair, t1, repeatsArg, symmetries] = webgpu ? args.slice(1) : args;
if (!flair || !t1) {
  console.error("usage: node scripts/bench-web.mjs [--webgpu] FLAIR T1 [REPEATS] [SYMMETRIES]");
  process.exit(2);
}
const repeats = Number(repeatsArg || 1);
const { server, origin } = await serveDist();
const { browser } = await launchChromium(webgpu ? WEBGPU_PATH : CPU_PATH);
try {
  const page = browser.pages()[0] || (await browser.newPage());
  await page.goto(`${origin}/${webgpu ? "?backend=webgpu" : ""}`);
  await page.waitForFunction(() => document.querySelector("[data-testid=status]")?.textContent.startsWith("Ready"), null, { timeout: 300_000 });
  console.log(`backend: ${await page.textContent("[data-testid=backend]")}`);
  await page.setInputFiles("[data-testid=flair-input]", path.resolve(flair));
  await page.setInputFiles("[data-testid=t1-input]", path.resolve(t1));
  await page.waitForFunction((n) => document.querySelector("[data-testid=t1-name]")?.textContent.includes(n), path.basename(t1));
  await page.selectOption("[data-testid=symmetries]", symmetries || "1");
  console.log(`symmetries: ${symmetries || "1"}`);
  for (let i = 0; i < repeats; i++) {
    const before = await page.$eval("[data-testid=timings]", (e) => e.textContent).catch(() => "");
    const t0 = Date.now();
    await page.click("[data-testid=run]");
    await page.waitForFunction((b) => {
      const run = document.querySelector("[data-testid=run]");
      const t = document.querySelector("[data-testid=timings]");
      return run && !run.disabled && t && t.textContent !== b;
    }, before, { timeout: 600_000 });
    const timings = await page.textContent("[data-testid=timings]");
    console.log(`run ${i + 1}: ${timings.trim()} | ${((Date.now() - t0) / 1000).toFixed(1)} s wall`);
  }
} finally {
  await browser.close();
  server.close();
}
