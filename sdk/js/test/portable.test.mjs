// The library runs in browsers as in Node: its built modules import nothing but each other (no Node built-in,
// no runtime dependency), and only env.js looks at `process`, guarded.
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { it } from "node:test";

const DIST = new URL("../dist/", import.meta.url);

it("imports only its own modules and reads process only where guarded", async () => {
  const files = (await readdir(DIST, { recursive: true })).filter((name) => name.endsWith(".js"));
  assert.ok(files.includes("index.js") && files.includes("client.js"), files.join(", "));
  for (const file of files) {
    const code = await readFile(new URL(file, DIST), "utf8");
    const specifiers = [...code.matchAll(/(?:^|\s)(?:import|export)\b[^'"]*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]);
    for (const specifier of specifiers) assert.match(specifier, /^\.\.?\//, `${file} imports ${specifier}`);
    if (file !== "env.js") assert.doesNotMatch(code, /\bprocess\b/, `${file} reads process`);
  }
});
