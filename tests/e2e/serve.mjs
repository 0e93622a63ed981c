// Shared by the browser test and the browser benchmark: a static server for dist/ on
// 127.0.0.1 and a headless Chromium with its own throwaway profile.
import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css", ".json": "application/json" };

/** Serves `root` (default dist/) on a free local port; resolves to { server, origin }. */
export async function serveDist(root = path.resolve("dist")) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    let file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
    if (!fs.existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** Headless Chromium (CHROMIUM or /usr/bin/chromium) with a fresh profile; resolves to { browser, profile }. */
export async function launchChromium(extraArgs) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "wmh-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    acceptDownloads: true,
    args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", ...extraArgs],
  });
  return { browser, profile };
}

/** Chromium flags of the CPU path: no WebGPU, the viewer on WebGL2 over SwiftShader. */
export const CPU_PATH = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"];
/** Chromium flags of the WebGPU path on SwiftShader; --use-vulkan=swiftshader lets a
 * WebGPU canvas present in headless mode (without it the compute works but the canvas
 * stays blank). The page also needs `?backend=webgpu`. */
export const WEBGPU_PATH = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-angle=swiftshader", "--use-vulkan=swiftshader"];
