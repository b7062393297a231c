// Search playground: one query through POST /v1/memories/search (with the rank each retriever gave each hit,
// the fused and final scores, the time range read from the query and each retriever's time), and the
// context block POST /v1/context builds from the same query within a token budget.
import { call, userQuery } from "/ui/api.js";
import { h, show, when, errorBox } from "/ui/dom.js";

// memory.retrieval.recipes.RECIPES (a test checks the two lists agree).
const RECIPES = ["hybrid", "dense", "sparse", "graph", "temporal", "no_graph", "no_temporal", "dense_sparse"];
const RETRIEVERS = ["dense", "sparse", "graph", "temporal"];

const rfc3339 = (local) => (local ? new Date(local).toISOString() : undefined);

export async function renderSearch(me) {
  const query = h("input", { id: "query", required: true, size: 40, placeholder: "what did I say about…" });
  const recipe = h("select", { id: "recipe" }, RECIPES.map((r) => h("option", { value: r }, r)));
  const asOf = h("input", { id: "as-of", type: "datetime-local" });
  const reference = h("input", { id: "reference-time", type: "datetime-local" });
  const budget = h("input", { id: "budget", type: "number", value: 500, min: 16, max: 32000 });
  const output = h("div", { id: "search-output" }, h("p", { class: "empty" }, "Run a query to see what each retriever found and why."));

  async function run(event) {
    event.preventDefault();
    const common = { ...userQuery(me), query: query.value, recipe: recipe.value,
      as_of: rfc3339(asOf.value), reference_time: rfc3339(reference.value) };
    output.replaceChildren(h("p", { class: "muted" }, "Searching…"));
    let found, context;
    try {
      [found, context] = await Promise.all([
        call("POST", "/v1/memories/search", { body: { ...common, use_cache: false } }),
        call("POST", "/v1/context", { body: { ...common, max_tokens: Number(budget.value) } })]);
    } catch (error) {
      return output.replaceChildren(errorBox(error));
    }
    const used = RETRIEVERS.filter((r) => found.results.some((hit) => r in hit.retrievers) || r in found.timings_ms);
    const summary = h("p", { class: "muted", id: "search-summary" },
      `${found.results.length} hits in ${found.took_ms.toFixed(1)} ms · recipe ${found.recipe}`,
      found.time_range ? ` · time range “${found.time_range.expression}”: ${when(found.time_range.start)} – ${when(found.time_range.end)}` : " · no time range in the query",
      ` · ${Object.entries(found.timings_ms).map(([r, ms]) => `${r} ${ms.toFixed(1)} ms`).join(", ")}`);
    const hits = found.results.length
      ? h("table", { id: "hits" },
          h("thead", {}, h("tr", {}, ["#", "Memory", ...used.map((r) => `${r} rank`), "Fused", "Score"].map((t) => h("th", {}, t)))),
          h("tbody", {}, found.results.map((hit, i) => h("tr", { "data-memory-id": hit.id },
            h("td", { "data-label": "#" }, i + 1),
            h("td", { "data-label": "Memory" }, h("a", { href: `#/memory/${encodeURIComponent(hit.id)}` }, hit.memory)),
            used.map((r) => h("td", { "data-label": `${r} rank`, "data-retriever": r }, hit.retrievers[r] ?? "—")),
            h("td", { "data-label": "Fused" }, hit.fused_score.toFixed(4)),
            h("td", { "data-label": "Score" }, hit.score.toFixed(4))))))
      : h("p", { class: "empty", id: "no-hits" }, "No memory matched this query.");
    const block = h("div", { class: "card" },
      h("p", { class: "muted", id: "context-summary" }, `${context.token_count} of ${context.max_tokens} tokens (${context.tokenizer}) · ${context.memory_ids.length} memories · ${context.omitted} left out`),
      h("pre", { class: "context", id: "context" }, context.context || "(empty: nothing matched)"));
    output.replaceChildren(summary, hits, h("h2", {}, "Context block"), block);
  }

  const form = h("form", { class: "filters", id: "search-form", onsubmit: run },
    h("label", {}, "Query", query), h("label", {}, "Recipe", recipe), h("label", {}, "As of (valid time)", asOf),
    h("label", {}, "Reference time", reference), h("label", {}, "Token budget", budget),
    h("button", { type: "submit", id: "run-search" }, "Search"));
  show(h("h1", {}, "Search playground"), form, output);
}
