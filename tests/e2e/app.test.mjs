// End-to-end test of the built web app (dist/) in a real headless Chromium.
//
// For each compute path (CPU without WebGPU; WebGPU on SwiftShader with
// --enable-unsafe-webgpu) it: runs the built-in example (on WebGPU a slab of its slices
// through the file pickers, see `slab` below); checks the layout at 1280x720
// and 1920x1080 (screenshots of both), zoom and window/level by dragging, the burden by
// region against the CLI's, the report, the lesion table's sorting and row clicks;
// runs a real case with dozens of lesions from ../shared/data when present (CPU path):
// the page at 1400x900 stays within 1.2 window heights with the lesion table
// scrolling inside its panel, and the summary says what the filter did (brain and
// region mL) as the CLI's --json does; checks that the downloaded mask equals the CLI's on
// the same inputs (Dice >= 0.999), also after the threshold or the minimum lesion
// size is moved, and (CPU path) with the networks averaged over the slice and its
// mirror image; feeds a bad file and hostile ones (1 GiB, too many voxels, absurd voxel
// sizes, truncated) and checks each error and that the app keeps working; runs the
// example's FLAIR alone (CPU path), filtered by the brain found in it, against the CLI's
// mask; and checks that not one request left the page's origin.
//
// Env: WMH_CLI_EXAMPLE_MASK, WMH_CLI_EXAMPLE_MASK_LOW (at --threshold 0.5),
// WMH_CLI_EXAMPLE_MASK_MIN (at --min-lesion-mm3 600: the example's smaller lesions),
// WMH_CLI_EXAMPLE_MASK_SYM2 (at --symmetries 2),
// WMH_CLI_REAL_MASK (masks made by `wmh segment`), WMH_CLI_EXAMPLE_JSON and
// WMH_CLI_REAL_JSON (its --json summaries), WMH_E2E_REAL_ON_WEBGPU=1 (the real case and
// the FLAIR-only run on the WebGPU path too: about 11 minutes on SwiftShader),
// WMH_EXAMPLE_FLAIR and WMH_CLI_FLAIR_ONLY_MASK / _JSON (the example's FLAIR and the
// CLI's FLAIR-only result), WMH_REAL_CASE (a case folder),
// WMH_SCREENSHOT_DIR (where screenshots go), WMH_BIN (the CLI, which segments the slab).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

import { CPU_PATH, WEBGPU_PATH, launchChromium, serveDist } from "./serve.mjs";

// A minimum lesion size (mm³) between the built-in example's smaller lesions (0.24-0.56
// mL with the shipped networks) and its larger ones (0.83-1.15 mL); in the WebGPU
// path's slab of it, 0.27-0.43 and 0.81-1.56 mL.
const MIN_MM3 = 600;

const { server, origin } = await serveDist();

// A NIfTI-1 file's bytes, gunzipped where it is gzipped.
function niftiBytes(file) {
  const bytes = fs.readFileSync(file);
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? zlib.gunzipSync(bytes) : bytes;
}
function voxels(file) {
  const bytes = niftiBytes(file);
  return bytes.subarray(bytes.readFloatLE(108));
}
// A little-endian float32 NIfTI-1 header (vox_offset 352) for `dims`, voxels of `mm`.
function niftiHeader(dims, mm = 1) {
  const h = Buffer.alloc(352);
  h.writeInt32LE(348, 0);
  h.writeInt16LE(3, 40);
  dims.forEach((d, i) => h.writeUInt16LE(d, 42 + 2 * i));
  h.writeInt16LE(1, 48); h.writeInt16LE(1, 50); h.writeInt16LE(1, 52); h.writeInt16LE(1, 54);
  h.writeInt16LE(16, 70); // float32
  h.writeInt16LE(32, 72);
  [1, mm, mm, mm].forEach((p, i) => h.writeFloatLE(p, 76 + 4 * i));
  h.writeFloatLE(352, 108);
  h.writeFloatLE(1, 112); // scl_slope
  h.write("n+1\0", 344, "latin1");
  return h;
}
function dice(a, b) {
  if (a.length !== b.length) throw new Error(`mask sizes differ: ${a.length} vs ${b.length}`);
  let inter = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { const x = a[i] > 0, y = b[i] > 0; inter += x && y; na += x; nb += y; }
  return na + nb === 0 ? 1 : (2 * inter) / (na + nb);
}
// Slices k0..k1 (exclusive) of a NIfTI-1 volume, on the same grid: dim[3] shrinks and
// both affines' origins move to slice k0.
function cropSlices(src, dst, k0, k1) {
  const bytes = niftiBytes(src);
  const h = Buffer.from(bytes.subarray(0, bytes.readFloatLE(108)));
  const [nx, ny] = [h.readInt16LE(42), h.readInt16LE(44)];
  const plane = nx * ny * (h.readInt16LE(72) / 8);
  h.writeInt16LE(k1 - k0, 46);
  for (let row = 0; row < 3; row++) {
    const at = 280 + 16 * row;
    h.writeFloatLE(h.readFloatLE(at + 12) + k0 * h.readFloatLE(at + 8), at + 12);
  }
  if (h.readInt16LE(252) > 0) {
    // The qform's offset moves by k0 slices along its third column: pixdim[3] times
    // the quaternion's rotated z axis, flipped by qfac.
    const [b, c, d] = [h.readFloatLE(256), h.readFloatLE(260), h.readFloatLE(264)];
    const a = Math.sqrt(Math.max(0, 1 - b * b - c * c - d * d));
    const qfac = h.readFloatLE(76) < 0 ? -1 : 1;
    const dz = k0 * h.readFloatLE(88) * qfac;
    const col = [2 * (b * d + a * c), 2 * (c * d - a * b), a * a + d * d - b * b - c * c];
    col.forEach((v, i) => h.writeFloatLE(h.readFloatLE(268 + 4 * i) + dz * v, 268 + 4 * i));
  }
  const start = h.length + k0 * plane;
  fs.writeFileSync(dst, zlib.gzipSync(Buffer.concat([h, bytes.subarray(start, start + (k1 - k0) * plane)])));
}

// Counts what the viewer's canvas shows on screen (a real screenshot, decoded in the
// page without any network): red WMH overlay, yellow WM contour and grey image pixels.
async function viewerPixels(page) {
  const png = await page.locator("[data-testid=viewer-canvas]").screenshot();
  return page.evaluate(async (b64) => {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    const ctx = new OffscreenCanvas(bmp.width, bmp.height).getContext("2d");
    ctx.drawImage(bmp, 0, 0);
    const d = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    let red = 0, yellow = 0, grey = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (r - g > 80 && Math.abs(g - b) < 12) red++;
      else if (r > 200 && g > 160 && b < 60) yellow++;
      else if (Math.abs(r - g) < 3 && Math.abs(g - b) < 3 && r > 15 && r < 240) grey++;
    }
    return { red, yellow, grey, width: bmp.width, height: bmp.height };
  }, png.toString("base64"));
}
async function setControl(page, id, value) {
  await page.$eval(`[data-testid=${id}]`, (el, v) => {
    if (el.type === "checkbox") { el.checked = v; el.dispatchEvent(new Event("change", { bubbles: true })); }
    else {
      // As a drag does: "input" while moving, "change" on release.
      el.value = String(v);
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }, value);
  await page.waitForTimeout(300);
}

// The burden by region as the page shows it, and as the CLI's --json gives it (mL to
// two decimals, "not placed" where a region could not be placed).
const shownBurden = (page) => page.$$eval("[data-testid=burden] tr[data-zone]", (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.zone, tr.cells[1].textContent])));
const cliBurden = (file) => {
  const b = JSON.parse(fs.readFileSync(file, "utf8")).burden;
  return Object.fromEntries(["periventricular", "deep", "juxtacortical", "infratentorial"].map((z) => [z, b[`${z}_ml`] == null ? "not placed" : b[`${z}_ml`].toFixed(2)]));
};

const failures = [];
const check = (ok, what) => { console.log(`${ok ? "ok  " : "FAIL"} ${what}`); if (!ok) failures.push(what); };
const shots = process.env.WMH_SCREENSHOT_DIR || "target/screenshots";
fs.mkdirSync(shots, { recursive: true });

// `example` is what the scenario segments first and holds to the CLI: the built-in one
// (files null) or FLAIR and T1 files, with the CLI's --json and masks (plain, at
// --threshold 0.5, at --min-lesion-mm3 600) for each.
async function scenario(name, extraArgs, query, expectBackend, expectViewer, symmetries, withLongRuns, example) {
  const { browser, profile } = await launchChromium(extraArgs);
  const page = browser.pages()[0] || (await browser.newPage());
  const foreign = [];
  page.on("request", (r) => { const u = r.url(); if (!u.startsWith(origin) && !u.startsWith("blob:") && !u.startsWith("data:")) foreign.push(u); });
  page.on("console", (m) => { if (m.type() === "error") console.log(`  [${name} console] ${m.text()}`); });
  await page.goto(`${origin}/${query}`);
  await page.waitForFunction(() => document.querySelector("[data-testid=status]")?.textContent.startsWith("Ready"), null, { timeout: 300_000 });
  const backend = await page.textContent("[data-testid=backend]");
  check(backend.includes(expectBackend), `${name}: backend label "${backend}" says ${expectBackend}`);

  const waitResult = async (what, timeout = 600_000) => {
    const t0 = Date.now();
    await page.waitForFunction(() => !document.querySelector("[data-testid=run]").disabled && document.querySelector("[data-testid=result]"), null, { timeout });
    const text = await page.textContent("[data-testid=result]");
    const timings = await page.textContent("[data-testid=timings]");
    console.log(`  ${name} ${what}: ${text} | ${timings} | ${((Date.now() - t0) / 1000).toFixed(1)} s wall`);
    return text;
  };
  const downloadMask = async (file) => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=download-mask]")]);
    await dl.saveAs(file);
    return file;
  };

  // 1. The built-in example, or the files standing in for it.
  if (example.files) {
    await page.setInputFiles("[data-testid=flair-input]", example.files[0]);
    await page.setInputFiles("[data-testid=t1-input]", example.files[1]);
    await page.waitForFunction(() => document.querySelector("[data-testid=t1-name]")?.textContent.includes("t1"));
    await page.click("[data-testid=run]");
  } else {
    await page.click("[data-testid=example]");
  }
  const text = await waitResult(example.label);
  check(/\d+ lesions, [\d.]+ mL/.test(text), `${name}: example shows lesion count and volume`);
  // The viewer: drawn by wgpu on the expected API, with the overlay and contour on
  // screen, and redrawn when a uniform changes.
  await page.waitForFunction(() => /Drawn with|unavailable/.test(document.querySelector("[data-testid=viewer-api]")?.textContent), null, { timeout: 60_000 });
  const api = await page.textContent("[data-testid=viewer-api]");
  check(api.includes(`Drawn with ${expectViewer}`), `${name}: viewer says "${api}"`);
  const px = await viewerPixels(page);
  console.log(`  ${name} viewer pixels: ${JSON.stringify(px)}`);
  check(px.red > 20 && px.yellow > 20 && px.grey > 2000, `${name}: viewer shows image, WMH overlay and WM contour`);
  // The layout fits the window and follows it: screenshots at two sizes, no sideways
  // scrolling, and the views grow with the window.
  const canvasWidth = () => page.$eval("[data-testid=viewer-canvas]", (c) => c.getBoundingClientRect().width);
  const sideways = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const narrow = await canvasWidth();
  check(await sideways() <= 0, `${name}: at 1280x720 the page needs no sideways scrolling`);
  await page.screenshot({ path: path.join(shots, `${name}-example-1280x720.png`) });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.waitForFunction((w) => document.querySelector("[data-testid=viewer-canvas]").getBoundingClientRect().width > w, narrow, { timeout: 10_000 }).catch(() => {});
  const wide = await canvasWidth();
  check(wide > narrow && await sideways() <= 0, `${name}: at 1920x1080 the views grow (${narrow} -> ${wide} px wide) and fit`);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(shots, `${name}-example-1920x1080.png`) });
  await page.setViewportSize({ width: 1280, height: 720 });
  // Zoom, and window/level by dragging with the right button (the NiiVue convention).
  const whole = await viewerPixels(page);
  await page.click("[data-testid=zoom-in]");
  check((await page.textContent("[data-testid=zoom]")) === "1.5×", `${name}: the zoom button magnifies 1.5 times`);
  await page.waitForTimeout(300);
  const zoomed = await viewerPixels(page);
  check(zoomed.grey !== whole.grey, `${name}: zooming redraws the views (${whole.grey} -> ${zoomed.grey} grey pixels)`);
  const box = await page.locator("[data-testid=viewer-canvas]").boundingBox();
  const levelBefore = await page.inputValue("[data-testid=level]");
  const windowBefore = await page.inputValue("[data-testid=window]");
  await page.mouse.move(box.x + 100, box.y + 100);
  await page.mouse.down({ button: "right" });
  await page.mouse.move(box.x + 160, box.y + 60, { steps: 4 });
  await page.mouse.up({ button: "right" });
  const levelAfter = await page.inputValue("[data-testid=level]");
  const windowAfter = await page.inputValue("[data-testid=window]");
  check(Number(windowAfter) > Number(windowBefore) && Number(levelAfter) > Number(levelBefore), `${name}: a right drag right and up widens the window and raises the level (${windowBefore} -> ${windowAfter}, ${levelBefore} -> ${levelAfter})`);
  await page.click("[data-testid=view-reset]");
  check((await page.textContent("[data-testid=zoom]")) === "1.0×" && (await page.inputValue("[data-testid=level]")) === levelBefore, `${name}: reset view restores zoom and window`);
  await page.waitForTimeout(300);
  await setControl(page, "opacity", 0);
  await setControl(page, "contour", false);
  const bare = await viewerPixels(page);
  check(bare.red === 0 && bare.yellow === 0 && bare.grey > 2000, `${name}: overlay and contour off leave the bare image (${JSON.stringify(bare)})`);
  await setControl(page, "opacity", 0.6);
  await setControl(page, "contour", true);
  const before = await page.textContent("[data-testid=view-axial] figcaption");
  await page.locator("[data-testid=viewer-canvas]").focus();
  await page.keyboard.press("ArrowUp");
  const after = await page.textContent("[data-testid=view-axial] figcaption");
  check(before !== after, `${name}: arrow key moves the axial slice ("${before}" -> "${after}")`);
  // The burden by region equals the CLI's --json; the report holds the totals and the
  // regions; clicking a lesion's row centres the viewer on its slice.
  const zones = await shownBurden(page);
  if (example.json) {
    const want = cliBurden(example.json);
    check(JSON.stringify(zones) === JSON.stringify(want), `${name}: burden by region equals the CLI's (${JSON.stringify(zones)} against ${JSON.stringify(want)})`);
  }
  const [reportDl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=report]")]);
  const reportPath = path.join(profile, "report.html");
  await reportDl.saveAs(reportPath);
  const report = fs.readFileSync(reportPath, "utf8");
  const total = /(\d+) lesions, ([\d.]+) mL/.exec(text);
  check(report.includes(`<p data-total>${total[1]} lesions, ${total[2]} mL</p>`) && report.includes(`<tr><td>deep</td><td>${zones.deep}</td></tr>`) && /src="data:image\/png;base64,/.test(report),
    `${name}: the report (${reportDl.suggestedFilename()}, ${report.length} bytes) holds the totals, the regions and snapshots`);
  const rows = await page.$$eval("[data-testid=lesion-table] tbody tr", (trs) => trs.map((tr) => tr.cells[2].textContent));
  const axial = () => page.textContent("[data-testid=view-axial] figcaption");
  const target = rows.findIndex((slice, i) => slice !== rows[0] && i > 0);
  if (target > 0) {
    const start = await axial();
    await page.click(`[data-testid=lesion-table] tbody tr:nth-child(${target + 1})`);
    const moved = await axial();
    check(moved !== start, `${name}: clicking lesion ${target + 1} (slice ${rows[target]}) moves the viewer ("${start}" -> "${moved}")`);
    await page.click("[data-testid=lesion-table] tbody tr:nth-child(1)");
  }
  await page.click("[data-testid=sort-slice]");
  const bySlice = await page.$$eval("[data-testid=lesion-table] tbody tr", (trs) => trs.map((tr) => Number(tr.cells[2].textContent)));
  check(bySlice.every((v, i) => i === 0 || bySlice[i - 1] <= v), `${name}: the lesion table sorts by slice (${bySlice.join(", ")})`);
  await page.click("[data-testid=sort-volume]");
  const exampleMask = await downloadMask(path.join(profile, "example-mask.nii.gz"));
  if (example.mask) {
    const d = dice(voxels(exampleMask), voxels(example.mask));
    check(d >= 0.999, `${name}: example mask equals the CLI's (Dice ${d.toFixed(5)})`);
  }

  // The threshold moves after the run: lesions, volume, viewer and download follow,
  // and the mask equals the CLI's at that threshold; reset restores the networks' own.
  const mL = (t) => Number(/([\d.]+) mL/.exec(t)[1]);
  const redBefore = (await viewerPixels(page)).red;
  await setControl(page, "threshold", 0.5);
  await page.waitForFunction(() => document.querySelector("[data-testid=result]")?.textContent.includes("at threshold 0.500"), null, { timeout: 60_000 });
  const low = await page.textContent("[data-testid=result]");
  console.log(`  ${name} example at 0.5: ${low}`);
  check(mL(low) > mL(text), `${name}: a lower threshold finds more WMH (${mL(text)} -> ${mL(low)} mL)`);
  await page.waitForTimeout(300);
  const redLow = (await viewerPixels(page)).red;
  check(redLow > redBefore, `${name}: the viewer redraws the mask at the new threshold (${redBefore} -> ${redLow} red pixels)`);
  const [lowDl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=download-mask]")]);
  check(lowDl.suggestedFilename().includes("_t0.500"), `${name}: the mask's file name says its threshold (${lowDl.suggestedFilename()})`);
  const lowMask = path.join(profile, "example-mask-low.nii.gz");
  await lowDl.saveAs(lowMask);
  if (example.maskLow) {
    const d = dice(voxels(lowMask), voxels(example.maskLow));
    check(d >= 0.999, `${name}: example mask at 0.5 equals the CLI's --threshold 0.5 (Dice ${d.toFixed(5)})`);
  }
  await page.click("[data-testid=threshold-reset]");
  await page.waitForFunction((t) => document.querySelector("[data-testid=result]")?.textContent === t, text, { timeout: 60_000 }).catch(() => {});
  const reset = await page.textContent("[data-testid=result]");
  check(reset === text, `${name}: reset restores the networks' threshold and result (${reset})`);

  // A minimum lesion size: the smaller lesions leave the count, volume, table and
  // mask, which equals the CLI's --min-lesion-mm3 600; 0 restores every lesion.
  const count = (t) => Number(/^(\d+) lesions/.exec(t)[1]);
  await setControl(page, "min-lesion", MIN_MM3);
  await page.waitForFunction((m) => document.querySelector("[data-testid=result]")?.textContent.includes(`lesions from ${m} mm³`), MIN_MM3, { timeout: 60_000 });
  const big = await page.textContent("[data-testid=result]");
  console.log(`  ${name} example from ${MIN_MM3} mm³: ${big}`);
  check(count(big) < count(text) && mL(big) <= mL(text), `${name}: a minimum lesion size drops the smaller lesions (${count(text)} -> ${count(big)} lesions)`);
  const sizes = await page.$$eval("[data-testid=lesion-table] tbody tr td:nth-child(2)", (tds) => tds.map((td) => Number(td.textContent)));
  check(sizes.length === count(big) && sizes.every((v) => v >= MIN_MM3 / 1000), `${name}: the lesion table lists only lesions from ${MIN_MM3} mm³ (${sizes.join(", ")} mL)`);
  const [bigDl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=download-mask]")]);
  check(bigDl.suggestedFilename().includes(`_min${MIN_MM3}mm3`), `${name}: the mask's file name says its minimum lesion size (${bigDl.suggestedFilename()})`);
  const bigMask = path.join(profile, "example-mask-min.nii.gz");
  await bigDl.saveAs(bigMask);
  if (example.maskMin) {
    const d = dice(voxels(bigMask), voxels(example.maskMin));
    check(d >= 0.999, `${name}: example mask from ${MIN_MM3} mm³ equals the CLI's --min-lesion-mm3 ${MIN_MM3} (Dice ${d.toFixed(5)})`);
  }
  await setControl(page, "min-lesion", 0);
  await page.waitForFunction((t) => document.querySelector("[data-testid=result]")?.textContent === t, text, { timeout: 60_000 }).catch(() => {});
  const every = await page.textContent("[data-testid=result]");
  check(every === text, `${name}: minimum size 0 restores every lesion (${every})`);

  // The WMH networks averaged over the slice's in-plane symmetries: the result says so,
  // and the mask equals the CLI's --symmetries and says so in its name. (Not on
  // SwiftShader's WebGPU, where it took 6 of CI's minutes; the native GPU test averages
  // over 8 symmetries on wgpu, and this path's plain run equals the CLI's.)
  if (symmetries !== "1") {
    await page.selectOption("[data-testid=symmetries]", symmetries);
    await page.click("[data-testid=example]");
    await page.waitForFunction((n) => document.querySelector("[data-testid=result]")?.textContent.includes(`averaged over ${n} symmetries`), symmetries, { timeout: 600_000 });
    const sym = await waitResult(`example, ${symmetries} symmetries`);
    check(/\d+ lesions, [\d.]+ mL/.test(sym), `${name}: the ${symmetries}-symmetry run shows lesion count and volume`);
    const [symDl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=download-mask]")]);
    check(symDl.suggestedFilename().includes(`_sym${symmetries}`), `${name}: the mask's file name says its symmetries (${symDl.suggestedFilename()})`);
    const symMask = path.join(profile, `example-mask-sym${symmetries}.nii.gz`);
    await symDl.saveAs(symMask);
    const cliSym = process.env[`WMH_CLI_EXAMPLE_MASK_SYM${symmetries}`];
    if (cliSym) {
      const d = dice(voxels(symMask), voxels(cliSym));
      check(d >= 0.999, `${name}: example mask over ${symmetries} symmetries equals the CLI's --symmetries ${symmetries} (Dice ${d.toFixed(5)})`);
    }
    await page.selectOption("[data-testid=symmetries]", "1");
  }

  // 2. A bad file: a readable error, and the app keeps working.
  const bad = path.join(profile, "not-a-scan.nii");
  fs.writeFileSync(bad, "this is not a NIfTI file");
  await page.setInputFiles("[data-testid=flair-input]", bad);
  await page.click("[data-testid=clear-t1]");
  await page.waitForFunction(() => document.querySelector("[data-testid=flair-name]")?.textContent.includes("not-a-scan"));
  await page.click("[data-testid=run]");
  await page.waitForSelector("[data-testid=error]", { timeout: 60_000 });
  const err = await page.textContent("[data-testid=error]");
  check(err.includes("not-a-scan.nii") && err.includes("not a NIfTI-1 file"), `${name}: bad file gives a readable error ("${err}")`);
  // Hostile files: each is refused with a message in [data-testid=error], and none
  // leaves the page dead (a wasm panic would stop every later run).
  const hostile = [
    // A sparse 1 GiB file: refused by its size before a byte is copied into the tab.
    ["huge.nii", (f) => { const fd = fs.openSync(f, "w"); fs.ftruncateSync(fd, 1 << 30); fs.closeSync(fd); }, "at most 512 MiB"],
    // A 348-byte header announcing 1024 x 1024 x 64 float32 voxels: past the browser's
    // voxel budget (a 32-bit usize must not wrap either).
    ["claims-64mi-voxels.nii", (f) => fs.writeFileSync(f, niftiHeader([1024, 1024, 64])), "too large"],
    ["claims-8gi-voxels.nii", (f) => fs.writeFileSync(f, niftiHeader([2048, 2048, 2048])), "too large"],
    // 1e-4 mm voxels: a tiny file whose morphology would need billions of offsets.
    ["tiny-voxels.nii", (f) => fs.writeFileSync(f, Buffer.concat([niftiHeader([8, 8, 8], 1e-4), Buffer.alloc(4 * 512 + 4)])), "unusable geometry"],
    ["truncated.nii.gz", (f) => fs.writeFileSync(f, zlib.gzipSync(Buffer.concat([niftiHeader([64, 64, 64]), Buffer.alloc(4 + 1000)]))), "truncated"],
  ];
  for (const [file, make, words] of hostile) {
    const f = path.join(profile, file);
    make(f);
    await page.setInputFiles("[data-testid=flair-input]", f);
    // A refused read leaves the previous FLAIR in place: the error says why.
    await page.waitForFunction((n) => document.querySelector("[data-testid=flair-name]")?.textContent.includes(n) || document.querySelector("[data-testid=error]")?.textContent.includes(n), file, { timeout: 60_000 });
    const refusedOnRead = await page.evaluate((n) => !!document.querySelector("[data-testid=error]")?.textContent.includes(n), file);
    if (!refusedOnRead) await page.click("[data-testid=run]");
    await page.waitForFunction((n) => document.querySelector("[data-testid=error]")?.textContent.includes(n), file, { timeout: 60_000 });
    const msg = await page.textContent("[data-testid=error]");
    check(msg.includes(words), `${name}: ${file} is refused with a message ("${msg}")`);
  }
  // Then a small valid scan: the app still segments.
  const small = path.join(profile, "small-valid.nii");
  const voxelsOf = (x, y, z) => (Math.hypot(x - 16, y - 16, z - 4) < 12 ? 100 + ((x * 7 + y * 3 + z) % 5) : 0);
  const data = Buffer.alloc(4 * 32 * 32 * 8 + 4);
  for (let z = 0, i = 0; z < 8; z++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++, i++) data.writeFloatLE(voxelsOf(x, y, z), 4 + 4 * i);
  fs.writeFileSync(small, Buffer.concat([niftiHeader([32, 32, 8], 2), data]));
  await page.setInputFiles("[data-testid=flair-input]", small);
  await page.waitForFunction(() => document.querySelector("[data-testid=flair-name]")?.textContent.includes("small-valid"));
  await page.click("[data-testid=run]");
  const afterHostile = await waitResult("a small valid scan after the hostile files");
  check(/\d+ lesions?, [\d.]+ mL/.test(afterHostile), `${name}: the app still segments after the hostile files`);

  // The example's FLAIR alone: the brain found in it filters the WMH, as in the CLI
  // (CPU path: on SwiftShader's WebGPU it adds over a minute, and the example already
  // holds that path's networks to the CLI's).
  if (withLongRuns && process.env.WMH_EXAMPLE_FLAIR && process.env.WMH_CLI_FLAIR_ONLY_MASK) {
    await page.setInputFiles("[data-testid=flair-input]", process.env.WMH_EXAMPLE_FLAIR);
    await page.waitForFunction(() => document.querySelector("[data-testid=flair-name]")?.textContent.includes("flair.nii"));
    await page.click("[data-testid=run]");
    const alone = await waitResult("the example's FLAIR alone");
    const cli = JSON.parse(fs.readFileSync(process.env.WMH_CLI_FLAIR_ONLY_JSON, "utf8"));
    const said = `brain filter on: brain ${cli.brain_ml.toFixed(0)} mL found in the FLAIR`;
    check(cli.filter === "brain" && alone.includes(said), `${name}: a FLAIR alone is filtered by its brain, as the CLI's --json says ("${said}")`);
    const d = dice(voxels(await downloadMask(path.join(profile, "flair-only-mask.nii.gz"))), voxels(process.env.WMH_CLI_FLAIR_ONLY_MASK));
    check(d >= 0.999, `${name}: the FLAIR-only mask equals the CLI's (Dice ${d.toFixed(5)})`);
  }

  // 3. A real case, through the file pickers.
  const realCase = process.env.WMH_REAL_CASE;
  if (!withLongRuns) {
    console.log(`  the real case runs on the CPU path only (on SwiftShader's WebGPU it takes about 10 minutes; WMH_E2E_REAL_ON_WEBGPU=1 runs it there too)`);
  } else if (realCase && fs.existsSync(realCase)) {
    await page.setInputFiles("[data-testid=flair-input]", path.join(realCase, "flair.nii.gz"));
    await page.setInputFiles("[data-testid=t1-input]", path.join(realCase, "t1.nii.gz"));
    await page.waitForFunction(() => document.querySelector("[data-testid=t1-name]")?.textContent.includes("t1"));
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.click("[data-testid=run]");
    const real = await waitResult("real case", 1_200_000);
    // A real case with many lesions fits the window: the lesion table scrolls inside
    // its panel instead of growing the page; the burden equals the CLI's.
    const lesionCount = count(real);
    const pageHeight = await page.evaluate(() => document.documentElement.scrollHeight);
    check(lesionCount > 50 && pageHeight <= 1.2 * 900, `${name}: real case with ${lesionCount} lesions: the page is ${pageHeight} px tall at 1400x900 (at most ${1.2 * 900})`);
    const scrolls = await page.$eval("[data-testid=lesion-scroll]", (d) => d.scrollHeight > d.clientHeight && getComputedStyle(d).overflowY === "auto");
    check(scrolls, `${name}: the lesion table scrolls inside its panel`);
    if (process.env.WMH_CLI_REAL_JSON) {
      const shown = await shownBurden(page);
      const want = cliBurden(process.env.WMH_CLI_REAL_JSON);
      check(JSON.stringify(shown) === JSON.stringify(want), `${name}: real case burden by region equals the CLI's (${JSON.stringify(shown)})`);
      // What the filter did (the brain the template bounded, the region it kept) is
      // on the page as the CLI reports it.
      const cli = JSON.parse(fs.readFileSync(process.env.WMH_CLI_REAL_JSON, "utf8"));
      const filter = `brain ${cli.brain_ml.toFixed(0)} mL, bounded by the brain template; white-matter region ${cli.region_ml.toFixed(0)} mL`;
      check(cli.brain_method === "template" && real.includes(filter), `${name}: the summary says what the filter did, as the CLI's --json ("${filter}")`);
    }
    await page.screenshot({ path: path.join(shots, `${name}-real-1400x900.png`) });
    for (const [width, height] of [[1280, 720], [1920, 1080]]) {
      await page.setViewportSize({ width, height });
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(shots, `${name}-real-${width}x${height}.png`) });
    }
    const realMask = await downloadMask(path.join(profile, "real-mask.nii.gz"));
    if (process.env.WMH_CLI_REAL_MASK) {
      const d = dice(voxels(realMask), voxels(process.env.WMH_CLI_REAL_MASK));
      check(d >= 0.999, `${name}: real-case mask equals the CLI's (Dice ${d.toFixed(5)})`);
    }
  } else {
    console.log(realCase
      ? `  skipping the real case: ${realCase} is absent`
      : "  skipping the real case: WMH_REAL_CASE is unset (no ../shared/data)");
  }
  check(foreign.length === 0, `${name}: no request left ${origin} (${foreign.length} did${foreign.length ? ": " + foreign.slice(0, 3).join(", ") : ""})`);
  await browser.close();
}

// The built-in example as the CLI segmented it (check.sh).
const builtIn = {
  files: null, label: "example",
  json: process.env.WMH_CLI_EXAMPLE_JSON, mask: process.env.WMH_CLI_EXAMPLE_MASK,
  maskLow: process.env.WMH_CLI_EXAMPLE_MASK_LOW, maskMin: process.env.WMH_CLI_EXAMPLE_MASK_MIN,
};

// The WebGPU path segments slices 6-11 of the example instead of all 20: SwiftShader's
// WebGPU took 123-216 s for the whole example in CI runs, both networks, on both cores;
// the slab is 6 of the 20 slices and still holds lesions on three slices and on either
// side of MIN_MM3. The CPU path runs the whole example (and the example's button).
// Without the CLI (WMH_BIN) or the example's files, the WebGPU path runs the example.
function slab() {
  const bin = process.env.WMH_BIN, flair = process.env.WMH_EXAMPLE_FLAIR;
  if (!bin || !flair) return builtIn;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wmh-slab-"));
  const files = ["flair", "t1"].map((n) => {
    const out = path.join(dir, `slab_${n}.nii.gz`);
    cropSlices(path.join(path.dirname(flair), `${n}.nii.gz`), out, 6, 12);
    return out;
  });
  const cli = (file, ...args) => {
    const out = path.join(dir, file);
    const json = execFileSync(bin, ["segment", "--flair", files[0], "--t1", files[1], "--output", out, "--json", ...args], { encoding: "utf8" });
    fs.writeFileSync(`${out}.json`, json);
    return out;
  };
  const mask = cli("mask.nii.gz");
  return {
    files, label: "example slab (slices 6-11)", json: `${mask}.json`, mask,
    maskLow: cli("mask-low.nii.gz", "--threshold", "0.5"),
    maskMin: cli("mask-min.nii.gz", "--min-lesion-mm3", String(MIN_MM3)),
  };
}

try {
  // The two paths run side by side, in two browsers: the CPU path's WebAssembly is one
  // thread, so together they take about as long as the slower one alone.
  await Promise.all([
    // No WebGPU: networks on the CPU, viewer on WebGL2 (SwiftShader's GL in headless).
    // Two symmetries (the mirror): the browser's plumbing of the option, at a quarter
    // of eight's cost; all eight are checked natively (tests/integration/backends.rs).
    scenario("cpu", CPU_PATH, "", "CPU", "WebGL2", "2", true, builtIn),
    // WebGPU on SwiftShader.
    scenario("webgpu", WEBGPU_PATH, "?backend=webgpu", "WebGPU", "WebGPU", "1", process.env.WMH_E2E_REAL_ON_WEBGPU === "1", slab()),
  ]);
} catch (e) {
  failures.push(String(e?.stack || e));
  console.log(e);
} finally {
  server.close();
}
if (failures.length) {
  console.log(`\n${failures.length} failure(s):\n- ${failures.join("\n- ")}`);
  process.exit(1);
}
console.log("\nall browser checks passed");
