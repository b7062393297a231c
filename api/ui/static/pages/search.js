// Search playground: one query through POST /v1/memories/search (with the rank each retriever gave each hit,
// the fused and final scores, the time range read from the query and each retriever's time), and the
// context block POST /v1/context builds from the same query within a token budget.
import { call, userQuery } from "/ui/api.js";
import { h, show, when, errorBox } from "/ui/dom.js";

// memory.retrieval.recipes.RECIPES (a test checks the two lists agree).
const RECIPES = ["hybrid", "hybrid_unscoped", "dense", "sparse", "graph", "temporal", "no_graph", "no_temporal", "dense_sparse"];
const RETRIEVERS = ["dense", "sparse", "graph", "temporal"];

const rfc3339 = (local) => (local ? new Date(local).toISOString() : undefined);
// memory.lifecycle.machine.MemoryState (a test checks); none chosen: the searchable ones (SEARCHABLE_BY_DEFAULT).
const STATES = ["extracted", "stored", "active", "consolidating", "archived", "recalled", "decaying", "forgotten"];

// The filters object of the request, or undefined when none is set. Metadata is typed as key=value pairs, one
// a line or comma-separated; a pair without "=" is refused on the page (the API would refuse it too).
function filtersOf(metadataText, states, after, before) {
  const metadata = {};
  for (const pair of metadataText.split(/[\n,]/).map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`metadata: “${pair}” is not key=value`);
    metadata[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  const filters = {};
  if (Object.keys(metadata).length) filters.metadata = metadata;
  if (states.length) filters.states = states;
  if (after) filters.occurred_after = rfc3339(after);
  if (before) filters.occurred_before = rfc3339(before);
  return Object.keys(filters).length ? filters : undefined;
}

function timeRange(found) {
  if (!found.time_range) return h("p", { class: "muted", id: "time-range", "data-expression": "" }, "No time range in the query.");
  const range = found.time_range;
  return h("p", { class: "muted", id: "time-range", "data-expression": range.expression, "data-start": range.start || "", "data-end": range.end || "" },
    `Time range read from the query: “${range.expression}” → ${when(range.start)} – ${range.end ? when(range.end) : "now"}`);
}

function timings(found) {
  const entries = Object.entries(found.timings_ms);
  if (!entries.length) return h("p", { class: "muted", id: "timings" }, "No retriever timings (a cached answer).");
  return h("table", { id: "timings", class: "compact" },
    h("thead", {}, h("tr", {}, h("th", {}, "Retriever"), h("th", {}, "Time"))),
    h("tbody", {}, entries.map(([r, ms]) => h("tr", { "data-retriever": r },
      h("td", { "data-label": "Retriever" }, r), h("td", { "data-label": "Time", "data-ms": ms }, `${ms.toFixed(1)} ms`)))));
}

export async function renderSearch(me) {
  const query = h("input", { id: "query", required: true, size: 40, placeholder: "what did I say about…" });
  const recipe = h("select", { id: "recipe" }, RECIPES.map((r) => h("option", { value: r }, r)));
  const topK = h("input", { id: "top-k", type: "number", value: 10, min: 1, max: 100 });
  const asOf = h("input", { id: "as-of", type: "datetime-local" });
  const knownAsOf = h("input", { id: "known-as-of", type: "datetime-local" });
  const reference = h("input", { id: "reference-time", type: "datetime-local" });
  const states = h("select", { id: "search-states", multiple: true, size: 3 }, STATES.map((s) => h("option", { value: s }, s)));
  const archived = h("input", { id: "include-archived", type: "checkbox" });
  const metadata = h("input", { id: "search-metadata", placeholder: "topic=travel, speaker=Maya" });
  const after = h("input", { id: "occurred-after", type: "datetime-local" });
  const before = h("input", { id: "occurred-before", type: "datetime-local" });
  const budget = h("input", { id: "budget", type: "number", value: 500, min: 16, max: 32000 });
  const output = h("div", { id: "search-output" }, h("p", { class: "empty" }, "Run a query to see what each retriever found and why."));

  async function run(event) {
    event.preventDefault();
    output.replaceChildren(h("p", { class: "muted" }, "Searching…"));
    let found, context;
    try {
      const filters = filtersOf(metadata.value, [...states.selectedOptions].map((o) => o.value), after.value, before.value);
      const common = { ...userQuery(me), query: query.value, recipe: recipe.value, filters,
        as_of: rfc3339(asOf.value), known_as_of: rfc3339(knownAsOf.value), reference_time: rfc3339(reference.value) };
      [found, context] = await Promise.all([
        call("POST", "/v1/memories/search", { body: { ...common, top_k: Number(topK.value), include_archived: archived.checked, use_cache: false } }),
        call("POST", "/v1/context", { body: { ...common, max_tokens: Number(budget.value) } })]);
    } catch (error) {
      return output.replaceChildren(errorBox(error));
    }
    const used = RETRIEVERS.filter((r) => found.results.some((hit) => r in hit.retrievers) || r in found.timings_ms);
    const summary = h("p", { class: "muted", id: "search-summary" },
      `${found.results.length} hits in ${found.took_ms.toFixed(1)} ms · recipe ${found.recipe}`);
    const hits = found.results.length
      ? h("table", { id: "hits" },
          h("thead", {}, h("tr", {}, ["#", "Memory", ...used.map((r) => `${r} rank`), "Fused", "Score"].map((t) => h("th", {}, t)))),
          h("tbody", {}, found.results.map((hit, i) => h("tr", { "data-memory-id": hit.id },
            h("td", { "data-label": "#" }, i + 1),
            h("td", { "data-label": "Memory" }, h("a", { href: `#/memory/${encodeURIComponent(hit.id)}` }, hit.memory),
              originalsOf(hit)),
            used.map((r) => h("td", { "data-label": `${r} rank`, "data-retriever": r }, hit.retrievers[r] ?? "—")),
            h("td", { "data-label": "Fused" }, hit.fused_score.toFixed(4)),
            h("td", { "data-label": "Score" }, hit.score.toFixed(4))))))
      : h("p", { class: "empty", id: "no-hits" }, "No memory matched this query.");
    const block = h("div", { class: "card" },
      h("p", { class: "muted", id: "context-summary" }, `${context.token_count} of ${context.max_tokens} tokens (${context.tokenizer}) · ${context.memory_ids.length} memories · ${context.omitted} left out`),
      h("pre", { class: "context", id: "context" }, context.context || "(empty: nothing matched)"));
    output.replaceChildren(summary, timeRange(found), hits, h("h2", {}, "Each retriever's time"), timings(found),
      h("h2", {}, "Context block"), block);
  }

  const form = h("form", { class: "filters", id: "search-form", onsubmit: run },
    h("label", {}, "Query", query), h("label", {}, "Recipe", recipe), h("label", {}, "Top k", topK),
    h("label", {}, "As of (valid time)", asOf), h("label", {}, "Known as of", knownAsOf),
    h("label", {}, "Reference time", reference),
    h("label", {}, "States (none: active, decaying)", states), h("label", { class: "check" }, archived, "archived too"),
    h("label", {}, "Metadata", metadata),
    h("label", {}, "Occurred after", after), h("label", {}, "Occurred before", before),
    h("label", {}, "Token budget", budget),
    h("button", { type: "submit", id: "run-search" }, "Search"));
  show(h("h1", {}, "Search playground"), form, output);
}

// A consolidation summary's hit lists the archived originals that made it rank (or its best one by words).
function originalsOf(hit) {
  if (!hit.originals || !hit.originals.length) return null;
  return h("ul", { class: "originals" }, hit.originals.map((o) => h("li", { "data-original-id": o.id },
    h("a", { href: `#/memory/${encodeURIComponent(o.id)}` }, o.memory),
    o.rank ? ` (ranked ${o.rank})` : " (best by words)")));
}
