// Memories: a user's memories, newest first, paged by limit/offset. Every filter (state, superseded too, kind,
// pinned, valid-time range, text) is a query parameter of GET /v1/memories: the server filters, so the count
// and the pages are those of the filtered list.
import { call, userQuery } from "/ui/api.js";
import { h, show, when, errorBox } from "/ui/dom.js";

// memory.lifecycle.machine.MemoryState, in lifecycle order (a test checks the two lists agree). A superseded
// memory keeps its state and gets a valid_to: it shows here with its "valid to".
const STATES = ["extracted", "stored", "active", "consolidating", "archived", "recalled", "decaying", "forgotten"];
const PAGE = 20;

const rfc3339 = (local) => (local ? new Date(local).toISOString() : undefined);

export async function renderMemories(me) {
  const params = new URLSearchParams(window.location.search);
  const state = h("select", { id: "filter-state", multiple: true, size: 4 },
    STATES.map((s) => h("option", { value: s, selected: ["active", "decaying"].includes(s) }, s)));
  const text = h("input", { id: "filter-text", placeholder: "words in the text" });
  const kind = h("input", { id: "filter-kind", placeholder: "fact, summary…" });
  const pinned = h("select", { id: "filter-pinned" },
    h("option", { value: "" }, "either"), h("option", { value: "true" }, "pinned"), h("option", { value: "false" }, "not pinned"));
  const after = h("input", { id: "filter-after", type: "datetime-local" });
  const before = h("input", { id: "filter-before", type: "datetime-local" });
  const superseded = h("input", { id: "filter-superseded", type: "checkbox" });
  const results = h("div", { id: "results" });
  let offset = Number(params.get("offset") || 0);

  async function load() {
    const states = [...state.selectedOptions].map((o) => o.value);
    results.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    let page;
    try {
      page = await call("GET", "/v1/memories", { query: { ...userQuery(me), state: states, limit: PAGE, offset,
        kind: kind.value.trim(), q: text.value.trim(), pinned: pinned.value,
        occurred_after: rfc3339(after.value), occurred_before: rfc3339(before.value),
        include_superseded: superseded.checked ? "true" : undefined } });
    } catch (error) {
      return results.replaceChildren(errorBox(error));
    }
    const shown = page.results;
    const filtered = kind.value.trim() || text.value.trim() || pinned.value || after.value || before.value;
    const pager = h("div", { class: "pager" },
      h("button", { class: "secondary", id: "prev", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, "Previous"),
      h("span", { id: "page-info" }, page.total ? `${offset + 1}–${offset + page.results.length} of ${page.total}` : ""),
      h("button", { class: "secondary", id: "next", disabled: offset + PAGE >= page.total, onclick: () => { offset += PAGE; load(); } }, "Next"));
    if (!shown.length) {
      return results.replaceChildren(h("p", { class: "empty", id: "empty" },
        filtered ? "No memory matches these filters: widen them (more states, no kind, a longer time range)."
          : "No memories in these states yet: they appear here once the pipeline has extracted them from conversation turns."), pager);
    }
    const rows = shown.map((m) => h("tr", { "data-memory-id": m.id },
      h("td", { "data-label": "Memory" }, h("a", { href: `#/memory/${encodeURIComponent(m.id)}` }, m.memory)),
      h("td", { "data-label": "State" }, h("span", { class: "tag" }, m.state), m.valid_to ? h("span", { class: "tag" }, "superseded") : "",
        m.pinned ? h("span", { class: "tag pinned" }, "pinned") : ""),
      h("td", { "data-label": "Kind" }, m.kind),
      h("td", { "data-label": "Importance" }, m.importance.toFixed(2)),
      h("td", { "data-label": "Valid" }, `${when(m.valid_from)} – ${m.valid_to ? when(m.valid_to) : "now"}`)));
    results.replaceChildren(h("table", { id: "memories" },
      h("thead", {}, h("tr", {}, ["Memory", "State", "Kind", "Importance", "Valid"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)), pager);
  }

  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); offset = 0; load(); } },
    h("label", {}, "States", state),
    h("label", { class: "check" }, superseded, "superseded too"),
    h("label", {}, "Kind", kind), h("label", {}, "Pinned", pinned),
    h("label", {}, "Valid from (after)", after), h("label", {}, "Valid from (before)", before),
    h("label", {}, "Text", text),
    h("button", { type: "submit", id: "apply" }, "Filter"));
  show(h("h1", {}, "Memories"), form, results);
  await load();
}
