#!/usr/bin/env node
// Regenerates src/generated/api.ts from the API's OpenAPI document with openapi-typescript.
//
//   npm run generate                          # MEMSTREAM_URL (default http://127.0.0.1:18080) + /schema/openapi.json
//   npm run generate -- http://host:port/schema/openapi.json
//   npm run generate -- ./openapi.json        # a saved document
//   npm run generate -- <source> --stdout     # print instead of writing (the test suite compares this output)
//
// The document is public (no credential). One generator, one set of options, used for writing and for the
// test suite's comparison, so a difference always means the API changed.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";

const OUTPUT = fileURLToPath(new URL("../src/generated/api.ts", import.meta.url));
const DEFAULT_BASE = process.env.MEMSTREAM_URL ?? "http://127.0.0.1:18080";

function parseArgs(argv) {
  const flags = new Set(argv.filter((arg) => arg.startsWith("--")));
  const unknown = [...flags].filter((flag) => flag !== "--stdout");
  if (unknown.length > 0) throw new Error(`unknown option(s): ${unknown.join(", ")}`);
  const positional = argv.filter((arg) => !arg.startsWith("--"));
  const source = positional[0] ?? `${DEFAULT_BASE.replace(/\/+$/, "")}/schema/openapi.json`;
  return { source, stdout: flags.has("--stdout") };
}

async function readDocument(source) {
  if (!/^https?:\/\//.test(source)) return JSON.parse(await readFile(source, "utf8"));
  const response = await fetch(source, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET ${source}: ${response.status} ${await response.text()}`);
  return response.json();
}

// defaultNonNullable off: a request field with a default (``infer``, ``top_k``...) stays optional to send,
// as the API treats it; the generator's default would make every such field required.
const OPTIONS = { defaultNonNullable: false };

export async function generate(source) {
  const document = await readDocument(source);
  return COMMENT_HEADER + astToString(await openapiTS(document, OPTIONS));
}

const { source, stdout } = parseArgs(process.argv.slice(2));
const text = await generate(source);
if (stdout) {
  process.stdout.write(text);
} else {
  await writeFile(OUTPUT, text);
  console.error(`wrote ${OUTPUT} from ${source}`);
}
